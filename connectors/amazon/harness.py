"""ConnectorHarness over the Amazon emulator, for the conformance kit and the connector's own tests."""

from __future__ import annotations

from collections.abc import Sequence

from omnisync.clock import VirtualClock
from omnisync.testing.harness import EmulatorHarness, SeedItem

from .connector import AmazonConnector
from .emulator import AmazonEmulator


class AmazonHarness(EmulatorHarness):
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
            marketplace_id="A1PA6795UKMFR9",
            currency="EUR",
            s3_base="https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com",
        )

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed_listing(item.channel_sku, item.quantity, item.price)

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        """Amazon notifies through SQS/EventBridge, not signed webhooks: polling only."""
        return None
