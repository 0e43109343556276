"""Kits over two fake channels: offered from their components, sold through them, explained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from enginekit import World, kit_world

from omnisync.kits import Component, KitError
from omnisync.ledger import kits as kit_rows


def levels(w: World, sku: str) -> dict[str, tuple[int, int]]:
    with w.ledger.read() as conn:
        pid = w.ledger.product_id(conn, sku)
        codes = {lid: row.code for lid, row in w.ledger.locations(conn).items()}
        return {codes[lid]: n for lid, n in w.ledger.stock_for(conn, [pid]).get(pid, {}).items()}


async def test_a_kit_offers_what_its_scarcest_component_allows(tmp_path: Path, ledger_url: str) -> None:
    w = await kit_world(tmp_path, ledger_url)
    reports = await w.engine.sync_once()
    assert all(r.ok for r in reports.values()), reports
    # MUG, GIFT (2 MUG + 1 LID) and SIX (6 MUG) are listed on both channels: on each, they share
    # the MUG units sale by sale, GIFT and LID the LID units. web (WH + STORE less 2 kept, 1 buffer
    # unit): GIFT = min(its 1 sale of LID's 3, its 1 sale of MUG's 10) = 1 at WH, 0 at STORE
    assert w.web.items["GIFT"].quantity == 1 - 1
    assert w.pos.items["GIFT"].quantity == 0  # no lid in the store
    # a pack of 6: its one sale of WH's 10 mugs, none of the store's 5
    assert w.web.items["SIX"].quantity == 0  # 1 - the buffer unit
    assert w.pos.items["SIX"].quantity == 0
    explained = w.engine.explain("GIFT")["web"][0]
    kit_steps = [s.detail for s in explained.allocation.steps if s.rule == "shared component"]
    assert kit_steps == [
        "WH on web: min(LID 3 shared sale by sale: LID 2, GIFT 1; "
        "MUG 10 shared sale by sale: MUG 2, GIFT 1×2, SIX 1×6) = 1 kit, limited by LID",
        "STORE on web: min(LID 0 shared sale by sale: LID 0, GIFT 0; "
        "MUG 5 shared sale by sale: MUG 3, GIFT 1×2, SIX 0×6) = 0 kits, limited by LID",
    ]


async def test_selling_a_kit_reserves_then_consumes_its_components(tmp_path: Path, ledger_url: str) -> None:
    w = await kit_world(tmp_path, ledger_url)
    await w.engine.sync_once()
    order = w.web.place_order("GIFT", 2)
    await w.engine.cycle("web")
    assert levels(w, "MUG")["WH"] == (10, 4)
    assert levels(w, "LID")["WH"] == (3, 2)
    assert levels(w, "GIFT") == {}  # a kit holds nothing of its own
    await w.engine.cycle("pos")
    assert w.web.items["GIFT"].quantity == 0  # 1 kit left at WH, less the buffer unit
    assert w.pos.items["MUG"].quantity == 3  # the store's 5 mugs less one GIFT's 2 (SIX's 6 do not fit)
    w.clock.advance(60)
    w.web.update_order(order, status="fulfilled", fulfilled=2)
    await w.engine.cycle("web")
    assert levels(w, "MUG")["WH"] == (6, 0)
    assert levels(w, "LID")["WH"] == (1, 0)


async def test_a_cancelled_kit_releases_its_components(tmp_path: Path, ledger_url: str) -> None:
    w = await kit_world(tmp_path, ledger_url)
    await w.engine.sync_once()
    shown = {sku: item.quantity for sku, item in w.web.items.items()}
    order = w.web.place_order("GIFT", 3)
    await w.engine.cycle("web")
    assert levels(w, "LID")["WH"] == (3, 3)
    w.clock.advance(60)
    w.web.update_order(order, status="cancelled")
    await w.engine.sync_once()
    assert levels(w, "LID")["WH"] == (3, 0)
    assert levels(w, "MUG")["WH"] == (10, 0)
    assert {sku: item.quantity for sku, item in w.web.items.items()} == shown


async def test_a_component_sold_alone_lowers_every_kit_using_it(tmp_path: Path, ledger_url: str) -> None:
    w = await kit_world(tmp_path, ledger_url)
    await w.engine.sync_once()
    w.web.place_order("LID", 2)  # two lids sold alone on the web
    await w.engine.cycle("web")
    with w.ledger.read() as conn:
        gift = w.ledger.product_id(conn, "GIFT")
        pos = w.engine.channels["pos"].channel_id
        dirty = {row.product_id for row in w.ledger.listings(conn, pos) if row.dirty}
    assert gift in dirty  # the kit is re-planned on every channel
    await w.engine.sync_once()
    assert w.web.items["GIFT"].quantity == 0  # min(MUG 5, LID 1) = 1 less the buffer unit


async def test_nested_kits_are_refused_with_one_line(tmp_path: Path, ledger_url: str) -> None:
    w = await kit_world(tmp_path, ledger_url)
    with w.ledger.read() as conn:
        ids = w.ledger.find_product_ids(conn, ["MUG", "GIFT"])
    with w.ledger.tx() as tx, pytest.raises(KitError) as refused:
        kit_rows.define_kits(tx.conn, {"MUG": (Component("GIFT", 1),)}, ids)
    assert str(refused.value) == "kit MUG: component GIFT is itself a kit (kits cannot be nested)"
    with w.ledger.tx() as tx, pytest.raises(KitError) as refused:
        kit_rows.define_kits(tx.conn, {"LID": (Component("LID", 2),)}, {"LID": 2})
    assert "a kit cannot contain itself" in str(refused.value)


async def test_a_sku_its_pack_and_its_kit_on_one_channel_share_its_units(
    tmp_path: Path, ledger_url: str
) -> None:
    w = await kit_world(tmp_path, ledger_url)
    await w.engine.sync_once()
    # MUG, SIX (a pack of 6 MUG) and GIFT (2 MUG + 1 LID) are listed on each channel: the mugs go
    # round them a sale at a time, so the channel never shows one mug twice
    assert w.pos.items["MUG"].quantity == 3  # the store's 5: MUG 3, GIFT 1 (×2), SIX none (×6)
    assert w.web.items["WEB-MUG"].quantity == 2  # WH's 10: 2; the store's 5: 3, less 2 kept; less 1
    mug = w.engine.explain("MUG")["pos"][0]
    assert [s.detail for s in mug.allocation.steps if s.rule == "shared component"] == [
        "STORE on pos: MUG 5 shared sale by sale: MUG 3, GIFT 1×2, SIX 0×6 = 3 units"
    ]
    order = w.web.place_order("SIX", 1)
    w.clock.advance(60)
    await w.engine.cycle("web")
    w.web.update_order(order, status="fulfilled", fulfilled=1)
    await w.engine.cycle("web")
    assert levels(w, "MUG")["WH"] == (4, 0)  # one pack sold: six mugs


async def test_a_kit_holds_no_stock_of_its_own(tmp_path: Path, ledger_url: str) -> None:
    from omnisync.ledger.repository import LedgerError

    w = await kit_world(tmp_path, ledger_url)
    with w.ledger.tx() as tx, pytest.raises(LedgerError, match="a kit holds no stock of its own"):
        tx.record_movement("GIFT", "WH", "receipt", 5, "k1", at=w.clock.now())


async def test_the_column_plan_takes_the_explained_shares(
    tmp_path: Path, ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omnisync.engine.chunk_planner import ChunkPlanner

    fast: list[int] = []
    column_plan = ChunkPlanner._plan_fast

    def counted(planner: ChunkPlanner, columns: Any, dirty_only: bool, out: Any) -> None:
        fast.append(len(columns.shared))
        column_plan(planner, columns, dirty_only, out)

    monkeypatch.setattr(ChunkPlanner, "_plan_fast", counted)
    w = await kit_world(tmp_path, ledger_url)
    for channel in ("web", "pos"):
        planned = {item.sku: item for item in w.engine.plan(channel, all_pairs=True)}
        assert set(planned) == {"MUG", "LID", "GIFT", "SIX"}
        for sku, item in planned.items():
            explained = w.engine.explain(sku)[channel][0].allocation
            assert item.quantity == explained.offered == item.target.allocation.offered, (channel, sku)
    assert fast == [1, 1]  # planned column by column, each channel with its shares


async def test_a_kit_missing_on_a_channel_or_listed_again_re_plans_the_components_it_shares_there(
    tmp_path: Path, ledger_url: str
) -> None:
    """A component's share on a channel depends on which kits drawing on it are listed there: when a
    kit turns out missing on the channel (a push's discovery), or gets its listing there (the
    listing job, `listings link`), the component and the other kits drawing on it are re-planned there
    at once, not at their next change (under-shown, then over-shown, until then)."""
    w = await kit_world(tmp_path, ledger_url)
    await w.engine.sync_once()
    assert w.pos.items["MUG"].quantity == 3, "the store's 5 mugs: GIFT draws 2 (SIX's 6 do not fit)"
    rt = w.engine.channels["pos"]
    with w.ledger.tx() as tx:
        gift = w.ledger.product_id(tx.conn, "GIFT")
        tx.set_listing_ids(rt.channel_id, gift, None)  # as discovery records a SKU the channel lacks
    await w.engine.push("pos")
    assert w.pos.items["MUG"].quantity == 5, "no GIFT draws on the POS now"
    (found,) = await rt.connector.read_listings(["GIFT"])
    with w.ledger.tx() as tx:
        tx.set_listing_ids(rt.channel_id, gift, found.ids)  # as the listing job does
        tx.mark_products_dirty([gift])
    await w.engine.push("pos")
    assert w.pos.items["MUG"].quantity == 3, "GIFT draws 2 of the store's mugs on the POS again"
    assert w.engine.plan("pos") == []


async def test_a_channel_that_does_not_share_components_shows_each_listing_the_whole_component(
    tmp_path: Path, ledger_url: str
) -> None:
    """``share_components: false`` on the POS: the mugs are the store's 5 there for MUG (no GIFT share
    held back), the web still shares them; the plan and ``explain`` agree."""
    from dataclasses import replace

    w = await kit_world(tmp_path, ledger_url)
    rt = w.engine.channels["pos"]
    rt.rules = replace(rt.rules, share_components=False)
    w.engine.calculator.channels["pos"] = rt.rules
    await w.engine.sync_once()
    assert w.pos.items["MUG"].quantity == 5, "the store's 5 mugs, nothing held for GIFT"
    explained = w.engine.explain("MUG")
    assert explained["pos"][0].allocation.offered == 5
    assert not [s for s in explained["pos"][0].allocation.steps if s.rule == "shared component"]
    assert [s for s in explained["web"][0].allocation.steps if s.rule == "shared component"]
    assert w.engine.plan("pos") == []
