"""The Instagram (Meta catalog) emulator double: the conformance kit's harness, and the shop the demo
and the simulation buy from, ship and cancel on (``omnisync.emulators`` entry point)."""

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

    def __init__(
        self, clock: VirtualClock | None = None, *, sources: Sequence[str] = (), **emulator_options: Any
    ) -> None:
        self.clock = clock or VirtualClock()
        emulator_options.setdefault("page_size", self.orders_page_size)
        self.emulator = InstagramEmulator(self.clock, **emulator_options)

    def settings(self) -> Mapping[str, Any]:
        return {**self.endpoint_settings(), "orders_page_size": self.orders_page_size}

    def endpoint_settings(self, endpoint: str | None = None) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "access_token": self.emulator.access_token,
            "catalog_id": self.emulator.catalog_id,
            "commerce_merchant_settings_id": self.emulator.cms_id,
            "currency": self.emulator.currency,
            "batch_poll_interval_s": 2.0,
        }
        if endpoint is not None:
            settings["base_url"] = endpoint
        return settings

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed_item(item.channel_sku, item.quantity, item.price)

    def channel_price(self, channel_sku: str) -> Decimal | None:
        item = self.emulator.item(channel_sku)
        if item is None:
            return None
        price: Decimal | None = item.sale_price if item.sale_price is not None else item.price
        return price

    def shown_quantity(self, channel_sku: str) -> int | None:
        item = self.emulator.item(channel_sku)
        if item is None:
            return None
        shown = item.visibility == "published" and item.availability in ("in stock", "preorder")
        return int(item.inventory) if shown else 0

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        return None  # the connector declares no WEBHOOKS capability

    def fulfil(self, order_id: str) -> bool:
        try:
            self.emulator.ship_order(order_id)
        except ValueError:
            return False
        return True

    def cancel(self, order_id: str) -> bool:
        try:
            self.emulator.cancel_order(order_id, restock=True)
        except ValueError:
            return False
        return True
