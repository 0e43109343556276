"""Injected time. Production uses :class:`SystemClock`; tests and simulations use :class:`VirtualClock`,
which never sleeps for real, so a trading day runs in seconds and every backoff is testable."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall-clock time."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for rate budgets and durations."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """Discrete-event time. ``sleep`` parks the caller until virtual time reaches its deadline.

    Time advances only when every sleeper that is due later is the earliest pending one: the
    clock jumps to the earliest deadline once the event loop has nothing else ready to run
    (checked by yielding to the loop a few times). A lone task therefore sleeps in zero real time,
    and several concurrent tasks wake in deadline order, as they would in real time.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (synchronous tests), waking every sleeper that is due."""
        self._elapsed += max(0.0, seconds)
        self._wake_due()

    def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._elapsed + 1e-12:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        # at least the next representable instant: a delay below float resolution must still move time
        deadline = max(self._elapsed + seconds, math.nextafter(self._elapsed, math.inf))
        heapq.heappush(self._sleepers, (deadline, next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await fut

    async def _drive(self) -> None:
        # Let every runnable task reach its next await before time jumps.
        while self._sleepers:
            for _ in range(20):
                await asyncio.sleep(0)
            if not self._sleepers:
                return
            deadline = self._sleepers[0][0]
            if deadline > self._elapsed:
                self._elapsed = deadline
            self._wake_due()
