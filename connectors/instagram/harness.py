"""``ConnectorHarness`` over the emulator, for the conformance kit and the connector's own tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from omnisync.clock import VirtualClock
from omnisync.testing.harness import EmulatorHarness, SeedItem

from .connector import InstagramConnector
from .emulator import InstagramEmulator
from .settings import DEFAULT_BATCH


class InstagramHarness(EmulatorHarness):
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

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed_item(item.channel_sku, item.quantity, item.price)

    def channel_price(self, channel_sku: str) -> Decimal | None:
        item = self.emulator.item(channel_sku)
        if item is None:
            return None
        price: Decimal | None = item.sale_price if item.sale_price is not None else item.price
        return price

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        return None  # the connector declares no WEBHOOKS capability
