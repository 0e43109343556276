"""Races the simulation found, replayed deterministically with the real engine and the Shopify emulator."""

from __future__ import annotations

from pathlib import Path

import httpx

from omnisync.simulate.channels import SimChannel
from omnisync.simulate.run import Simulation, quiet_logs
from omnisync.simulate.scenario import CatalogueSpec, ChannelSpec, FaultSpec, Scenario

SKU = "SKU-0001"


class SaleBeforeLiveRead(httpx.AsyncBaseTransport):
    """A shopper buys at the moment the engine reads Shopify's live inventory levels."""

    def __init__(self, inner: httpx.AsyncBaseTransport, channel: SimChannel) -> None:
        self.inner, self.channel, self.armed = inner, channel, False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        if self.armed and b"mutation" not in body[:200].lower() and b"inventoryLevel" in body:
            self.armed = False
            self.channel.buy(SKU, 1)
        return await self.inner.handle_async_request(request)


async def test_a_sale_during_stale_resolution_is_not_overwritten(tmp_path: Path) -> None:
    scenario = Scenario(
        name="race",
        duration=60.0,
        settle=0.0,
        channels={"shopify": ChannelSpec(kind="shopify", sources=["WH"])},
        catalogue=CatalogueSpec(skus=1, stock={"WH": (10, 10)}),
        faults=FaultSpec(),
    )
    with quiet_logs():
        sim = Simulation(scenario, 1, tmp_path)
        shop = sim.channels["shopify"]
        wire = SaleBeforeLiveRead(sim.transports["shopify"], shop)
        sim.transports["shopify"] = wire  # type: ignore[assignment]
        engine = sim._new_engine()
        sim._seed(engine)
        await engine.start()
        await engine.sync_once()
        assert shop.quantity(SKU) == 10
        shop.buy(SKU, 1)  # sale A: the ledger has not seen it
        with sim.ledger.tx() as tx:  # a delivery: the next push raises the quantity
            tx.record_movement(SKU, "WH", "receipt", 2, "late-delivery", at=sim.clock.now())
        wire.armed = True  # sale B lands between the stale answer's pull and the live read
        await engine.cycle("shopify", pull=False)
        truth = 10 + 2 - 2
        assert shop.quantity(SKU) <= truth, "the push after the stale answer overwrote sale B"
        await engine.aclose()
