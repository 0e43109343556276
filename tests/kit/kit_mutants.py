"""A corpus of connectors seeded with one classic bug each, over the fake channel.

Each mutant is the fake connector with one method changed; the kit's own tests prove each check of
the conformance suite fails on the mutant that carries its bug (and passes on the fake itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import httpx

from omnisync.sdk import (
    ConfigurationError,
    HttpOptions,
    InventoryUpdate,
    ItemResult,
    Order,
    OrderCursor,
    OrderPage,
    OrderStatus,
    RetryableError,
    RetryAdvice,
)
from omnisync.testing.fake import FakeConnector, FakeHarness


class RetriesAfter401(FakeConnector):
    """Retries a refused credential itself."""

    async def read_listings(self, channel_skus: Sequence[str]) -> Any:
        try:
            return await super().read_listings(channel_skus)
        except ConfigurationError:
            return await super().read_listings(channel_skus)


class PushesTwice(FakeConnector):
    """Sends the same batch twice (a misplaced retry loop)."""

    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        await super().push_inventory(updates)
        return await super().push_inventory(updates)


class ZeroDelayThrottle(FakeConnector):
    """Classifies a throttle with zero delay, ignoring the Retry-After the channel sent."""

    @classmethod
    def classify(cls, response: httpx.Response) -> RetryAdvice | None:
        return RetryAdvice(throttled=True, delay=0.0) if response.status_code == 429 else None


class NoBackoffOn5xx(FakeConnector):
    """Retries a 5xx at once."""

    @classmethod
    def classify(cls, response: httpx.Response) -> RetryAdvice | None:
        return RetryAdvice(throttled=True, delay=0.0) if response.status_code >= 500 else None


class NeverRetriesTimeouts(FakeConnector):
    """Gives every call one attempt only."""

    @classmethod
    def http_options(cls, settings: Any) -> HttpOptions:
        options = FakeConnector.http_options(settings)
        return HttpOptions(options.base_url, options.headers, options.secrets, max_attempts=1)


class SwallowsTimeouts(FakeConnector):
    """Reports ACCEPTED when the channel never answered."""

    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        try:
            return await super().push_inventory(updates)
        except RetryableError:
            return [ItemResult.accepted(u.sku, u.quantity) for u in updates]


class BrokenPrepare(FakeConnector):
    """A start-up check that fails against a healthy channel."""

    async def prepare(self) -> None:
        raise ConfigurationError("location 'main' not found", channel=self.context.channel)


def _pulled(page: OrderPage, change: Callable[[Order], Order | None]) -> OrderPage:
    orders = [changed for o in page.orders if (changed := change(o)) is not None]
    return OrderPage(orders, page.next_page_token)


class DropsUnknownSkus(FakeConnector):
    """Drops order lines of SKUs it does not recognise."""

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        keep = lambda o: replace(o, lines=tuple(ln for ln in o.lines if "NOT-IN" not in ln.channel_sku))  # noqa: E731
        return _pulled(await super().pull_orders(cursor), keep)


class DoublesQuantities(FakeConnector):
    """Reads a line's quantity twice over."""

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        double = lambda o: replace(o, lines=tuple(replace(ln, quantity=2 * ln.quantity) for ln in o.lines))  # noqa: E731
        return _pulled(await super().pull_orders(cursor), double)


class CancelledReadsOpen(FakeConnector):
    """Maps the channel's cancelled status to open."""

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        reopen = lambda o: replace(o, status=OrderStatus.OPEN) if o.status is OrderStatus.CANCELLED else o  # noqa: E731
        return _pulled(await super().pull_orders(cursor), reopen)


class IgnoresUpdatedAfter(FakeConnector):
    """Never sends ``updated_after``."""

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        return await super().pull_orders(OrderCursor(None, cursor.page_token))


class RestockedNotCumulative(FakeConnector):
    """Reports restocked units as zero (only the latest change, already consumed)."""

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        forget = lambda o: replace(o, lines=tuple(replace(ln, restocked=0) for ln in o.lines))  # noqa: E731
        return _pulled(await super().pull_orders(cursor), forget)


def harness_for(mutant: type[FakeConnector]) -> FakeHarness:
    harness = FakeHarness()
    harness.connector_class = mutant
    return harness
