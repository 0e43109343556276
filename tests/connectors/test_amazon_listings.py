"""Amazon listings: a variation family put with putListingsItem, checked first against the product
type's JSON Schema (definition asked, schema downloaded once and cached by checksum); content edits
by patch; unpublish deletes the offer. The emulator refuses, on its own, what the schema refuses."""

from __future__ import annotations

from dataclasses import replace

from amazon_fixtures import make
from omnisync_connectors.amazon.listings import messages

from omnisync.sdk import ItemStatus, ListingRef
from omnisync.testing.conformance_listings import kit_listing


def usd(listing):  # type: ignore[no-untyped-def]
    return replace(listing, variants=tuple(replace(v, currency="USD") for v in listing.variants))


async def test_a_family_is_put_its_schema_checked_first_and_cached() -> None:
    connector, emulator = make()
    tee = usd(kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "PRODUCT"))
    [made] = await connector.upsert_listings([tee])
    assert made.status is ItemStatus.ACCEPTED, made.issues
    parent, child = emulator.listings["TEE"], emulator.listings["TEE-M"]
    assert parent.attributes["parentage_level"][0]["value"] == "parent"
    assert child.attributes["child_parent_sku_relationship"][0]["parent_sku"] == "TEE"
    assert child.attributes["size"][0]["value"] == "M"
    assert (child.quantity, child.price) == (0, tee.variants[1].price), "0 units: the stock push takes over"
    assert set(made.variant_ids) == {"TEE-S", "TEE-M"}, "children only: the parent holds no stock"

    variants = tuple(replace(v, ids=made.variant_ids[v.channel_sku]) for v in tee.variants)
    emulator.listings["TEE-M"].quantity = 6
    [again] = await connector.upsert_listings(
        [replace(tee, title="Classic tee 2", ids=made.ids, variants=variants)]
    )
    assert again.status is ItemStatus.ACCEPTED, again.issues
    assert emulator.listings["TEE"].item_name == "Classic tee 2"
    assert emulator.listings["TEE-M"].quantity == 6, "a content edit never touches the quantity"
    assert emulator.calls["getDefinitionsProductType"] == 1, "the definition is cached for an hour"
    schema_downloads = [r for r in emulator.requests if "/ProductTypeSchemas/" in r.url]
    assert len(schema_downloads) <= 1, "the schema is downloaded once while its checksum holds"

    [off] = await connector.unpublish_listings([ListingRef("TEE", made.ids, ("TEE-S", "TEE-M"))])
    assert off.status is ItemStatus.ACCEPTED
    assert emulator.listings["TEE-M"].price is None, "no offer: not buyable"
    assert "TEE-M" in emulator.listings, "never deleted"


async def test_what_the_schema_refuses_is_refused_before_any_put_and_by_amazon_too() -> None:
    connector, emulator = make()
    shirt = usd(kit_listing("SHIRT1", "Shirt", ["SH-S"], "SHIRT"))  # SHIRT children need a colour
    no_brand = usd(replace(kit_listing("NOBRAND", "Mug", ["NB-1"], "PRODUCT"), brand=""))
    results = {r.key: r for r in await connector.upsert_listings([shirt, no_brand])}
    assert results["SHIRT1"].status is ItemStatus.REJECTED
    assert any("'color' is required but not supplied." in i for i in results["SHIRT1"].issues), results[
        "SHIRT1"
    ].issues
    assert any("brand" in i for i in results["NOBRAND"].issues)
    assert emulator.calls["putListingsItem"] == 0, "checked locally, never sent"

    # sent anyway, Amazon answers INVALID with the same reasons
    for m in messages(shirt, connector.settings):
        answer = await connector.api.put_listings_item(m.sku, "SHIRT", m.attributes)
        if m.sku == "SH-S":
            assert answer["status"] == "INVALID"
            assert any("color" in i["message"] for i in answer["issues"])
    assert "SH-S" not in emulator.listings


async def test_issues_amazon_raises_after_accepting_are_read_back_per_listing() -> None:
    connector, emulator = make()
    tee = usd(kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "PRODUCT"))
    [made] = await connector.upsert_listings([tee])
    ref = ListingRef("TEE", made.ids, ("TEE-S", "TEE-M"))
    assert await connector.read_listing_issues([ref]) == {"TEE": ()}
    emulator.flag_issue(
        "TEE-S", "The image does not meet the requirements.", attribute="main_product_image_locator"
    )
    emulator.flag_issue("TEE-M", "Add a bullet point.", code="99300", severity="WARNING")
    assert await connector.read_listing_issues([ref]) == {
        "TEE": (
            "TEE-S: 18027: The image does not meet the requirements.",
            "TEE-M: WARNING 99300: Add a bullet point.",
        )
    }
    gone = ListingRef("GONE", {}, ("NOPE-1",))
    assert (await connector.read_listing_issues([gone]))["GONE"] == (
        "NOPE-1: not found in marketplace ATVPDKIKX0DER",
    )
    await connector.aclose()
