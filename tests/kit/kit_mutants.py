"""A corpus of connectors seeded with one classic bug each, over the fake channel.

Each mutant is the fake connector with one method changed; the kit's own tests prove each check of
the conformance suite fails on the mutant that carries its bug (and passes on the fake itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from omnisync.sdk import (
    ConfigurationError,
    HttpOptions,
    InventoryUpdate,
    ItemResult,
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


def harness_for(mutant: type[FakeConnector]) -> FakeHarness:
    harness = FakeHarness()
    harness.connector_class = mutant
    return harness
