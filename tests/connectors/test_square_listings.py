"""Square listings: an ITEM with its variations by BatchUpsertCatalogObjects, archived to unpublish;
the emulator refusing what Square refuses (its spec's limits), as the connector's rules foresee."""

from __future__ import annotations

from dataclasses import replace

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
