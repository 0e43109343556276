"""Square listings: an ITEM with its variations by BatchUpsertCatalogObjects, archived to unpublish;
the emulator refusing what Square refuses (its spec's limits), as the connector's rules foresee."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from omnisync_connectors.square import SquareConnector
from omnisync_connectors.square.harness import SquareHarness

from omnisync.catalogue.validate import validate_listing
from omnisync.sdk import InventoryUpdate, ItemStatus, ListingRef
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
