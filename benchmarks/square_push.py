"""Square (POS) connector benchmark against its emulator, on the virtual clock.

    python benchmarks/square_push.py --items 10000 --latency 0.15 --json

Every call takes ``--latency`` seconds of network round trip (150 ms by default; virtual). Batches are
handed over as the engine does (at most ``limits.push_inventory.max_batch`` items a push).

Prints one JSON object:
  items, calls (BatchChangeInventory calls for the push; target <= items/100), retried, throttled,
  virtual_s (virtual seconds the push took within the connector's rate budget), min_possible_s (the
  fewest calls at the connector's budget for push_inventory: (calls - burst) / rate) and their ratio,
  wall_s,
  discovery_calls (SearchCatalogObjects), and floor_to_ledger_s: virtual seconds from a walk-in sale at
  the POS to the pull that imports it, (a) polling SearchOrders every --pull-interval seconds and
  (b) with webhooks, a verified order.created notification (delivered --webhook-delay seconds after
  the sale) triggering the pull at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from omnisync_connectors.square import SquareConnector
from omnisync_connectors.square.inventory import MAX_CHANGES

from omnisync.clock import VirtualClock
from omnisync.logging import configure
from omnisync.sdk import InventoryUpdate, OrderCursor, WebhookKind, idempotency_key
from omnisync.testing.doubles import build_double, connected
from omnisync.testing.harness import EmulatorDouble


def _double(clock: VirtualClock, **options: Any) -> EmulatorDouble:
    """The POS double with one store (ledger location STORE1)."""
    return build_double("square", clock, sources=["STORE1"], **options)


def _connector(double: EmulatorDouble) -> SquareConnector:
    conn = connected(double, "pos")
    assert isinstance(conn, SquareConnector)
    return conn


async def push(items: int, pressed: bool, latency: float) -> dict[str, object]:
    clock = VirtualClock()
    double = _double(clock, rate=3.0 if pressed else 10.0, burst=6 if pressed else 20, latency=latency)
    emu = double.emulator
    skus = [f"SKU-{n:06d}" for n in range(items)]
    for sku in skus:
        emu.seed_item(sku, Decimal("9.90"), 50)
    conn = _connector(double)
    size = SquareConnector.limits.read_listings.max_batch
    ids: dict[str, dict[str, str]] = {}
    for start in range(0, items, size):
        for listing in await conn.read_listings(skus[start : start + size]):
            ids[listing.channel_sku] = dict(listing.ids)
    discovery_calls = conn.context.stats.calls["read_listings"]
    updates = [
        InventoryUpdate(
            sku, sku, 50 + (n % 11) - 5 or 49, 50, 2, idempotency_key("pos", sku, 2), ids[sku], "STORE1"
        )
        for n, sku in enumerate(skus)
    ]
    batch = SquareConnector.limits.push_inventory.max_batch
    began, wall = clock.monotonic(), time.perf_counter()
    results = []
    for start in range(0, items, batch):
        results += await conn.push_inventory(updates[start : start + batch])
    stats = conn.context.stats
    virtual_s = clock.monotonic() - began
    budget = SquareConnector.limits.push_inventory
    min_possible_s = max(0.0, (math.ceil(items / MAX_CHANGES) - budget.burst) / budget.rate)
    out: dict[str, object] = {
        "items": items,
        "latency_s": latency,
        "calls": stats.calls["push_inventory"],
        "retried": stats.retries["push_inventory"],
        "throttled": stats.throttled["push_inventory"],
        "accepted": sum(r.status.value == "accepted" for r in results),
        "virtual_s": round(virtual_s, 3),
        "min_possible_s": round(min_possible_s, 3),
        "ratio": round(virtual_s / min_possible_s, 4) if min_possible_s > 0 else None,
        "wall_s": round(time.perf_counter() - wall, 3),
        "discovery_calls": discovery_calls,
        "correct": all(emu.quantity(u.channel_sku) == u.quantity for u in updates),
    }
    await conn.aclose()
    return out


async def floor_to_ledger(
    sales: int, interval: float, webhook_delay: float | None, seed: int
) -> dict[str, float]:
    """Walk-in sales at random moments; seconds until a pull returns each of them."""
    clock = VirtualClock()
    double = _double(clock)
    emu = double.emulator
    emu.seed_item("SKU-1", Decimal("5.00"), sales + 10)
    conn = _connector(double)
    rng = random.Random(seed)
    sold_at: dict[str, float] = {}
    imported_at: dict[str, float] = {}
    last_pull = clock.now() - timedelta(minutes=5)
    done = asyncio.Event()
    pending: set[asyncio.Task[None]] = set()

    async def pull() -> None:
        nonlocal last_pull
        started = clock.now()
        cursor = OrderCursor(last_pull - timedelta(seconds=30))  # the engine's overlap window
        while True:
            page = await conn.pull_orders(cursor)
            for order in page.orders:
                imported_at.setdefault(order.external_id, clock.monotonic())
            if page.next_page_token is None:
                break
            cursor = OrderCursor(cursor.updated_after, page.next_page_token)
        last_pull = started

    async def on_webhook(headers: dict[str, str], body: bytes, url: str) -> None:
        assert webhook_delay is not None
        await clock.sleep(webhook_delay)
        if any(e.kind is WebhookKind.ORDER for e in conn.parse_webhook(headers, body, url)):
            await pull()

    if webhook_delay is not None:

        def deliver(headers: dict[str, str], body: bytes, url: str) -> None:
            task = asyncio.get_running_loop().create_task(on_webhook(headers, body, url))
            pending.add(task)
            task.add_done_callback(pending.discard)

        emu.on_webhook = deliver

    async def shoppers() -> None:
        for _ in range(sales):
            await clock.sleep(rng.expovariate(1 / 45.0))
            oid = emu.place_order("SKU-1", 1)
            sold_at[oid] = clock.monotonic()
        await clock.sleep(interval + (webhook_delay or 0) + 1)
        done.set()

    async def poller() -> None:
        while not done.is_set():
            await clock.sleep(interval)
            await pull()

    await asyncio.gather(shoppers(), poller())
    while pending:
        await asyncio.gather(*list(pending))
    await conn.aclose()
    lags = [imported_at[oid] - t for oid, t in sold_at.items()]
    return {"mean": round(statistics.fmean(lags), 3), "max": round(max(lags), 3), "sales": len(lags)}


async def main(args: argparse.Namespace) -> dict[str, object]:
    result = await push(args.items, args.pressed, args.latency)
    polling = await floor_to_ledger(args.sales, args.pull_interval, None, args.seed)
    hooks = await floor_to_ledger(args.sales, args.pull_interval, args.webhook_delay, args.seed)
    result["floor_to_ledger_s"] = {
        "pull_interval_s": args.pull_interval,
        "polling_mean": polling["mean"],
        "polling_max": polling["max"],
        "webhook_delay_s": args.webhook_delay,
        "webhook_mean": hooks["mean"],
        "webhook_max": hooks["max"],
        "sales": polling["sales"],
    }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--pressed", action="store_true", help="give the emulator a tight rate budget (429s)")
    parser.add_argument("--pull-interval", type=float, default=60.0, help="seconds between order pulls")
    parser.add_argument("--webhook-delay", type=float, default=2.0, help="seconds Square takes to notify")
    parser.add_argument("--sales", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.15, help="network round trip, seconds (virtual)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    configure(level="warning", stream=sys.stderr)  # retries are counted, not logged one by one
    figures = asyncio.run(main(arguments))
    print(json.dumps(figures) if arguments.json else json.dumps(figures, indent=2))
