"""Per-operation rate budgets (token buckets) on the injected clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from omnisync.clock import Clock
from omnisync.sdk.errors import FatalError
from omnisync.sdk.models import Limits, OperationLimits

DEFAULT_OPERATION = "default"
EPSILON = 1e-9
"""Token arithmetic in floats leaves crumbs (0.9999999999999964): a wait below this is no wait,
otherwise a virtual clock could advance by 1e-16 s forever."""


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float
    paused_until: float = 0.0
    waiting: int = 0
    """Calls (not deferrable) waiting for this bucket: deferrable calls let them go first."""

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, now: float, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available (0 when available now)."""
        self.refill(now)
        pause = max(0.0, self.paused_until - now)
        if pause < EPSILON:
            pause = 0.0
        if self.tokens >= cost - EPSILON:
            return pause
        if self.rate <= 0:
            return max(pause, 3600.0)
        return max(pause, (cost - self.tokens) / self.rate, EPSILON * 10)


class RateBudgets:
    """One token bucket per operation, seeded from a connector's declared limits.

    Connectors correct the rates from the channel's own signals (``adjust``) and park an operation
    after a throttle answer (``pause``).
    """

    def __init__(
        self,
        limits: Limits,
        clock: Clock,
        default: OperationLimits | None = None,
        *,
        operations: Iterable[str] | None = None,
    ) -> None:
        """``operations``: the names a request may carry (``Connector.known_operations()``); any
        other name is an error instead of the default budget. None accepts every name."""
        self._limits = limits
        self._known = None if operations is None else frozenset(operations) | {DEFAULT_OPERATION}
        self._clock = clock
        self._default = default or OperationLimits(max_batch=1, rate=20.0, burst=20)
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, operation: str) -> TokenBucket:
        if operation not in self._buckets:
            if self._known is not None and operation not in self._known:
                raise FatalError(
                    f"request tagged with undeclared operation {operation!r}: use an Operation or "
                    f"list the name in the connector's 'operations'"
                )
            ol = getattr(self._limits, operation, None)
            if not isinstance(ol, OperationLimits):
                ol = self._default
            now = self._clock.monotonic()
            self._buckets[operation] = TokenBucket(ol.rate, float(ol.burst), float(ol.burst), now)
        return self._buckets[operation]

    async def acquire(
        self, operation: str = DEFAULT_OPERATION, cost: float = 1.0, *, deferrable: bool = False
    ) -> float:
        """Wait until the operation may go; returns the seconds waited (virtual on a VirtualClock).

        A ``deferrable`` call takes no token while another call of the operation waits for one.
        """
        bucket = self.bucket(operation)
        waited = await self._until_free(bucket, cost, deferrable)
        bucket.tokens = max(0.0, bucket.tokens - cost)  # no await since the wait: nobody took it
        return waited

    async def ready(self, operation: str = DEFAULT_OPERATION) -> float:
        """Wait until a call of the operation could go now, taking nothing; returns the seconds waited.

        For a caller that gathers work while it waits (a pipelined push plans after this): when the
        budget is what holds the calls back, one larger call goes instead of several small ones.
        Deferrable calls give way to it as to a call waiting in :meth:`acquire`.
        """
        return await self._until_free(self.bucket(operation), 1.0, deferrable=False)

    async def _until_free(self, bucket: TokenBucket, cost: float, deferrable: bool) -> float:
        """Sleep until ``cost`` tokens are there (and, for a deferrable call, nobody else waits)."""
        waited = 0.0
        if not deferrable:
            bucket.waiting += 1
        try:
            while True:
                delay = bucket.wait_time(self._clock.monotonic(), cost)
                if delay <= 0 and deferrable and bucket.waiting:
                    delay = max(cost / bucket.rate, EPSILON * 10) if bucket.rate > 0 else 1.0
                if delay <= 0:
                    return waited
                await self._clock.sleep(delay)
                waited += delay
        finally:
            if not deferrable:
                bucket.waiting -= 1

    def adjust(self, operation: str, *, rate: float | None = None, burst: float | None = None) -> None:
        bucket = self.bucket(operation)
        bucket.refill(self._clock.monotonic())
        if rate is not None and rate > 0:
            bucket.rate = rate
        if burst is not None and burst > 0:
            bucket.burst = burst
            bucket.tokens = min(bucket.tokens, burst)

    def pause(self, operation: str, seconds: float) -> None:
        """No call of this operation before ``seconds`` from now; the bucket is emptied."""
        bucket = self.bucket(operation)
        now = self._clock.monotonic()
        bucket.refill(now)
        bucket.tokens = 0.0
        bucket.paused_until = max(bucket.paused_until, now + seconds)

    def parked_for(self) -> float:
        """Seconds until every operation parked by a throttle answer may call again (0: none parked)."""
        now = self._clock.monotonic()
        return max([0.0, *(b.paused_until - now for b in self._buckets.values())])
