"""The engine with Amazon (emulated) and a fake web store: discovery, a bulk push by feed, and an Amazon
sale that reaches the ledger and the web store, all on the virtual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from omnisync_connectors.amazon.emulator import AmazonEmulator

from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.engine.runtime import Engine
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.testing.fake import FakeChannelAPI
from omnisync.testing.harness import SeedItem

SKUS = [f"TEE-{n}" for n in range(6)]
CONFIG = """\
ledger:
  url: sqlite:///{db}
currency: USD
locations:
  - {{code: WH, name: Warehouse, kind: warehouse}}
channels:
  web:
    connector: fake
    sources: [WH]
    settings: {{token: "${{FAKE_TOKEN}}", webhook_secret: "${{FAKE_SECRET}}"}}
  amazon:
    connector: amazon
    sources: [WH]
    settings:
      region: na
      seller_id: {seller}
      marketplace_ids: [{marketplace}]
      client_id: {client_id}
      client_secret: ${{AMZ_CLIENT_SECRET}}
      refresh_token: ${{AMZ_REFRESH_TOKEN}}
      feed_threshold: 3
      feed_poll_interval_s: 15
"""


class World:
    def __init__(self, folder: Path) -> None:
        self.clock = VirtualClock()
        self.amazon = AmazonEmulator(self.clock)
        self.web = FakeChannelAPI(clock=self.clock)
        path = folder / "omnisync.yaml"
        path.write_text(
            CONFIG.format(
                db=folder / "ledger.db",
                seller=self.amazon.seller_id,
                marketplace=self.amazon.marketplace_id,
                client_id=self.amazon.client_id,
            )
        )
        env = {
            "FAKE_TOKEN": "fake-token-123",
            "FAKE_SECRET": "fake-webhook-secret",
            "AMZ_CLIENT_SECRET": self.amazon.client_secret,
            "AMZ_REFRESH_TOKEN": self.amazon.refresh_token,
        }
        loaded = load_config(path, env=env)
        self.ledger = Ledger(make_engine(loaded.ledger_url()))
        self.engine = Engine(
            loaded,
            self.ledger,
            clock=self.clock,
            transports={"web": self.web.transport(), "amazon": self.amazon.transport()},
        )

    async def start(self) -> None:
        self.engine.migrate_and_seed()
        with self.ledger.tx() as tx:
            for sku in SKUS:
                tx.upsert_product(sku, title=sku, price=Decimal("20.00"), currency="USD")
                tx.record_movement(sku, "WH", "receipt", 8, f"seed:{sku}", at=self.clock.now())
        self.web.seed([SeedItem(sku, 0, Decimal("20.00")) for sku in SKUS])
        for sku in SKUS:
            self.amazon.seed_listing(sku, 0, Decimal("20.00"), product_type="SHIRT")
        await self.engine.start()

    async def sync(self) -> None:
        reports = await self.engine.sync_once()
        assert all(r.ok for r in reports.values()), reports


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = World(tmp_path)
    await w.start()
    yield w
    await w.engine.aclose()


async def test_bulk_push_by_feed_then_an_amazon_sale_reaches_the_web_store(world: World) -> None:
    await world.sync()
    assert [world.amazon.quantity(s) for s in SKUS] == [8] * 6
    # six quantities and six prices, each above the threshold of 3: one feed for each
    assert world.amazon.calls["createFeed"] == 2
    assert world.amazon.calls["patchListingsItem"] == 0

    world.amazon.place_order("TEE-0", 3)  # a shopper on Amazon
    assert world.amazon.quantity("TEE-0") == 5
    world.clock.advance(120)
    await world.sync()
    assert world.web.items["TEE-0"].quantity == 5, "the Amazon sale reserved stock in the ledger"
    assert world.amazon.quantity("TEE-0") == 5
    assert world.amazon.calls["getOrderItems"] == 1

    order_id = next(iter(world.amazon.orders))
    world.amazon.cancel_order(order_id)
    world.clock.advance(120)
    await world.sync()
    assert world.web.items["TEE-0"].quantity == 8, "the cancellation released the reservation"
    assert world.amazon.quantity("TEE-0") == 8


async def test_a_push_never_raises_amazon_over_a_sale_the_ledger_has_not_imported(world: World) -> None:
    """Amazon takes absolute quantities. Three units sold on Amazon and not imported yet, one on the web
    store: the ledger wants 7 on Amazon, below the 8 acknowledged, but above the 5 Amazon holds, so
    patching 7 would put the three sold units back on offer (the lost update the simulation found
    after an Amazon outage). The listing is read first, the push answers stale, Amazon keeps 5, and
    once the sale arrives the right quantity goes out."""
    await world.sync()
    world.amazon.place_order("TEE-1", 3)  # sold on Amazon: it shows 5; the ledger does not know yet
    world.web.place_order("TEE-1", 1)  # sold on the web store: the ledger wants 7 on Amazon
    await world.engine.pull("web")
    await world.engine.push("amazon")
    assert world.amazon.quantity("TEE-1") == 5, "the push overwrote the Amazon sale (a lost update)"
    world.clock.advance(120)
    await world.engine.pull("amazon")  # the Amazon sale arrives: 8 - 1 - 3 = 4 allowed
    await world.engine.push("amazon")
    assert world.amazon.quantity("TEE-1") == 4


async def test_a_decrease_below_what_amazon_holds_goes_out_at_once(world: World) -> None:
    """An unimported Amazon sale does not hold back a decrease that stays below what Amazon holds: the
    web store sold five, the ledger wants 3, Amazon holds 7; 3 goes out with no stale round."""
    await world.sync()
    world.amazon.place_order("TEE-2", 1)
    world.web.place_order("TEE-2", 5)
    await world.engine.pull("web")
    await world.engine.push("amazon")
    assert world.amazon.quantity("TEE-2") == 3
