"""``ConnectorHarness`` over the emulator, for the conformance kit and the connector's own tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from omnisync.clock import VirtualClock
from omnisync.testing.harness import Fault, SeedItem

from .connector import InstagramConnector
from .emulator import InstagramEmulator
from .settings import DEFAULT_BATCH


class InstagramHarness:
    connector_class = InstagramConnector
    orders_page_size = 5
    conformance_batch_size = DEFAULT_BATCH

    def __init__(self, clock: VirtualClock | None = None, **emulator_options: Any) -> None:
        self.clock = clock or VirtualClock()
        emulator_options.setdefault("page_size", self.orders_page_size)
        self.emulator = InstagramEmulator(self.clock, **emulator_options)

    def settings(self) -> Mapping[str, Any]:
        return {
            "access_token": self.emulator.access_token,
            "catalog_id": self.emulator.catalog_id,
            "commerce_merchant_settings_id": self.emulator.cms_id,
            "currency": self.emulator.currency,
            "orders_page_size": self.orders_page_size,
            "batch_poll_interval_s": 2.0,
        }

    def transport(self) -> httpx.AsyncBaseTransport:
        return self.emulator.transport()

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed_item(item.channel_sku, item.quantity, item.price)

    def channel_quantity(self, channel_sku: str) -> int | None:
        return self.emulator.quantity(channel_sku)

    def channel_price(self, channel_sku: str) -> Decimal | None:
        item = self.emulator.item(channel_sku)
        if item is None:
            return None
        return item.sale_price if item.sale_price is not None else item.price

    def place_order(self, channel_sku: str, quantity: int) -> str:
        return self.emulator.place_order(channel_sku, quantity)

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        self.emulator.fail_next(fault, times)

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        return None  # the connector declares no WEBHOOKS capability
