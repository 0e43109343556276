"""The engine with the emulated Shopify shop: the stale compare-and-set path end to end.

A sale on the shop between two pushes must not be overwritten: the push carries the last
acknowledged quantity as ``changeFromQuantity``, Shopify answers CHANGE_FROM_QUANTITY_STALE, the
engine pulls the order, re-plans and pushes again.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from omnisync_connectors.shopify.emulator import ShopifyEmulator

from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.engine.runtime import Engine
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger

CONFIG = """\
ledger:
  url: sqlite:///{db}
currency: USD
locations:
  - {{code: WH, name: Warehouse, kind: warehouse}}
channels:
  web:
    connector: shopify
    sources: [WH]
    settings:
      shop: {shop}
      access_token: ${{SHOPIFY_TOKEN}}
      webhook_secret: ${{SHOPIFY_WEBHOOK_SECRET}}
      locations: {{WH: "{warehouse}"}}
"""


class World:
    def __init__(self, folder: Path) -> None:
        self.clock = VirtualClock()
        self.shop = ShopifyEmulator(self.clock, locations=("warehouse",))
        path = folder / "omnisync.yaml"
        path.write_text(
            CONFIG.format(
                db=folder / "ledger.db", shop=self.shop.shop, warehouse=self.shop.locations["warehouse"]
            )
        )
        env = {"SHOPIFY_TOKEN": self.shop.access_token, "SHOPIFY_WEBHOOK_SECRET": self.shop.webhook_secret}
        loaded = load_config(path, env=env)
        self.ledger = Ledger(make_engine(loaded.ledger_url()))
        self.engine = Engine(loaded, self.ledger, clock=self.clock, transports={"web": self.shop.transport()})

    async def start(self, units: int) -> None:
        self.engine.migrate_and_seed()
        with self.ledger.tx() as tx:
            tx.upsert_product("MUG", title="Mug", price=Decimal("12.00"), currency="USD")
            tx.record_movement("MUG", "WH", "receipt", units, "seed:WH", at=self.clock.now())
        self.shop.seed("MUG", 0, "12.00")
        await self.engine.start()


@pytest.fixture
async def world(tmp_path: Path) -> World:
    w = World(tmp_path)
    await w.start(units=10)
    reports = await w.engine.sync_once()
    assert all(r.ok for r in reports.values()), reports
    assert w.shop.quantity("MUG") == 10
    return w


async def test_a_sale_between_two_pushes_is_not_overwritten(world: World) -> None:
    world.shop.place_order("MUG", 2)  # the shop shows 8; the ledger still believes 10
    with world.ledger.tx() as tx:  # a delivery lands before the order is pulled: the target becomes 14
        tx.record_movement("MUG", "WH", "receipt", 4, "delivery:1", at=world.clock.now())
    report = await world.engine.cycle("web", pull=False)  # push first: changeFromQuantity 10 is stale
    assert report.ok, report
    stale = [r for r in world.shop.requests if "CHANGE_FROM_QUANTITY_STALE" in str(r["response"])]
    assert stale, "the first push met the sale and was refused"
    # the live read (8) holds a sale the ledger has not imported: the raise to 14 would overwrite it,
    # so it waits for the pull the push asked for
    assert report.push.wants_pull
    assert world.shop.quantity("MUG") == 8, "the sale survived: the raise waits for the pull"
    again = await world.engine.cycle("web")
    assert world.shop.quantity("MUG") == 12, "10 - 2 sold + 4 delivered"
    assert again.orders.imported == 1
    settled = await world.engine.cycle("web")
    assert settled.push.pushed == 0, "settled: the sale was imported once and nothing is left to push"
    assert world.shop.quantity("MUG") == 12


async def test_a_target_that_returns_to_an_earlier_number_at_the_same_version_is_pushed_again(
    world: World,
) -> None:
    """The adaptive policy's targets move with time, not only with stock: at one ledger version a
    pair can go 10 -> 9 -> 10. The third push carries the same values as the first (10 from 9 at
    that version); had it the same @idempotent key, Shopify would answer the first push's result
    again without applying it, the engine would record 10 and the shop would keep showing 9 (seed 7
    of the trading day under the adaptive policy: no convergence after the reconcile)."""
    calculator = world.engine.calculator
    rules = calculator.channels["web"]
    channel_id = world.engine.channels["web"].channel_id

    async def push_with(buffer: int) -> None:
        calculator.channels["web"] = replace(rules, quantity=replace(rules.quantity, buffer_units=buffer))
        with world.ledger.tx() as tx:
            tx.mark_all_dirty(channel_id)
        world.clock.advance(60)
        report = await world.engine.cycle("web")
        assert report.ok, report

    await push_with(1)  # 9 from 10: the first change at this version
    assert world.shop.quantity("MUG") == 9
    await push_with(0)  # 10 from 9
    assert world.shop.quantity("MUG") == 10
    await push_with(1)  # 9 from 10 again, the same version and values as the first
    assert world.shop.quantity("MUG") == 9
    await push_with(0)
    assert world.shop.quantity("MUG") == 10
    with world.ledger.read() as conn:
        (listing,) = world.ledger.listings(conn, channel_id)
    assert listing.acked_quantity == 10
