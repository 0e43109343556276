"""Meta listings: items_batch CREATE/UPDATE per variant grouped by retailer_product_group_id, per-item
errors from check_batch_request_status, unpublish to staging; requests checked against the codegen
specs, and the emulator refusing what Meta refuses, as the connector's listing rules foresee."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from instagram_fixtures import Recorder, connector
from omnisync_connectors.instagram import InstagramConnector
from omnisync_connectors.instagram.harness import InstagramHarness

from omnisync.catalogue.validate import validate_listing
from omnisync.sdk import ItemStatus, ListingRef
from omnisync.testing.conformance_listings import kit_listing

RULES = InstagramConnector.listing_rules
assert RULES is not None


def _spec(specs_dir: Path, name: str) -> Any:
    path = specs_dir / "meta-commerce" / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text())


def _enum(specs_dir: Path, name: str) -> set[str]:
    return {v for e in _spec(specs_dir, "enum_types.json") if e["name"] == name for v in e["values"]}


@pytest.fixture
def harness() -> InstagramHarness:
    return InstagramHarness()


async def test_listing_requests_follow_the_spec(specs_dir: Path, harness: InstagramHarness) -> None:
    recorder = Recorder(harness.transport())
    conn = connector(harness, recorder)
    listing = kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "Apparel")
    listing = replace(listing, attributes={"material": "cotton"})
    [made] = await conn.upsert_listings([listing])
    assert made.status is ItemStatus.ACCEPTED, made.issues
    variants = tuple(replace(v, ids=made.variant_ids[v.channel_sku]) for v in listing.variants)
    [again] = await conn.upsert_listings([replace(listing, title="Classic tee 2", variants=variants)])
    assert again.status is ItemStatus.ACCEPTED
    [off] = await conn.unpublish_listings([ListingRef("TEE", made.ids, ("TEE-S", "TEE-M"))])
    assert off.status is ItemStatus.ACCEPTED
    await conn.aclose()

    fields = {f["name"]: f["type"] for f in _spec(specs_dir, "ProductItem.json")["fields"]}
    conditions = _enum(specs_dir, "ProductItem_condition")
    visibility = _enum(specs_dir, "ProductItem_visibility")
    methods: list[str] = []
    for call in recorder.paths("/items_batch"):
        body = json.loads(call.content)
        assert body["item_type"] == "PRODUCT_ITEM"
        for request in body["requests"]:
            methods.append(request["method"])
            data = request["data"]
            assert set(data) <= set(fields), f"not ProductItem fields: {set(data) - set(fields)}"
            assert data["visibility"] in visibility
            if "condition" in data:
                assert data["condition"] in conditions
            if "additional_image_urls" in data:
                assert fields["additional_image_urls"] == "list<string>"
                assert isinstance(data["additional_image_urls"], list)
            if request["method"] == "CREATE":
                for required in (
                    "name",
                    "description",
                    "availability",
                    "condition",
                    "price",
                    "url",
                    "image_url",
                    "brand",
                ):
                    assert data.get(required), f"CREATE without {required}"
                assert data["retailer_product_group_id"] == "TEE"
    assert methods == ["CREATE", "CREATE", "UPDATE", "UPDATE", "UPDATE", "UPDATE"]
    shown = harness.listing("TEE")
    assert shown is not None
    assert (shown["title"], shown["published"], shown["variants"]) == (
        "Classic tee 2",
        False,
        ["TEE-M", "TEE-S"],
    )
    assert shown["content"]["material"] == "cotton"
    assert shown["content"]["size"] == "S"
    assert harness.emulator.item("TEE-S").inventory == 0, "a new item starts with nothing; stock follows"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "field", "meta_says"),
    [
        ({"brand": ""}, "brand", "The required field brand is missing."),
        ({"link": ""}, "link", "The required field url is missing."),
        ({"images": tuple(f"https://img.example/{i}.jpg" for i in range(25))}, "images", "at most 20"),
        ({"description": "<p>Soft</p>"}, "description", "HTML is not supported"),
        ({"title": "x" * 230}, "title", "name: at most 200 characters."),
    ],
    ids=["brand", "link", "images", "html", "title"],
)
async def test_the_emulator_refuses_what_meta_refuses_and_the_rules_foresee_it(
    harness: InstagramHarness, change: dict[str, Any], field: str, meta_says: str
) -> None:
    bad = replace(kit_listing("BAD", "Tee", ["BAD-S"], ""), **change)
    good = kit_listing("OK", "Tee", ["OK-S"], "")
    problems = validate_listing(bad, RULES)
    assert any(p.field == field for p in problems), problems
    conn = connector(harness)
    results = {r.key: r for r in await conn.upsert_listings([bad, good])}
    await conn.aclose()
    assert results["OK"].status is ItemStatus.ACCEPTED, "one bad listing never blocks another"
    assert results["BAD"].status is ItemStatus.REJECTED
    assert any(meta_says in issue for issue in results["BAD"].issues), results["BAD"].issues
    assert harness.listing("BAD") is None


async def test_what_meta_remarks_on_an_item_it_takes_is_the_listing_s_answer(
    harness: InstagramHarness,
) -> None:
    conn = connector(harness, harness.transport())
    harness.emulator.warn("TEE-M", "The image is smaller than 500 x 500 pixels.")
    [made] = await conn.upsert_listings([kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "Apparel")])
    assert made.status is ItemStatus.ACCEPTED
    assert made.issues == ("TEE-M: The image is smaller than 500 x 500 pixels.",)
    await conn.aclose()
