"""ConnectorHarness over the Amazon emulator, for the conformance kit and the connector's own tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from omnisync.clock import VirtualClock
from omnisync.testing.harness import Fault, SeedItem

from .connector import AmazonConnector
from .emulator import AmazonEmulator


class AmazonHarness:
    connector_class = AmazonConnector
    orders_page_size = 10
    conformance_batch_size = 400
    """Above the default feed threshold (300), so the kit's full batch exercises the feed path."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        # A European seller (Amazon.de, EUR): the kit pushes prices in EUR.
        self.emulator = AmazonEmulator(
            self.clock,
            region="eu",
            marketplace_id="A1PM5H5W6DQQ",
            currency="EUR",
            s3_base="https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com",
        )

    def settings(self) -> Mapping[str, Any]:
        return self.emulator.settings(orders_page_size=self.orders_page_size)

    def transport(self) -> httpx.AsyncBaseTransport:
        return self.emulator.transport()

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed_listing(item.channel_sku, item.quantity, item.price)

    def channel_quantity(self, channel_sku: str) -> int | None:
        return self.emulator.quantity(channel_sku)

    def channel_price(self, channel_sku: str) -> Decimal | None:
        return self.emulator.price(channel_sku)

    def place_order(self, channel_sku: str, quantity: int) -> str:
        return self.emulator.place_order(channel_sku, quantity)

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        self.emulator.fail_next(fault, times)

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        """Amazon notifies through SQS/EventBridge, not signed webhooks: polling only."""
        return None
