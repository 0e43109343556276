"""Shopify listings: productSet (options, variants, media by URL) found by handle until its id is
known, publishablePublish on the Online Store publication, unpublish to DRAFT; the emulator refusing
what Shopify refuses, as the connector's listing rules foresee."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from omnisync_connectors.shopify import ShopifyConnector
from shopify_fixtures import make

from omnisync.catalogue.validate import validate_listing
from omnisync.sdk import InventoryUpdate, ItemStatus, ListingRef, ListingVariant
from omnisync.testing.conformance_listings import kit_listing

RULES = ShopifyConnector.listing_rules
assert RULES is not None


async def test_a_product_is_created_with_options_media_and_published_and_stock_follows() -> None:
    emulator, conn = make()
    await conn.prepare()
    listing = replace(
        kit_listing("Classic Tee", "Classic tee", ["TEE-S", "TEE-M"], "Shirts"),
        description="<p>Soft <b>cotton</b></p>",
        images=("https://img.example/1.jpg", "https://img.example/2.jpg"),
    )
    [made] = await conn.upsert_listings([listing])
    assert made.status is ItemStatus.ACCEPTED, made.issues
    shown = emulator.listing("classic-tee")
    assert shown is not None
    assert (shown["title"], shown["status"], shown["published"]) == ("Classic tee", "ACTIVE", True)
    assert shown["variants"] == ["TEE-S", "TEE-M"]
    assert shown["options"] == [{"name": "Size", "values": ["S", "M"]}]
    assert shown["media"] == ["https://img.example/1.jpg", "https://img.example/2.jpg"]
    assert shown["descriptionHtml"] == "<p>Soft <b>cotton</b></p>", "Shopify takes HTML"
    assert set(made.variant_ids) == {"TEE-S", "TEE-M"}
    assert made.ids == {"product_id": shown["id"]}

    ids = made.variant_ids["TEE-M"]
    update = InventoryUpdate("TEE-M", "TEE-M", 7, 0, 1, "k-tee-m", ids, None)
    [pushed] = await conn.push_inventory([update])
    assert pushed.status is ItemStatus.ACCEPTED
    assert emulator.quantity("TEE-M") == 7, "a created variant takes stock like any other"
    await conn.aclose()


async def test_updates_keep_the_product_and_a_lost_create_is_not_duplicated() -> None:
    emulator, conn = make()
    listing = kit_listing("MUG", "Mug", ["MUG-1"], "")
    listing = replace(listing, options=(), variants=(replace(listing.variants[0], options={}),))
    [first] = await conn.upsert_listings([listing])
    [again] = await conn.upsert_listings([listing])  # the answer was lost: ids unknown, same handle
    assert first.status is again.status is ItemStatus.ACCEPTED
    assert first.ids == again.ids
    assert len(emulator.state.products) == 1
    shown = emulator.listing("mug")
    assert shown is not None
    assert shown["options"] == [{"name": "Title", "values": ["Default Title"]}]

    # productSet replaced the variant given without an id: the answer's ids are the ones to keep
    variants = tuple(replace(v, ids=again.variant_ids[v.channel_sku]) for v in listing.variants)
    renamed = replace(listing, title="Big mug", ids=first.ids, variants=variants)
    [updated] = await conn.upsert_listings([renamed])
    assert updated.variant_ids == again.variant_ids, "the same variants, updated in place"
    assert emulator.listing("mug")["title"] == "Big mug"  # type: ignore[index]

    [off] = await conn.unpublish_listings([ListingRef("MUG", first.ids, ("MUG-1",))])
    assert off.status is ItemStatus.ACCEPTED
    gone = emulator.listing("mug")
    assert gone is not None, "unpublished, never deleted"
    assert (gone["status"], gone["published"]) == ("DRAFT", False)
    await conn.aclose()


async def test_what_shopify_refuses_the_rules_foresee() -> None:
    emulator, conn = make()
    base = kit_listing("WIDE", "Wide", ["W-1"], "")
    four = replace(
        base,
        options=("A", "B", "C", "D"),
        variants=(
            ListingVariant(
                "W-1", "W-1", "w", {"A": "1", "B": "1", "C": "1", "D": "1"}, None, Decimal("1"), "USD"
            ),
        ),
    )
    untitled = replace(kit_listing("NOTITLE", "", ["N-1"], ""))
    assert any(p.field == "options" for p in validate_listing(four, RULES))
    assert any(p.field == "title" for p in validate_listing(untitled, RULES))
    results = {
        r.key: r for r in await conn.upsert_listings([four, untitled, kit_listing("OK", "Ok", ["OK-1"], "")])
    }
    assert results["OK"].status is ItemStatus.ACCEPTED
    assert results["WIDE"].status is ItemStatus.REJECTED
    assert any("maximum of 3 options" in i for i in results["WIDE"].issues)
    assert results["NOTITLE"].status is ItemStatus.REJECTED
    assert any("Title can't be blank" in i for i in results["NOTITLE"].issues)
    assert emulator.listing("wide") is None
    await conn.aclose()
