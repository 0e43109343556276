"""The one seam where rate limiting and retries happen: a wrapping httpx transport.

Retries only what is temporary: 5xx, 429, timeouts, connection errors, and answers the connector
classifies as throttled (GraphQL ``THROTTLED`` inside a 200, Meta's error 80014 inside a 400, for
instance). Other 400/401/403 answers are never retried. Waits honour ``Retry-After`` and the
connector's advice, on the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from omnisync.clock import Clock
from omnisync.logging import redact_url
from omnisync.sdk.connector import RetryAdvice
from omnisync.sdk.errors import RetryableError
from omnisync.sdk.helpers import parse_retry_after

from .budget import DEFAULT_OPERATION, RateBudgets
from .stats import CallStats

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 60.0
CONNECT_ATTEMPTS = 2
"""Attempts at a host that takes no connection (refused, unknown, silent): nobody answers there, so
a one-shot command fails in a second instead of a minute; the daemon's schedule tries again later."""


class _TryAgain(Exception):
    def __init__(
        self,
        delay: float | None,
        response: httpx.Response | None,
        reason: str,
        *,
        closed: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.delay = delay
        self.response = response
        self.reason = reason
        self.closed = closed
        self.unreachable = unreachable
        """No connection could be made: tried only CONNECT_ATTEMPTS times."""
        """The connection was closed under the call (most often an idle one the server dropped)."""


class ChannelTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        channel: str,
        clock: Clock,
        budgets: RateBudgets,
        stats: CallStats,
        classify: Callable[[httpx.Response], RetryAdvice | None],
        max_attempts: int = 5,
    ) -> None:
        self._inner = inner
        self._channel = channel
        self._clock = clock
        self._budgets = budgets
        self._stats = stats
        self._classify = classify
        self._max_attempts = max(1, max_attempts)
        self._log = structlog.get_logger("omnisync.http").bind(channel=channel)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        advised = exc.delay if isinstance(exc, _TryAgain) else None
        if isinstance(exc, _TryAgain) and exc.closed and state.attempt_number == 1:
            return 0.0  # a pooled connection gone idle: at once, on a new one; closed again: back off
        backoff = min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** (state.attempt_number - 1)))
        return advised if advised is not None else backoff

    def _stop(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        unreachable = isinstance(exc, _TryAgain) and exc.unreachable
        return state.attempt_number >= (CONNECT_ATTEMPTS if unreachable else self._max_attempts)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = str(request.extensions.get("omnisync.operation", DEFAULT_OPERATION))
        deferrable = bool(request.extensions.get("omnisync.deferrable", False))
        last: httpx.Response | None = None
        retrying = AsyncRetrying(
            stop=self._stop,
            retry=retry_if_exception_type(_TryAgain),
            wait=self._wait,
            sleep=self._clock.sleep,
            before_sleep=lambda s: self._before_sleep(s, operation, request),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    last = await self._attempt(request, operation, deferrable)
                    return last
        except _TryAgain as exc:
            self._stats.failures[operation] += 1
            if exc.response is not None:
                return exc.response
            tries = CONNECT_ATTEMPTS if exc.unreachable else self._max_attempts
            raise RetryableError(
                f"{operation}: gave up after {tries} attempts ({exc.reason})",
                channel=self._channel,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, request: httpx.Request, operation: str, deferrable: bool) -> httpx.Response:
        self._stats.waited_s += await self._budgets.acquire(operation, deferrable=deferrable)
        self._stats.calls[operation] += 1
        try:
            response = await self._inner.handle_async_request(request)
        except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
            # Most often a pooled connection the server closed as it went idle (both sides expire
            # idle connections after a few seconds, so a call made at that moment races the close):
            # the first retry goes at once on a new connection.
            raise _TryAgain(None, None, type(exc).__name__, closed=True) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            where = f"{request.url.host}:{request.url.port or request.url.scheme}"
            raise _TryAgain(
                None, None, f"cannot connect to {where}: {type(exc).__name__}", unreachable=True
            ) from None
        except (httpx.TimeoutException, httpx.NetworkError) as exc:
            raise _TryAgain(None, None, type(exc).__name__) from None
        response.request = request  # so that classify() can tell which call was answered
        await response.aread()
        # Every answer is offered to the connector: some channels throttle with a 400/403 error body
        # (Meta's error 80014). The default classify returns None, so nothing else changes.
        advice = self._classify(response)
        if response.status_code == 429 or (advice is not None and advice.throttled):
            self._stats.throttled[operation] += 1
            delay = advice.delay if advice is not None and advice.delay is not None else None
            if delay is None:
                delay = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
            if delay is not None:
                self._budgets.pause(operation, delay)
            raise _TryAgain(delay, response, f"throttled HTTP {response.status_code}")
        if response.status_code in RETRY_STATUSES:
            raise _TryAgain(
                parse_retry_after(response.headers.get("retry-after"), self._clock.now()),
                response,
                f"HTTP {response.status_code}",
            )
        return response

    def _before_sleep(self, state: RetryCallState, operation: str, request: httpx.Request) -> None:
        self._stats.retries[operation] += 1
        exc = state.outcome.exception() if state.outcome else None
        self._log.info(
            "http.retry",
            operation=operation,
            method=request.method,
            url=redact_url(str(request.url)),
            attempt=state.attempt_number,
            reason=getattr(exc, "reason", str(exc)),
            wait_s=round(self._wait(state), 3),
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
