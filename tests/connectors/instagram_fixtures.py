"""Shared helpers for the Instagram connector tests (imported by the test_instagram_* modules)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
from omnisync_connectors.instagram import InstagramConnector
from omnisync_connectors.instagram.harness import InstagramHarness

from omnisync.sdk import InventoryUpdate, PriceUpdate, idempotency_key
from omnisync.sdk.runtime import instantiate

CHANNEL = "instagram"


class Recorder(httpx.AsyncBaseTransport):
    """Wraps a transport and keeps every request that went through it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def paths(self, suffix: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(suffix)]


def connector(
    harness: InstagramHarness, transport: httpx.AsyncBaseTransport | None = None, **overrides: Any
) -> InstagramConnector:
    settings: dict[str, Any] = {**harness.settings(), **overrides}
    conn = instantiate(
        InstagramConnector,
        settings,
        channel=CHANNEL,
        clock=harness.clock,
        transport=transport or harness.transport(),
    )
    assert isinstance(conn, InstagramConnector)
    return conn


def inv(
    channel_sku: str, quantity: int, available: bool | None = None, sku: str | None = None
) -> InventoryUpdate:
    master = sku or f"M-{channel_sku}"
    return InventoryUpdate(
        sku=master,
        channel_sku=channel_sku,
        quantity=quantity,
        previous=None,
        version=1,
        idempotency_key=idempotency_key(CHANNEL, master, 1),
        available=available,
    )


def price(channel_sku: str, amount: str, currency: str = "USD", compare_at: str | None = None) -> PriceUpdate:
    return PriceUpdate(
        sku=f"M-{channel_sku}",
        channel_sku=channel_sku,
        price=Decimal(amount),
        currency=currency,
        version=1,
        idempotency_key=idempotency_key(CHANNEL, channel_sku, 1, kind="price"),
        compare_at=Decimal(compare_at) if compare_at else None,
    )


def by_sku(results: list[Any]) -> Mapping[str, Any]:
    return {r.sku: r for r in results}
