"""Kits over two fake channels: offered from their components, sold through them, explained."""

from __future__ import annotations

from pathlib import Path

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
    # web (WH + STORE less 2 kept, 1 buffer unit): GIFT = min(MUG 10÷2, LID 3÷1) = 3 at WH, 0 at STORE
    assert w.web.items["GIFT"].quantity == 3 - 1
    assert w.pos.items["GIFT"].quantity == 0  # no lid in the store
    # a pack of 6: 10÷6 = 1 at WH, 5÷6 = 0 in the store
    assert w.web.items["SIX"].quantity == 0  # 1 - the buffer unit
    assert w.pos.items["SIX"].quantity == 0
    explained = w.engine.explain("GIFT")["web"][0]
    kit_steps = [s.detail for s in explained.allocation.steps if s.rule == "kit"]
    assert kit_steps == [
        "WH: min(LID 3÷1=3, MUG 10÷2=5) = 3 kits, limited by LID",
        "STORE: min(LID 0÷1=0, MUG 5÷2=2) = 0 kits, limited by LID",
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
    assert w.pos.items["MUG"].quantity == 2  # the store's 5 mugs, half of them (shared with SIX)
    w.clock.advance(60)
    w.web.update_order(order, status="fulfilled", fulfilled=2)
    await w.engine.cycle("web")
    assert levels(w, "MUG")["WH"] == (6, 0)
    assert levels(w, "LID")["WH"] == (1, 0)


async def test_a_cancelled_kit_releases_its_components(tmp_path: Path, ledger_url: str) -> None:
    w = await kit_world(tmp_path, ledger_url)
    await w.engine.sync_once()
    order = w.web.place_order("GIFT", 3)
    await w.engine.cycle("web")
    assert levels(w, "LID")["WH"] == (3, 3)
    w.clock.advance(60)
    w.web.update_order(order, status="cancelled")
    await w.engine.sync_once()
    assert levels(w, "LID")["WH"] == (3, 0)
    assert levels(w, "MUG")["WH"] == (10, 0)
    assert w.web.items["GIFT"].quantity == 2


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


async def test_a_sku_and_its_pack_on_one_channel_share_one_pool(tmp_path: Path, ledger_url: str) -> None:
    w = await kit_world(tmp_path, ledger_url)
    await w.engine.sync_once()
    # MUG and SIX (a pack of 6 MUG) are both listed on each channel: each takes half of the pool
    assert w.pos.items["MUG"].quantity == 2  # 50 % of the store's 5
    assert w.web.items["WEB-MUG"].quantity == 5  # 50 % of 10 + (5 - 2 kept) = 6, less the buffer unit
    mug = w.engine.explain("MUG")["pos"][0]
    assert "shared pool (MUG, SIX share the pool of MUG on pos): 50 % of the channel's share = 50" in (
        mug.quantity_provenance
    )
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
