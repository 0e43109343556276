"""The demo's catalogue and ledger seed, and its shoppers: orders placed on the emulators, webhooks
posted to the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from omnisync.engine.runtime import Engine

from .channels import CURRENCY, DemoChannel


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
                tx.record_movement(sku, "WH", "receipt", wh, f"demo-seed:{sku}:WH", at=now)
            if store:
                tx.record_movement(sku, "STORE", "receipt", store, f"demo-seed:{sku}:STORE", at=now)


# -- the shoppers ---------------------------------------------------------------------------------------
async def shop(
    channels: list[DemoChannel],
    skus: list[str],
    rng: random.Random,
    until: float,
    daemon_url: str,
    orders_per_s: float,
) -> None:
    loop = asyncio.get_running_loop()
    weights = [ch.weight for ch in channels]
    async with httpx.AsyncClient(base_url=daemon_url, timeout=5.0) as client:
        posts: set[asyncio.Task[Any]] = set()
        while loop.time() < until:
            await asyncio.sleep(rng.expovariate(orders_per_s))
            ch = rng.choices(channels, weights)[0]
            sku = rng.choice(skus)
            shown = ch.quantity(sku) or 0
            if shown < 1:
                continue  # the shopper sees "sold out" and leaves
            qty = 1 if shown < 4 else rng.choice((1, 1, 1, 2))
            try:
                order_id = ch.buy(sku, qty)
            except Exception:  # the platform refused the sale (sold out in the meantime, ...)
                ch.refused += 1
                continue
            ch.placed.append(order_id)
            hook = ch.webhook(order_id)
            if hook is not None:
                headers, body = hook
                task = loop.create_task(client.post(f"/webhooks/{ch.name}", content=body, headers=headers))
                posts.add(task)
                task.add_done_callback(posts.discard)
        if posts:
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
