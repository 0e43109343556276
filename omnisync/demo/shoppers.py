"""The demo's catalogue and ledger seed, and its shoppers: orders placed on the emulators, webhooks
posted to the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from omnisync.engine.runtime import Engine

from .channels import CURRENCY, DemoChannel
from .script import Arrival


@dataclass
class Catalogue:
    items: list[tuple[str, Decimal, int, int]]
    """(sku, price, units at WH, units at STORE)."""


def make_catalogue(rng: random.Random, skus: int) -> Catalogue:
    items = []
    for n in range(1, skus + 1):
        price = Decimal(rng.randint(5, 80)) + Decimal("0.99")
        items.append((f"SKU-{n:04d}", price, rng.randint(0, 12), rng.randint(0, 6)))
    return Catalogue(items)


def seed_ledger(engine: Engine, catalogue: Catalogue) -> None:
    engine.migrate_and_seed()
    now = engine.clock.now()
    with engine.ledger.tx() as tx:
        for sku, price, wh, store in catalogue.items:
            tx.upsert_product(sku, title=f"Demo item {sku}", price=price, currency=CURRENCY)
            if wh:
                tx.record_movement(sku, "WH", "receipt", wh, f"demo-seed:{sku}:WH", at=now, actor="demo")
            if store:
                tx.record_movement(
                    sku, "STORE", "receipt", store, f"demo-seed:{sku}:STORE", at=now, actor="demo"
                )


# -- the shoppers ---------------------------------------------------------------------------------------
Hook = tuple[str, dict[str, str], bytes]
"""A webhook a shopper's order sends the daemon: channel name, headers, body."""


def place_wave(channels: Mapping[str, DemoChannel], wave: Sequence[Arrival]) -> list[Hook]:
    """Each shopper of the wave looks at what their channel shows and buys (or leaves: sold out).
    Synchronous on the emulators' own state: no push lands between two shoppers of a wave."""
    hooks: list[Hook] = []
    for arrival in wave:
        ch = channels[arrival.channel]
        units = arrival.units(ch.quantity(arrival.sku) or 0)
        if not units:
            ch.sold_out += 1
            continue
        try:
            order_id = ch.buy(arrival.sku, units)
        except Exception:  # the platform refused the sale
            ch.refused += 1
            continue
        ch.placed.append(order_id)
        hook = ch.webhook(order_id)
        if hook is not None:
            hooks.append((ch.name, *hook))
    return hooks


async def post_hooks(client: httpx.AsyncClient, hooks: Sequence[Hook]) -> None:
    """Deliver the wave's webhooks to the daemon (a failed delivery is the platform's retry's loss:
    the daemon's pull finds the order anyway)."""
    posts = (client.post(f"/webhooks/{name}", content=body, headers=headers) for name, headers, body in hooks)
    await asyncio.gather(*posts, return_exceptions=True)


def square_webhooks(ch: DemoChannel, pending: set[asyncio.Task[Any]]) -> None:
    """Square's emulator notifies on every order change: deliver those to the daemon."""
    client = httpx.AsyncClient(timeout=5.0)

    def deliver(headers: dict[str, str], body: bytes, url: str) -> None:
        async def post() -> None:
            with contextlib.suppress(httpx.HTTPError):
                await client.post(url, content=body, headers=headers)

        task = asyncio.get_running_loop().create_task(post())
        pending.add(task)
        task.add_done_callback(pending.discard)

    ch.double.notify(lambda hook: deliver(hook[0], hook[1], hook[2] or ""))
    ch.emulator.demo_client = client
