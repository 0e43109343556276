"""Square listings: an ITEM with its variations by BatchUpsertCatalogObjects, archived to unpublish;
the emulator refusing what Square refuses (its spec's limits), as the connector's rules foresee."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from decimal import Decimal

from omnisync_connectors.square import SquareConnector
from omnisync_connectors.square.harness import SquareHarness
from square_fixtures import JPEG, PNG, ImageServer, rig

from omnisync.catalogue.validate import validate_listing
from omnisync.sdk import InventoryUpdate, ItemStatus, ListingContent, ListingRef, ListingResult
from omnisync.sdk.runtime import instantiate
from omnisync.testing.conformance_listings import kit_listing

RULES = SquareConnector.listing_rules
assert RULES is not None


def connector(h: SquareHarness) -> SquareConnector:
    conn = instantiate(SquareConnector, h.settings(), channel="pos", clock=h.clock, transport=h.transport())
    assert isinstance(conn, SquareConnector)
    return conn


async def test_an_item_with_variations_is_created_updated_archived_and_takes_stock() -> None:
    h = SquareHarness()
    conn = connector(h)
    await conn.prepare()
    tee = kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "")
    [made] = await conn.upsert_listings([tee])
    assert made.status is ItemStatus.ACCEPTED, made.issues
    shown = h.listing("TEE")
    assert shown is not None
    assert (shown["title"], shown["published"], shown["variants"]) == (
        "Classic tee",
        True,
        ["TEE-S", "TEE-M"],
    )
    assert shown["variation_names"] == ["S", "M"]
    ids = made.variant_ids["TEE-M"]
    [pushed] = await conn.push_inventory([InventoryUpdate("TEE-M", "TEE-M", 4, 0, 1, "k-1", ids, None)])
    assert pushed.status is ItemStatus.ACCEPTED
    assert h.emulator.quantity("TEE-M") == 4

    variants = tuple(replace(v, ids=made.variant_ids[v.channel_sku]) for v in tee.variants[:1])
    [again] = await conn.upsert_listings([replace(tee, title="Tee", ids=made.ids, variants=variants)])
    assert again.status is ItemStatus.ACCEPTED, again.issues
    assert again.ids == made.ids
    assert h.listing("TEE")["variants"] == ["TEE-S"], "a variation left out is deleted"  # type: ignore[index]
    [off] = await conn.unpublish_listings([ListingRef("TEE", made.ids, ("TEE-S",))])
    assert off.status is ItemStatus.ACCEPTED
    gone = h.listing("TEE")
    assert gone is not None
    assert gone["published"] is False, "archived, never deleted"
    await conn.aclose()


async def test_what_square_refuses_the_rules_foresee() -> None:
    h = SquareHarness()
    conn = connector(h)
    long = kit_listing("LONG", "x" * 600, ["L-1"], "")
    blank = kit_listing("BLANK", " ", ["B-1"], "")
    assert any(p.field == "title" for p in validate_listing(long, RULES))
    assert any(p.field == "title" for p in validate_listing(blank, RULES))
    results = {
        r.key: r for r in await conn.upsert_listings([long, blank, kit_listing("OK", "Ok", ["OK-1"], "")])
    }
    assert results["OK"].status is ItemStatus.ACCEPTED
    assert results["LONG"].status is ItemStatus.REJECTED
    assert "longer than 512" in results["LONG"].issues[0]
    assert results["BLANK"].status is ItemStatus.REJECTED
    assert "name is required" in results["BLANK"].issues[0]
    await conn.aclose()


async def test_options_are_an_option_set_shared_across_items() -> None:
    h = SquareHarness()
    conn = connector(h)
    await conn.prepare()
    [tee] = await conn.upsert_listings([kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "")])
    [hoodie] = await conn.upsert_listings([kit_listing("HOOD", "Hoodie", ["H-S", "H-M", "H-L"], "")])
    assert tee.status is hoodie.status is ItemStatus.ACCEPTED, (tee.issues, hoodie.issues)
    emu = h.emulator
    [size] = emu.item_options.values()
    values = {v["item_option_value_data"]["name"]: v["id"] for v in size["item_option_data"]["values"]}
    assert list(values) == ["S", "M", "L"], "one Size option; the hoodie added its L"
    item = emu.items[hoodie.ids["item_id"]]
    assert item["item_data"]["item_options"] == [{"item_option_id": size["id"]}]
    chosen = [v["item_variation_data"]["item_option_values"] for v in item["item_data"]["variations"]]
    assert chosen == [
        [{"item_option_id": size["id"], "item_option_value_id": values[name]}] for name in ("S", "M", "L")
    ]
    again = await conn.upsert_listings([kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "")])
    assert again[0].status is ItemStatus.ACCEPTED
    assert len(emu.item_options) == 1, "an option is found by name, not created twice"
    await conn.aclose()


async def test_what_square_refuses_of_an_option_set() -> None:
    from omnisync_connectors.square.emulator_catalog import upsert_catalog

    h = SquareHarness()
    conn = connector(h)
    await conn.prepare()
    [tee] = await conn.upsert_listings([kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "")])
    emu = h.emulator
    [size] = emu.item_options.values()
    item = emu.items[tee.ids["item_id"]]

    async def upsert(*objects: dict) -> dict:
        _status, body = await upsert_catalog(
            emu, {"idempotency_key": "k", "batches": [{"objects": list(objects)}]}
        )
        return body

    twin = {"type": "ITEM_OPTION", "id": "#twin", "item_option_data": {"name": "size", "values": []}}
    assert "already exists" in (await upsert(twin))["errors"][0]["detail"]
    variations = item["item_data"]["variations"]
    same = [v["item_variation_data"]["item_option_values"] for v in variations]
    clash = {
        **item,
        "item_data": {
            **item["item_data"],
            "variations": [
                {**v, "item_variation_data": {**v["item_variation_data"], "item_option_values": same[0]}}
                for v in variations
            ],
        },
    }
    assert "same item option values" in (await upsert(clash))["errors"][0]["detail"]
    missing = {
        **item,
        "item_data": {
            **item["item_data"],
            "variations": [
                {**v, "item_variation_data": {**v["item_variation_data"], "item_option_values": []}}
                for v in variations
            ],
        },
    }
    assert "one value of each" in (await upsert(missing))["errors"][0]["detail"]
    assert len(emu.item_options) == 1
    assert size["version"] == emu.item_options[size["id"]]["version"]
    await conn.aclose()


async def test_a_listing_linked_by_sku_updates_the_item_its_variation_is_in() -> None:
    h = SquareHarness()
    h.emulator.seed_item("LNK-1", Decimal("5.00"), 3)
    conn = connector(h)
    await conn.prepare()
    [found] = await conn.read_listings(["LNK-1"])
    base = kit_listing("LNK", "Linked", ["LNK-1"], "")
    linked = replace(base, variants=(replace(base.variants[0], ids=found.ids),))  # the item's id unknown
    [done] = await conn.upsert_listings([linked])
    assert done.status is ItemStatus.ACCEPTED, done.issues
    assert done.ids["item_id"] == found.ids["item_id"], "the existing item, not a new one"
    assert h.emulator.items[found.ids["item_id"]]["item_data"]["name"] == "Linked"
    await conn.aclose()


async def test_the_catalogue_reads_back_as_catalogue_products() -> None:
    h = SquareHarness()
    h.emulator.seed_item("MUG", Decimal("7.50"), 3, name="Mug")
    conn = connector(h)
    await conn.prepare()
    tee = kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "")
    [made] = await conn.upsert_listings([tee])
    assert made.status is ItemStatus.ACCEPTED, made.issues
    await conn.unpublish_listings([ListingRef("TEE", made.ids, ("TEE-S", "TEE-M"))])
    page = await conn.read_catalogue(None)
    assert page.next_cursor is None
    products = {p.key: p for p in page.products}
    shirt = products["classic-tee"]
    assert (shirt.title, shirt.status, shirt.options) == ("Classic tee", "discontinued", ("Size",))
    assert [(v.channel_sku, dict(v.options), v.barcode) for v in shirt.variants] == [
        ("TEE-S", {"Size": "S"}, tee.variants[0].barcode),
        ("TEE-M", {"Size": "M"}, tee.variants[1].barcode),
    ]
    assert shirt.variants[0].ids == made.variant_ids["TEE-S"], "the ids read_listings gives"
    mug = products["mug"]
    assert (mug.options, mug.variants[0].price, mug.status) == ((), Decimal("7.50"), "active")
    await conn.aclose()


# -- catalog images ------------------------------------------------------------------------------------
def imaged(urls: list[str], key: str = "TEE", title: str = "Classic tee") -> ListingContent:
    tee = kit_listing(key, title, [f"{key}-S", f"{key}-M"], "")
    return replace(tee, images=tuple(urls), variants=tuple(replace(v, currency="USD") for v in tee.variants))


def with_answer(listing: ListingContent, made: ListingResult) -> ListingContent:
    variants = tuple(replace(v, ids=made.variant_ids[v.channel_sku]) for v in listing.variants)
    return replace(listing, ids=made.ids, variants=variants)


async def test_images_are_uploaded_once_per_content_and_named_by_the_item_in_order() -> None:
    r = rig(settings={"catalog_images": True})
    emu, conn = r.emulator, r.connector
    with ImageServer({"/a.jpg": ("image/jpeg", JPEG), "/b.png": ("image/png", PNG)}) as web:
        a, b = web.url("/a.jpg"), web.url("/b.png")
        [made] = await conn.upsert_listings([imaged([a, b])])
        assert made.status is ItemStatus.ACCEPTED, made.issues
        item = emu.items[made.ids["item_id"]]["item_data"]
        assert len(item["image_ids"]) == 2
        first, second = (emu.images[i] for i in item["image_ids"])
        assert emu.image_files[first["id"]] == JPEG
        assert emu.image_files[second["id"]] == PNG
        assert first["image_data"]["name"].startswith("omnisync:" + hashlib.sha256(JPEG).hexdigest() + " u:")
        assert emu.calls["CreateCatalogImage"] == 2

        # an edit with the same files uploads nothing; a new order is the same images reordered
        listing = with_answer(imaged([b, a], title="Classic tee 2"), made)
        [again] = await conn.upsert_listings([listing])
        assert again.status is ItemStatus.ACCEPTED, again.issues
        assert emu.calls["CreateCatalogImage"] == 2, "the same bytes are not uploaded again"
        assert emu.items[made.ids["item_id"]]["item_data"]["image_ids"] == item["image_ids"][::-1]

        # new bytes at the same URL are a new image; the other stays
        web.files["/a.jpg"] = ("image/jpeg", JPEG + b"v2")
        [third] = await conn.upsert_listings([listing])
        assert third.status is ItemStatus.ACCEPTED, third.issues
        assert emu.calls["CreateCatalogImage"] == 3
        ids = emu.items[made.ids["item_id"]]["item_data"]["image_ids"]
        assert ids[0] == item["image_ids"][1]
        assert emu.image_files[ids[1]] == JPEG + b"v2"
        assert [status for path, status in web.answers if path == "/a.jpg"] == [200, 304, 200], (
            "asked again with its ETag: not downloaded while unchanged"
        )
    await conn.aclose()


async def test_a_host_without_validators_is_downloaded_again_and_its_digest_decides() -> None:
    r = rig(settings={"catalog_images": True})
    emu, conn = r.emulator, r.connector
    with ImageServer({"/a.jpg": ("image/jpeg", JPEG)}, etags=False) as web:
        [made] = await conn.upsert_listings([imaged([web.url("/a.jpg")])])
        listing = with_answer(imaged([web.url("/a.jpg")], title="Classic tee 2"), made)
        [again] = await conn.upsert_listings([listing])
        assert again.status is ItemStatus.ACCEPTED, again.issues
        assert web.answers == [("/a.jpg", 200), ("/a.jpg", 200)]
        assert emu.calls["CreateCatalogImage"] == 1, "the same bytes are not uploaded again"
    await conn.aclose()


async def test_a_bad_image_url_is_that_listing_s_error_and_the_others_go_on() -> None:
    r = rig(settings={"catalog_images": True})
    emu, conn = r.emulator, r.connector
    with ImageServer({"/ok.jpg": ("image/jpeg", JPEG), "/page.html": ("text/html", b"<html></html>")}) as web:
        batch = [
            imaged([web.url("/ok.jpg"), web.url("/gone.jpg?sig=secret")], key="GONE"),
            imaged([web.url("/page.html")], key="HTML"),
            imaged([web.url("/ok.jpg")], key="GOOD"),
        ]
        gone, html, good = await conn.upsert_listings(batch)
    assert gone.status is ItemStatus.REJECTED
    assert gone.issues == (f"image 2 ({web.url('/gone.jpg')}): answered HTTP 404",), "the signature left out"
    assert html.issues == (f"image 1 ({web.url('/page.html')}): not a JPEG, PNG or GIF (text/html)",)
    assert good.status is ItemStatus.ACCEPTED, good.issues
    assert {emu.items[i]["item_data"]["name"] for i in emu.items} == {"Classic tee"}, "only GOOD written"
    await conn.aclose()


async def test_without_catalog_images_the_item_keeps_the_images_it_has() -> None:
    r = rig()  # the emulators' settings: catalog_images false
    emu, conn = r.emulator, r.connector
    [made] = await conn.upsert_listings([imaged(["https://img.example/never-fetched.jpg"])])
    assert made.status is ItemStatus.ACCEPTED, made.issues
    assert emu.calls["CreateCatalogImage"] == 0
    item = emu.items[made.ids["item_id"]]
    emu.images["DASHBOARD-IMAGE"] = {"type": "IMAGE", "id": "DASHBOARD-IMAGE", "image_data": {}}
    item["item_data"]["image_ids"] = ["DASHBOARD-IMAGE"]  # set in the Square Dashboard
    [again] = await conn.upsert_listings([with_answer(imaged([], title="Renamed"), made)])
    assert again.status is ItemStatus.ACCEPTED, again.issues
    assert emu.items[made.ids["item_id"]]["item_data"]["image_ids"] == ["DASHBOARD-IMAGE"]
    await conn.aclose()
