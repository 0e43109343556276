"""A corpus of connectors seeded with one classic bug each, over the fake channel.

Each mutant is the fake connector with one method changed; the kit's own tests prove each check of
the conformance suite fails on the mutant that carries its bug (and passes on the fake itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import httpx

from omnisync.sdk import (
    Capability,
    ChannelListing,
    ConfigurationError,
    HttpOptions,
    InventoryRef,
    InventoryUpdate,
    ItemResult,
    ItemStatus,
    Limits,
    ListingContent,
    ListingRef,
    ListingResult,
    Order,
    OrderCursor,
    OrderPage,
    OrderStatus,
    PriceUpdate,
    RetryableError,
    RetryAdvice,
    WebhookEvent,
    WebhookKind,
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


class ReturnsCountedTwice(FakeConnector):
    """Reports a restocked unit also as damaged (a refund and a disposition of the same unit)."""

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        twice = lambda o: replace(o, lines=tuple(replace(ln, damaged=ln.restocked) for ln in o.lines))  # noqa: E731
        return _pulled(await super().pull_orders(cursor), twice)


# -- the older checks: metadata, capabilities, discovery, pushes, reads, pages, webhooks -------------


class DeclaresNothing(FakeConnector):
    """Forgets to declare its capabilities."""

    capabilities = frozenset()


class PullsUndeclared(FakeConnector):
    """Pulls orders without declaring PULL_ORDERS (the engine would never ask, or ask wrongly)."""

    capabilities = FakeConnector.capabilities - {Capability.PULL_ORDERS, Capability.ORDERED_PULL}


class InventsListings(FakeConnector):
    """Answers a listing for every SKU asked, found or not."""

    async def read_listings(self, channel_skus: Sequence[str]) -> list[ChannelListing]:
        found = {li.channel_sku: li for li in await super().read_listings(channel_skus)}
        return [found.get(s, ChannelListing(s, {"id": s}, 0, None)) for s in channel_skus]


class DropsTheLastItem(FakeConnector):
    """An off-by-one in its batching: the last item of every push is never sent nor answered."""

    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        return await super().push_inventory(updates[:-1])


class RejectedReadsAccepted(FakeConnector):
    """Reports ACCEPTED for an item the channel rejected."""

    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        want = {u.sku: u.quantity for u in updates}
        results = await super().push_inventory(updates)
        return [
            ItemResult.accepted(r.sku, want[r.sku]) if r.status is ItemStatus.REJECTED else r for r in results
        ]


class ConcurrentFake(FakeConnector):
    """The fake, declaring two pushes in flight (the control for the in-flight check)."""

    limits = Limits(
        **{
            **{name: getattr(FakeConnector.limits, name) for name in FakeConnector.limits.__slots__},
            "push_inventory": replace(FakeConnector.limits.push_inventory, in_flight=2),
        }
    )


class SharesOneBatchBuffer(ConcurrentFake):
    """Keeps the batch being pushed on the instance: two pushes in flight send the later one twice."""

    _batch: Sequence[InventoryUpdate] = ()

    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        self._batch = updates
        await asyncio.sleep(0)
        return await super().push_inventory(self._batch)


class PushesDeltas(FakeConnector):
    """Pushes the change (target - previous) onto what the channel shows now, not the absolute target."""

    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        now = {
            li.channel_sku: li.quantity or 0
            for li in await self.read_listings([u.channel_sku for u in updates])
        }
        blind = [
            replace(u, quantity=now.get(u.channel_sku, 0) + u.quantity - (u.previous or 0), previous=None)
            for u in updates
        ]
        return await super().push_inventory(blind)


class IgnoresCompare(FakeConnector):
    """Declares compare-and-set but never sends the compare value."""

    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        return await super().push_inventory([replace(u, previous=None) for u in updates])


class StaleReadsAccepted(FakeConnector):
    """Reads the channel's stale answer as a success."""

    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        results = await super().push_inventory(updates)
        return [ItemResult.accepted(r.sku, r.value) if r.status is ItemStatus.STALE else r for r in results]


class PricesInCents(FakeConnector):
    """Sends prices in minor units to an API that takes major units."""

    async def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        return await super().push_prices([replace(u, price=u.price * 100) for u in updates])


class ZeroReadsAsMissing(FakeConnector):
    """Treats a quantity of 0 as 'no such item' (``quantity or None``)."""

    async def read_inventory(self, refs: Sequence[InventoryRef]) -> dict[str, int | None]:
        return {sku: quantity or None for sku, quantity in (await super().read_inventory(refs)).items()}


class StopsAfterPageOne(FakeConnector):
    """Never passes on the next page token."""

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        return OrderPage((await super().pull_orders(cursor)).orders, None)


class NewestFirst(FakeConnector):
    """Declares ORDERED_PULL but hands each page newest first."""

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        page = await super().pull_orders(cursor)
        return OrderPage(list(reversed(page.orders)), page.next_page_token)


class TrustsAnySignature(FakeConnector):
    """Parses a webhook without checking its signature."""

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, url: str | None = None
    ) -> list[WebhookEvent]:
        return [WebhookEvent(str(len(body)), WebhookKind.ORDER, "orders/updated")]


class UnpublishIsANoOp(FakeConnector):
    """Answers ACCEPTED for an unpublish without telling the channel."""

    async def unpublish_listings(self, listings: Sequence[ListingRef]) -> list[ListingResult]:
        return [ListingResult.accepted(r.key, r.ids) for r in listings]


class RefusalReadsAccepted(FakeConnector):
    """Reads every listing answer as an acceptance, the channel's refusal included."""

    async def upsert_listings(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        results = await super().upsert_listings(listings)
        return [ListingResult.accepted(r.key, r.ids, r.variant_ids) for r in results]


def harness_for(mutant: type[FakeConnector]) -> FakeHarness:
    harness = FakeHarness()
    harness.connector_class = mutant
    return harness
