"""The conformance-kit harness for the Shopify connector, over ``ShopifyEmulator``."""

from __future__ import annotations

from collections.abc import Sequence

from omnisync.clock import VirtualClock
from omnisync.testing.harness import EmulatorHarness, SeedItem

from .connector import ShopifyConnector
from .emulator import ShopifyEmulator


class ShopifyHarness(EmulatorHarness):
    connector_class = ShopifyConnector
    orders_page_size = 3
    conformance_batch_size = 250

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.emulator = ShopifyEmulator(self.clock)

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed(item.channel_sku, item.quantity, item.price)
