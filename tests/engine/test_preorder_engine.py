"""Preorders through the engine: stock on order offered on a channel that allows it, with the
platform's signal; a sale ahead of stock reserves where the stock comes in; receiving it turns the
preorder into an ordinary reservation without counting it twice; a channel whose connector has no
preorder signal refuses the setting."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from enginekit import World
from sqlalchemy import select

from omnisync.config import load_config
from omnisync.engine.runtime import Engine
from omnisync.ledger.tables import OL
from omnisync.sdk.errors import ConfigurationError
from omnisync.sdk.models import Capability
from omnisync.testing.fake import FakeConnector

PREORDER_MAPPING = """\
sku_aliases:
  MUG: WEB-MUG
quantity:
  preorder_limit: 4
"""


def preorder_world(folder: Path, url: str) -> World:
    w = World(folder, url)
    (folder / "web.yaml").write_text(PREORDER_MAPPING)  # the web store sells up to 4 ahead of stock
    w.loaded = load_config(w.path, env={"FAKE_TOKEN": "fake-token-123", "FAKE_SECRET": "fake-webhook-secret"})
    w.engine = Engine(
        w.loaded, w.ledger, clock=w.clock, transports={"web": w.web.transport(), "pos": w.pos.transport()}
    )
    return w


def stock(w: World, sku: str) -> dict[str, tuple[int, int]]:
    with w.ledger.read() as conn:
        pid = w.ledger.product_id(conn, sku)
        codes = {lid: row.code for lid, row in w.ledger.locations(conn).items()}
        return {codes[lid]: v for lid, v in w.ledger.stock_for(conn, [pid]).get(pid, {}).items()}


async def test_a_preorder_becomes_an_ordinary_sale_when_the_stock_comes_in(
    tmp_path: Path, ledger_url: str
) -> None:
    w = preorder_world(tmp_path, ledger_url)
    await w.start({"MUG": (1, 0)})
    expected = datetime(2026, 12, 20, tzinfo=UTC)
    with w.ledger.tx() as tx:
        pid = w.ledger.product_id(tx.conn, "MUG")
        lid = w.ledger.location_id(tx.conn, "WH")
        tx.expect("PO-1", pid, lid, 10, expected_at=expected, at=w.clock.now())
    await w.engine.sync_once()
    item = w.web.items["WEB-MUG"]
    # 1 on hand less the web's buffer unit = 0, plus min(10 on order, limit 4) = 4 on preorder
    assert item.quantity == 4
    assert item.preorder == {"units": 4, "expected": "2026-12-20"}
    assert w.pos.items["MUG"].quantity == 0
    assert w.pos.items["MUG"].preorder is None

    w.web.place_order("WEB-MUG", 3)
    await w.engine.sync_once()
    # routed to WH, where the stock comes in: 3 reserved against 1 on hand, 2 sold ahead of stock
    assert stock(w, "MUG")["WH"] == (1, 3)
    assert item.quantity == 2
    assert item.preorder == {"units": 2, "expected": "2026-12-20"}
    explained = w.engine.explain("MUG")["web"][0].allocation
    assert (explained.offered, explained.preorder) == (2, 2)
    with w.ledger.read() as conn:  # a preorder is not an oversell: the stock on order covers it
        assert conn.execute(select(OL.c.oversold)).scalars().all() == [0]

    w.clock.advance(3600.0)
    with w.ledger.tx() as tx:
        assert tx.receive("PO-1", "MUG", "WH", 10, "grn-1", at=w.clock.now())
    await w.engine.sync_once()
    # 11 on hand, the 3 units still reserved once: 8 available, less the buffer unit; nothing on order
    assert stock(w, "MUG")["WH"] == (11, 3)
    assert item.quantity == 7
    assert item.preorder is None
    assert w.engine.explain("MUG")["web"][0].allocation.preorder == 0
    again = await w.engine.sync_once()
    assert sum(r.push.pushed for r in again.values()) == 0, "the signal is taken back once"


async def test_only_a_channel_with_a_preorder_signal_takes_a_limit(
    tmp_path: Path, ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeConnector, "capabilities", FakeConnector.capabilities - {Capability.PREORDER})
    w = preorder_world(tmp_path, ledger_url)
    with pytest.raises(
        ConfigurationError, match="channel web: preorder_limit is set, but the fake connector"
    ):
        await w.start({"MUG": (1, 0)})
