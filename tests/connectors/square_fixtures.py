"""Shared helpers for the Square connector tests (not a test module)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from omnisync_connectors.square import SquareConnector
from omnisync_connectors.square.emulator import SquareEmulator

from omnisync.clock import VirtualClock
from omnisync.sdk import InventoryUpdate, PriceUpdate, idempotency_key
from omnisync.sdk.runtime import instantiate

CHANNEL = "pos"


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    request: dict[str, Any] | None
    status: int
    response: dict[str, Any] | None


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """Wraps a transport and keeps every request and answer, for assertions and spec validation."""

    inner: httpx.AsyncBaseTransport
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        raw = await response.aread()
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                dict(request.headers),
                json.loads(request.content) if request.content else None,
                response.status_code,
                json.loads(raw) if raw else None,
            )
        )
        return httpx.Response(response.status_code, headers=response.headers, content=raw, request=request)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [e.request or {} for e in self.exchanges if e.path == path]


@dataclass
class Rig:
    clock: VirtualClock
    emulator: SquareEmulator
    connector: SquareConnector
    recorder: Recorder

    async def ids(self, *skus: str) -> dict[str, dict[str, str]]:
        return {li.channel_sku: dict(li.ids) for li in await self.connector.read_listings(list(skus))}


def rig(*, settings: dict[str, Any] | None = None, **emulator_args: Any) -> Rig:
    clock = VirtualClock()
    emulator = SquareEmulator(clock, **emulator_args)
    recorder = Recorder(emulator.transport())
    connector = instantiate(
        SquareConnector,
        emulator.settings(**(settings or {})),
        channel=CHANNEL,
        clock=clock,
        transport=recorder,
    )
    assert isinstance(connector, SquareConnector)
    return Rig(clock, emulator, connector, recorder)


def update(
    sku: str,
    quantity: int,
    previous: int | None,
    ids: dict[str, str],
    *,
    version: int = 1,
    location: str = "STORE1",
) -> InventoryUpdate:
    return InventoryUpdate(
        sku=f"M-{sku}",
        channel_sku=sku,
        quantity=quantity,
        previous=previous,
        version=version,
        idempotency_key=idempotency_key(CHANNEL, f"M-{sku}", version),
        ids=ids,
        location=location,
    )


def price(
    sku: str, amount: str, ids: dict[str, str], *, currency: str = "USD", version: int = 1
) -> PriceUpdate:
    return PriceUpdate(
        sku=f"M-{sku}",
        channel_sku=sku,
        price=Decimal(amount),
        currency=currency,
        version=version,
        idempotency_key=idempotency_key(CHANNEL, f"M-{sku}", version, kind="price"),
        ids=ids,
    )
