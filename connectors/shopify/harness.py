"""The conformance-kit harness for the Shopify connector, over ``ShopifyEmulator``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from omnisync.clock import VirtualClock
from omnisync.testing.harness import Fault, SeedItem

from .connector import ShopifyConnector
from .emulator import ShopifyEmulator


class ShopifyHarness:
    connector_class = ShopifyConnector
    orders_page_size = 3
    conformance_batch_size = 250

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.emulator = ShopifyEmulator(self.clock)

    def settings(self) -> Mapping[str, Any]:
        return self.emulator.settings(orders_page_size=self.orders_page_size)

    def transport(self) -> httpx.AsyncBaseTransport:
        return self.emulator.transport()

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed(item.channel_sku, item.quantity, item.price)

    def channel_quantity(self, channel_sku: str) -> int | None:
        return self.emulator.quantity(channel_sku)

    def channel_price(self, channel_sku: str) -> Decimal | None:
        return self.emulator.price(channel_sku)

    def place_order(self, channel_sku: str, quantity: int) -> str:
        return self.emulator.place_order(channel_sku, quantity)

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        self.emulator.fail_next(fault, times)

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        return self.emulator.signed_webhook(order_id)
