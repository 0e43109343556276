"""Reading the seller's Amazon listings back as catalogue products (``catalog import --from amazon``):
a variation family is one product keyed by its parent SKU, its children the variants with their theme
attributes as options, the barcode and price from their attributes; a listing alone is its own product;
one whose offers were deleted (unpublished) reads as discontinued; every page is read."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from amazon_fixtures import make
from omnisync_connectors.amazon.catalogue import channel_products

from omnisync.catalogue.adopt import adopt
from omnisync.sdk import Capability, ItemStatus, ListingRef
from omnisync.testing.conformance_listings import kit_listing


def usd(listing):  # type: ignore[no-untyped-def]
    return replace(listing, variants=tuple(replace(v, currency="USD") for v in listing.variants))


async def test_families_and_single_listings_read_back_as_products_that_import() -> None:
    connector, _ = make()
    assert connector.supports(Capability.READ_CATALOGUE)
    tee = usd(kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "PRODUCT"))
    tee = replace(tee, images=("https://img.example/tee-1.jpg", "https://img.example/tee-2.jpg"))
    mug = usd(replace(kit_listing("MUG", "Mug", ["MUG"], "PRODUCT"), options=()))
    mug = replace(mug, variants=tuple(replace(v, options={}) for v in mug.variants))
    cap = usd(kit_listing("CAP", "Cap", ["CAP-S"], "PRODUCT"))
    made = await connector.upsert_listings([tee, mug, cap])
    assert [r.status for r in made] == [ItemStatus.ACCEPTED] * 3, [r.issues for r in made]
    [off] = await connector.unpublish_listings([ListingRef("CAP", made[2].ids, ("CAP-S",))])
    assert off.status is ItemStatus.ACCEPTED

    page = await connector.read_catalogue(None)
    assert page.next_cursor is None
    products = {p.key: p for p in page.products}
    assert set(products) == {"TEE", "MUG", "CAP"}
    shown = products["TEE"]
    assert (shown.title, shown.brand, shown.category, shown.status) == (
        "Classic tee",
        "Kit",
        "PRODUCT",
        "active",
    )
    assert shown.description == tee.description
    assert shown.images == tee.images
    assert shown.options == ("Size",)
    assert sorted((v.channel_sku, dict(v.options), v.barcode, v.price) for v in shown.variants) == [
        (v.channel_sku, {"Size": v.options["Size"]}, v.barcode, Decimal("19.90"))
        for v in sorted(tee.variants, key=lambda v: v.channel_sku)
    ], "read in the order Amazon lists them (by SKU)"
    assert {v.channel_sku: v.ids for v in shown.variants} == made[0].variant_ids, "the ids a write answers"
    assert [v.channel_sku for v in products["MUG"].variants] == ["MUG"]
    assert products["MUG"].options == ()
    assert products["CAP"].status == "discontinued", "its offer deleted"

    found = adopt(page.products, [], {}, str, overwrite=False, currency="USD")
    assert sorted(found.created) == ["CAP", "MUG", "TEE"]
    assert sorted(found.new_skus) == ["CAP-S", "MUG", "TEE-M", "TEE-S"]
    await connector.aclose()


async def test_every_page_is_read_and_a_family_split_over_pages_is_one_product() -> None:
    connector, emulator = make()
    listings = [
        usd(kit_listing(f"P{n:02d}", f"Tee {n}", [f"P{n:02d}-S", f"P{n:02d}-M"], "PRODUCT")) for n in range(9)
    ]
    assert all(r.status is ItemStatus.ACCEPTED for r in await connector.upsert_listings(listings))
    assert len(emulator.listings) == 27, "9 parents, 18 children: two pages of 20"
    page = await connector.read_catalogue(None)
    assert [p.key for p in page.products] == [f"P{n:02d}" for n in range(9)]
    assert all(len(p.variants) == 2 for p in page.products)
    assert emulator.calls["searchListingsItems"] == 2
    await connector.aclose()


def test_children_read_before_their_parent_join_its_family() -> None:
    child = {
        "sku": "TEE-S",
        "summaries": [{"productType": "SHIRT"}],
        "attributes": {
            "child_parent_sku_relationship": [{"parent_sku": "TEE"}],
            "size": [{"value": "S"}],
            "item_name": [{"value": "Tee - S"}],
        },
    }
    parent = {
        "sku": "TEE",
        "summaries": [{"productType": "SHIRT"}],
        "attributes": {
            "parentage_level": [{"value": "parent"}],
            "variation_theme": [{"name": "SIZE"}],
            "item_name": [{"value": "Tee"}],
        },
    }
    [product] = channel_products([child, parent], "ATVPDKIKX0DER")
    assert (product.key, product.title, product.category, product.options) == (
        "TEE",
        "Tee",
        "SHIRT",
        ("Size",),
    )
    assert [dict(v.options) for v in product.variants] == [{"Size": "S"}]
    assert product.status == "discontinued", "no offer"
