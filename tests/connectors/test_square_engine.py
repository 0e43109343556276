"""The engine with the Square POS (emulated) and a fake web store over one ledger.

A walk-in sale at the POS between two pushes is neither lost nor overwritten, and the online
channel's offer drops once the POS orders are pulled.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from omnisync_connectors.square.emulator import SquareEmulator

from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.engine.runtime import Engine
from omnisync.ledger.db import make_engine
from omnisync.ledger.journal import history
from omnisync.ledger.repository import Ledger
from omnisync.testing.fake import FakeChannelAPI
from omnisync.testing.harness import SeedItem

STORE_ID = "LSTORE00001AA"
CONFIG = """\
ledger:
  url: sqlite:///{db}
currency: USD
locations:
  - {{code: WH, name: Warehouse, kind: warehouse}}
  - {{code: STORE, name: Main Street store, kind: store}}
channels:
  web:
    connector: fake
    sources: [WH, STORE]
    source_buffers: {{STORE: 2}}
    settings: {{token: "${{FAKE_TOKEN}}", webhook_secret: "${{FAKE_SECRET}}"}}
  pos:
    connector: square
    sources: [STORE]
    push_prices: false
    settings:
      access_token: ${{SQUARE_TOKEN}}
      base_url: http://square.emulator
      locations: {{STORE: {store}}}
      webhook_signature_key: ${{SQUARE_SIGNATURE_KEY}}
      notification_url: http://127.0.0.1:8080/webhooks/square
"""


class World:
    def __init__(self, folder: Path) -> None:
        self.clock = VirtualClock()
        self.square = SquareEmulator(self.clock, locations={STORE_ID: "Main Street"})
        self.web = FakeChannelAPI(clock=self.clock)
        path = folder / "omnisync.yaml"
        path.write_text(CONFIG.format(db=folder / "ledger.db", store=STORE_ID))
        env = {
            "FAKE_TOKEN": "fake-token-123",
            "FAKE_SECRET": "fake-webhook-secret",
            "SQUARE_TOKEN": self.square.access_token,
            "SQUARE_SIGNATURE_KEY": self.square.signature_key,
        }
        loaded = load_config(path, env=env)
        self.ledger = Ledger(make_engine(loaded.ledger_url()))
        self.engine = Engine(
            loaded,
            self.ledger,
            clock=self.clock,
            transports={"web": self.web.transport(), "pos": self.square.transport()},
        )

    async def start(self, wh: int, store: int) -> None:
        self.engine.migrate_and_seed()
        with self.ledger.tx() as tx:
            tx.upsert_product("MUG", title="Mug", price=Decimal("12.00"), currency="USD")
            tx.record_movement("MUG", "WH", "receipt", wh, "seed:WH", at=self.clock.now())
            tx.record_movement("MUG", "STORE", "receipt", store, "seed:STORE", at=self.clock.now())
        self.web.seed([SeedItem("MUG", 0, Decimal("1.00"))])
        self.square.seed_item("MUG", Decimal("12.00"), 0)
        await self.engine.start()

    def store_on_hand(self) -> int:
        with self.ledger.read() as conn:
            pid = self.ledger.find_product_id(conn, "MUG")
            assert pid is not None
            stock = self.ledger.stock_for(conn, [pid])[pid]
            return int(stock[self.ledger.location_id(conn, "STORE")][0])


@pytest.fixture
async def world(tmp_path: Path) -> World:
    w = World(tmp_path)
    await w.start(wh=10, store=5)
    reports = await w.engine.sync_once()
    assert all(r.ok for r in reports.values()), reports
    assert w.square.quantity("MUG") == 5, "the POS shows the store's real count"
    assert w.web.items["MUG"].quantity == 13, "web: WH 10 + STORE 5 - 2 kept for walk-ins"
    return w


async def test_floor_sale_between_two_pushes_is_neither_lost_nor_overwritten(world: World) -> None:
    world.square.place_order("MUG", 2)  # a walk-in customer; Square shows 3, the ledger still 5
    with world.ledger.tx() as tx:  # a delivery reaches the store before the POS orders are pulled
        tx.record_movement("MUG", "STORE", "receipt", 4, "delivery:1", at=world.clock.now())
    report = await world.engine.cycle("pos", pull=False)  # push first: +4 on top of the sale
    assert report.ok, report
    assert world.square.quantity("MUG") == 7, "5 - 2 sold + 4 delivered: the sale was not overwritten"
    await world.engine.cycle("pos")
    assert world.store_on_hand() == 7, "the sale reached the ledger exactly once"
    assert world.square.quantity("MUG") == 7
    again = await world.engine.cycle("pos")
    assert again.push.pushed == 0, "settled: nothing left to push"


async def test_online_offer_drops_after_the_next_pos_pull(world: World) -> None:
    world.square.place_order("MUG", 2)
    assert world.web.items["MUG"].quantity == 13, "web does not know yet"
    await world.engine.cycle("pos")
    assert world.store_on_hand() == 3
    assert world.square.quantity("MUG") == 3, "the POS count is not lowered a second time"
    await world.engine.cycle("web")
    assert world.web.items["MUG"].quantity == 11, "WH 10 + max(0, 3 - 2)"


async def test_click_and_collect_reserves_at_the_store_and_the_pos_count_drops(world: World) -> None:
    pickup = world.square.open_pickup_order("MUG", 2)  # a Square Online order to collect at the store
    await world.engine.cycle("pos")
    assert world.square.quantity("MUG") == 3, "5 on the shelf, 2 kept for the pickup"
    await world.engine.cycle("web")
    assert world.web.items["MUG"].quantity == 11, "WH 10 + max(0, 5 - 2 reserved - 2 kept)"
    world.square.complete_order(pickup)  # collected: Square itself moves the 2 units IN_STOCK -> SOLD
    await world.engine.cycle("pos")
    assert world.store_on_hand() == 3
    await world.engine.reconcile("pos")  # reads the live count and corrects the POS
    assert world.square.quantity("MUG") == 3


async def test_collected_pickup_settles_without_a_reconcile(world: World) -> None:
    pickup = world.square.open_pickup_order("MUG", 2)
    await world.engine.cycle("pos")
    world.square.complete_order(pickup)
    await world.engine.cycle("pos")
    await world.engine.cycle("pos")
    assert world.square.quantity("MUG") == 3


async def test_a_returns_restock_and_waste_land_in_the_store_once(world: World) -> None:
    """Three mugs sold at the counter; one comes back restocked (SOLD -> IN_STOCK) and is offered
    again, one comes back damaged (SOLD -> WASTE) and lands in the store's damaged bucket, never
    offered; pulling the returns again journals nothing twice."""
    sale = world.square.place_order("MUG", 3)
    await world.engine.cycle("pos")
    assert world.store_on_hand() == 2
    world.clock.advance(60)
    world.square.return_items(sale, 1)
    world.square.return_items(sale, 1, restock=False, damaged=True)
    await world.engine.cycle("pos")
    world.clock.advance(60)
    await world.engine.cycle("pos")

    with world.ledger.read() as conn:
        pid = world.ledger.product_id(conn, "MUG")
        store = world.ledger.location_id(conn, "STORE")
        held = world.ledger.buckets(conn, [pid]).get(pid, {}).get(store, {})
        moves = [m for m in history(conn, "MUG") if m["kind"] == "return"]
    assert world.store_on_hand() == 3, "5 - 3 sold + 1 restocked: the wasted unit is not on hand"
    assert (held.get("damaged", 0), held.get("inspect", 0)) == (1, 0)
    assert sorted((m["quantity"], m["bucket"] or "") for m in moves) == [(1, ""), (1, "damaged")]
    assert world.square.quantity("MUG") == 3, "the POS offers the restocked unit, not the damaged one"
    await world.engine.cycle("web")
    assert world.web.items["MUG"].quantity == 11, "WH 10 + max(0, 3 - 2): the damaged unit is not offered"
