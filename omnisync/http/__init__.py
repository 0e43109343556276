"""The httpx client every connector receives: rate budgets, retries, redaction, counters."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from omnisync.clock import Clock
from omnisync.logging import register_secret
from omnisync.sdk.connector import HttpOptions, RetryAdvice
from omnisync.sdk.models import Limits

from .budget import RateBudgets, TokenBucket
from .stats import CallStats
from .transport import ChannelTransport


def build_client(
    options: HttpOptions,
    *,
    channel: str,
    clock: Clock,
    budgets: RateBudgets,
    stats: CallStats,
    classify: Callable[[httpx.Response], RetryAdvice | None] = lambda _r: None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Build the client for one channel. ``transport`` swaps the network for an emulator."""
    for secret in options.secrets:
        register_secret(secret)
    inner = transport or httpx.AsyncHTTPTransport()
    wrapped = ChannelTransport(
        inner,
        channel=channel,
        clock=clock,
        budgets=budgets,
        stats=stats,
        classify=classify,
        max_attempts=options.max_attempts,
    )
    return httpx.AsyncClient(
        base_url=options.base_url,
        headers=dict(options.headers),
        timeout=options.timeout,
        transport=wrapped,
        follow_redirects=False,
    )


__all__ = ["CallStats", "ChannelTransport", "Limits", "RateBudgets", "TokenBucket", "build_client"]
