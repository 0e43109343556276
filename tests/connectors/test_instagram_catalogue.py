"""Reading the Meta catalog back as catalogue products (``catalog import --from instagram``): the items
grouped by retailer_product_group_id, variant fields and additional_variant_attributes as options,
gtin as barcode, a product whose items are all in staging as discontinued; every field read is a
ProductItem field of the Graph API spec."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from instagram_fixtures import Recorder, connector
from omnisync_connectors.instagram.catalogue import CATALOGUE_FIELDS, extra_options
from omnisync_connectors.instagram.harness import InstagramHarness

from omnisync.catalogue.adopt import adopt
from omnisync.sdk import Capability, ItemStatus, ListingRef
from omnisync.testing.conformance_listings import kit_listing


async def test_the_catalog_reads_back_as_products_that_import() -> None:
    harness = InstagramHarness()
    conn = connector(harness)
    assert conn.supports(Capability.READ_CATALOGUE)
    tee = kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M", "TEE-L"], "Apparel")
    tee = replace(
        tee,
        images=("https://img.example/tee-1.jpg", "https://img.example/tee-2.jpg"),
        options=("Size", "Fit"),
        variants=tuple(
            replace(v, options={**v.options, "Fit": "Slim"}, currency="USD") for v in tee.variants
        ),
    )
    mug = kit_listing("MUG", "Mug", ["MUG-1"], "Kitchen")
    made = await conn.upsert_listings([tee, mug])
    assert [r.status for r in made] == [ItemStatus.ACCEPTED] * 2, made[0].issues
    [off] = await conn.unpublish_listings([ListingRef("MUG", made[1].ids, ("MUG-1",))])
    assert off.status is ItemStatus.ACCEPTED

    page = await conn.read_catalogue(None)
    assert page.next_cursor is None, "read in one go: a product's items never split over two pages"
    products = {p.key: p for p in page.products}
    assert set(products) == {"TEE", "MUG"}
    shown = products["TEE"]
    assert (shown.title, shown.brand, shown.category, shown.status) == (
        "Classic tee",
        "Kit",
        "Apparel",
        "active",
    )
    assert shown.images == ("https://img.example/tee-1.jpg", "https://img.example/tee-2.jpg")
    assert shown.options == ("Size", "Fit")
    assert [(v.channel_sku, dict(v.options), v.price) for v in shown.variants] == [
        ("TEE-S", {"Size": "S", "Fit": "Slim"}, Decimal("19.90")),
        ("TEE-M", {"Size": "M", "Fit": "Slim"}, Decimal("19.90")),
        ("TEE-L", {"Size": "L", "Fit": "Slim"}, Decimal("19.90")),
    ]
    assert [v.barcode for v in shown.variants] == [v.barcode for v in tee.variants]
    assert shown.variants[0].ids["retailer_id"] == "TEE-S"
    assert products["MUG"].status == "discontinued", "every item in staging"

    found = adopt(page.products, [], {}, str, overwrite=False, currency="USD")
    assert sorted(found.created) == ["MUG", "TEE"]
    assert sorted(found.new_skus) == ["MUG-1", "TEE-L", "TEE-M", "TEE-S"]
    assert found.variant_ids["TEE-M"]["retailer_id"] == "TEE-M", "linked as it is adopted"
    await conn.aclose()


async def test_a_catalog_of_many_pages_is_read_whole() -> None:
    harness = InstagramHarness()
    recorder = Recorder(harness.transport())
    conn = connector(harness, recorder)
    listings = [kit_listing(f"P{n:03d}", f"Tee {n}", [f"P{n:03d}-S", f"P{n:03d}-M"], "") for n in range(60)]
    assert all(r.status is ItemStatus.ACCEPTED for r in await conn.upsert_listings(listings))
    page = await conn.read_catalogue(None)
    assert len(page.products) == 60
    assert all(len(p.variants) == 2 for p in page.products)
    assert len(recorder.paths("/products")) == 2, "120 items, 100 a page"
    await conn.aclose()


def test_additional_variant_attributes_read_in_either_shape() -> None:
    assert extra_options({"Fit": "Slim"}) == {"Fit": "Slim"}
    assert extra_options([{"key": "Fit", "value": "Slim"}, {"Cut": "Long"}]) == {"Fit": "Slim", "Cut": "Long"}
    assert extra_options(None) == {}


def test_every_field_read_is_a_product_item_field(specs_dir: Path) -> None:
    path = specs_dir / "meta-commerce" / "ProductItem.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    published = {f["name"] for f in json.loads(path.read_text())["fields"]}
    assert set(CATALOGUE_FIELDS) <= published, set(CATALOGUE_FIELDS) - published
