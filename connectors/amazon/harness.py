"""The Amazon emulator double: the conformance kit's harness, and the marketplace the demo, the
simulation and the benchmarks buy from, ship and cancel on (``omnisync.emulators`` entry point)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from omnisync.clock import VirtualClock
from omnisync.testing.harness import EmulatorHarness, SeedItem, Webhook

from .connector import AmazonConnector
from .emulator import TOKEN_PATH, AmazonEmulator


class AmazonHarness(EmulatorHarness):
    connector_class = AmazonConnector
    orders_page_size = 10
    conformance_batch_size = 400
    """Above the default feed threshold (300), so the kit's full batch exercises the feed path."""
    conformance_listing_category = "PRODUCT"
    """The product type the kit's listing uses (one the emulator defines)."""

    def listing(self, key: str) -> dict[str, Any] | None:
        """A variation family as a shopper finds it: the parent's name, buyable while every child has
        an offer (a listing without options is its own one child)."""
        parent = self.emulator.listing_content(key)
        if parent is None:
            return None

        def child(attributes: dict[str, Any]) -> bool:
            links = attributes.get("child_parent_sku_relationship") or []
            return any(r.get("parent_sku") == key for r in links)

        children = [li for li in self.emulator.listings.values() if child(li.attributes)] or [parent]
        return {
            "title": parent.item_name,
            "published": all(c.price is not None for c in children),
            "variants": sorted(c.sku for c in children),
            "attributes": dict(parent.attributes),
        }

    NOTIFICATION_QUEUE = "arn:aws:sqs:us-east-1:000000000000:omnisync-amazon"
    """The queue the simulation's notifications name (delivered in process, with its faults)."""

    def __init__(
        self,
        clock: VirtualClock | None = None,
        *,
        sources: Sequence[str] = (),
        notifications: bool = False,
        **emulator_options: Any,
    ) -> None:
        self.clock = clock or VirtualClock()
        self.notifications = notifications
        """The connector subscribes to Amazon's notifications; :meth:`notify` hands them over."""
        # A European seller (Amazon.de, EUR): the kit pushes prices in EUR.
        options: dict[str, Any] = {
            "region": "eu",
            "marketplace_id": "A1PA6795UKMFR9",
            "currency": "EUR",
            "s3_base": "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com",
            **emulator_options,
        }
        self.emulator = AmazonEmulator(self.clock, **options)

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed_listing(item.channel_sku, item.quantity, item.price)

    def endpoint_settings(self, endpoint: str | None = None) -> dict[str, Any]:
        urls = {} if endpoint is None else {"endpoint": endpoint, "token_url": endpoint + TOKEN_PATH}
        settings: dict[str, Any] = self.emulator.settings(**urls)
        if self.notifications:
            settings["notifications"] = {"queue_arn": self.NOTIFICATION_QUEUE}
        return settings

    def notify(self, deliver: Callable[[Webhook], None]) -> None:
        """The notifications Amazon would put on the queue, handed to ``deliver`` as they are sent
        (body only: a queue's messages carry no signature)."""
        if self.notifications:
            self.emulator.attach_queue(
                self.NOTIFICATION_QUEUE, lambda body: deliver(({}, body.encode(), None))
            )

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        """Amazon notifies through SQS/EventBridge, not signed webhooks: polling only."""
        return None

    def fulfil(self, order_id: str) -> bool:
        if self.emulator.orders[order_id].status not in ("Unshipped", "Pending"):
            return False
        self.emulator.ship_order(order_id)
        return True

    def cancel(self, order_id: str) -> bool:
        if self.emulator.orders[order_id].status == "Canceled":
            return False  # the emulator would put the units back a second time
        try:
            self.emulator.cancel_order(order_id)
        except ValueError:
            return False
        return True
