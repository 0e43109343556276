"""Push N quantity changes to the emulated Shopify shop at a plan's limits; print the figures.

    python benchmarks/shopify_push.py --items 100000 --latency 0.15 --json

Time is virtual (the emulator and the connector share one VirtualClock), so the run measures the
pacing, not this machine. Every call takes ``--latency`` seconds of network round trip (150 ms by
default, half on the way there, half back). Batches are handed over as the engine does (at most
``limits.push_inventory.max_batch`` items a push). ``min_possible_s`` is the floor Shopify's bucket
allows: the points the fewest possible calls need (one 10-point ``inventorySetQuantities`` per 250
quantities), less the full bucket the run starts with, divided by the restore rate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import time
from typing import Any

from omnisync_connectors.shopify import ShopifyConnector
from omnisync_connectors.shopify.connector import MAX_INPUT_ARRAY
from omnisync_connectors.shopify.documents import MUTATION_COST

from omnisync.clock import VirtualClock
from omnisync.sdk import InventoryUpdate, ItemStatus, idempotency_key
from omnisync.testing.doubles import build_double, connected


async def run(items: int, plan: str, latency: float) -> dict[str, Any]:
    clock = VirtualClock()
    double = build_double("shopify", clock, plan=plan, latency=latency)
    emulator = double.emulator
    updates = []
    for n in range(items):
        sku = f"SKU-{n:06d}"
        ids = emulator.seed(sku, 20)
        updates.append(
            InventoryUpdate(
                sku=sku,
                channel_sku=sku,
                quantity=20 - (n % 7) - 1,
                previous=20,
                version=2,
                idempotency_key=idempotency_key("shopify", sku, 2),
                ids=ids,
            )
        )
    gc.freeze()  # the seeded shop lives for the whole run; keep the collector off it
    connector = connected(double, "shopify")
    batch = ShopifyConnector.limits.push_inventory.max_batch
    started_wall = time.perf_counter()
    started = clock.monotonic()
    accepted = 0
    for start in range(0, items, batch):
        results = await connector.push_inventory(updates[start : start + batch])
        accepted += sum(r.status is ItemStatus.ACCEPTED for r in results)
    virtual_s = clock.monotonic() - started
    wall_s = time.perf_counter() - started_wall
    await connector.aclose()
    stats = connector.context.stats
    min_calls = math.ceil(items / MAX_INPUT_ARRAY)
    points = min_calls * MUTATION_COST
    min_possible_s = max(0.0, points - emulator.bucket_size) / emulator.restore_rate
    wrong = sum(emulator.quantity(u.channel_sku) != u.quantity for u in updates[:: max(1, items // 1000)])
    return {
        "items": items,
        "plan": plan,
        "latency_s": latency,
        "accepted": accepted,
        "calls": stats.total_calls,
        "min_calls": min_calls,
        "throttled": stats.total_throttled,
        "points_needed": points,
        "bucket": emulator.bucket_size,
        "restore_rate": emulator.restore_rate,
        "virtual_s": round(virtual_s, 3),
        "min_possible_s": round(min_possible_s, 3),
        "ratio": round(virtual_s / min_possible_s, 4) if min_possible_s > 0 else None,
        "sampled_mismatches": wrong,
        "wall_s": round(wall_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--plan", default="standard", choices=["standard", "advanced", "plus", "enterprise"])
    parser.add_argument(
        "--latency", type=float, default=0.15, help="network round trip, seconds (virtual; default 150 ms)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = asyncio.run(run(args.items, args.plan, args.latency))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>16}: {value}")


if __name__ == "__main__":
    main()
