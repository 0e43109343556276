"""Small tools connector authors need again and again."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from .errors import (
    ConnectorError,
    CredentialsError,
    FatalError,
    ItemError,
    ProtocolError,
    RetryableError,
    ThrottledError,
)

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    if size < 1:
        raise ValueError("chunk size must be >= 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def in_flight(calls: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Await ``calls`` with at most ``limit`` of them in flight at once; their results in order, the
    first failure raised once all have ended.

    For a platform whose budget allows more calls than one connection's round trips can carry: the
    calls wait for the rate budget as usual (the budget, not ``limit``, sets the pace), and the round
    trip of one overlaps the others'. Calls start in order, so earlier items are sent first."""
    if limit < 1:
        raise ValueError("at least one call must be allowed in flight")
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    outcomes = await asyncio.gather(*(one(c) for c in calls), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes  # type: ignore[return-value]


def idempotency_key(
    channel: str, sku: str, version: int, kind: str = "inventory", after: datetime | None = None
) -> str:
    """Stable key for (channel, SKU, ledger version) and ``after``, when the channel last acknowledged
    the pair: a retry of the same push is a no-op, and a push made after another was acknowledged is
    new even at the same version (a target can leave a number and come back to it while the stock
    stays put: the adaptive policy's buffers move with time)."""
    since = "" if after is None else f"\x1f{after.isoformat()}"
    digest = hashlib.sha256(f"{kind}\x1f{channel}\x1f{sku}\x1f{version}{since}".encode()).hexdigest()
    return f"omnisync-{kind[:3]}-{digest[:40]}"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# Status -> what the caller should do, as data (one table, not scattered if-chains).
_STATUS_ACTIONS: dict[int, type[ConnectorError]] = {
    400: ItemError,
    404: ItemError,
    409: ItemError,
    422: ItemError,
    429: ThrottledError,
}
_CREDENTIALS = frozenset({401, 403})


def error_for_status(response: httpx.Response, channel: str, what: str = "request") -> Exception:
    """The exception for a non-success answer, without the URL's query or any secret."""
    status = response.status_code
    message = f"{what} answered HTTP {status}"
    cls: type[ConnectorError] | None = _STATUS_ACTIONS.get(status)
    if status in _CREDENTIALS:
        return CredentialsError(f"{message}: check the channel's credentials and scopes", channel=channel)
    if cls is ThrottledError:
        return ThrottledError(
            message, channel=channel, retry_after=parse_retry_after(response.headers.get("retry-after"))
        )
    if status >= 500:
        return RetryableError(message, channel=channel)
    if cls is not None and issubclass(cls, ConnectorError):
        return cls(message, channel=channel)
    return FatalError(message, channel=channel)


def raise_for_status(response: httpx.Response, channel: str, what: str = "request") -> None:
    if response.is_success:
        return
    raise error_for_status(response, channel, what)


def json_body(response: httpx.Response, channel: str, what: str = "answer") -> object:
    """Parse a JSON answer or raise ProtocolError (never a bare ValueError)."""
    try:
        return response.json()
    except ValueError as exc:
        raise ProtocolError(
            f"{what} is not valid JSON (HTTP {response.status_code})", channel=channel
        ) from exc


async def paginate(
    fetch: Callable[[str | None], Awaitable[tuple[list[T], str | None]]],
    *,
    max_pages: int = 100_000,
    channel: str | None = None,
) -> AsyncIterator[list[T]]:
    """Follow page tokens until the channel says there are no more.

    Detects loops (a token seen twice) and runaway pagination instead of spinning forever.
    """
    seen: set[str] = set()
    token: str | None = None
    for _ in range(max_pages):
        items, token = await fetch(token)
        yield items
        if token is None:
            return
        if token in seen:
            raise ProtocolError("pagination returned a page token twice", channel=channel)
        seen.add(token)
    raise ProtocolError(f"pagination did not end within {max_pages} pages", channel=channel)
