"""The conformance kit's harness over the Square emulator (one store, a euro merchant)."""

from __future__ import annotations

from collections.abc import Sequence

from omnisync.clock import VirtualClock
from omnisync.testing.harness import EmulatorHarness, SeedItem

from .connector import SquareConnector
from .emulator import SquareEmulator


class SquareHarness(EmulatorHarness):
    connector_class = SquareConnector
    orders_page_size = 3
    conformance_batch_size = 100

    def __init__(self, *, currency: str = "EUR") -> None:
        self.clock = VirtualClock()
        self.emulator = SquareEmulator(
            self.clock, currency=currency, locations={"LSTORE00001AA": "Main Street"}
        )

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed_item(item.channel_sku, item.price, item.quantity)
