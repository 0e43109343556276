"""Order intake speed on SQLite: N new orders, then the same N re-delivered (skipped by digest).

Pages of 100 orders of two lines each, as a channel's pull delivers them. ``orders_per_s`` is wall
clock; ``orders_per_cpu_s`` counts the process's CPU time only (on a machine shared with other work
the wall clock grows with the load).

    python benchmarks/intake.py --orders 20000 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _world import build

from omnisync.engine.intake import import_orders
from omnisync.sdk.models import Order, OrderLine, OrderStatus

PAGE = 100


async def main(n: int, skus: int) -> dict[str, object]:
    engine = await build(skus)
    rt = engine.channels["web"]
    now = engine.clock.now()
    orders = [
        Order(
            f"ORD-{i}",
            OrderStatus.OPEN,
            now + timedelta(seconds=i),
            (
                OrderLine("1", f"SKU{(i % skus) + 1:08d}", 1),
                OrderLine("2", f"SKU{((i * 7) % skus) + 1:08d}", 2),
            ),
        )
        for i in range(n)
    ]
    t0, c0 = time.perf_counter(), time.process_time()
    imported = 0
    for start in range(0, n, PAGE):
        imported += import_orders(engine.ledger, rt.intake, orders[start : start + PAGE], at=now).imported
    first_s, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    skipped = 0
    for start in range(0, n, PAGE):
        skipped += import_orders(engine.ledger, rt.intake, orders[start : start + PAGE], at=now).unchanged
    again_s, again_cpu = time.perf_counter() - t0, time.process_time() - c0
    await engine.aclose()
    return {
        "orders": n,
        "lines_per_order": 2,
        "imported": imported,
        "orders_per_s": round(n / first_s, 1),
        "orders_per_cpu_s": round(n / first_cpu, 1),
        "duplicates_skipped": skipped,
        "redelivery_per_s": round(n / again_s, 1),
        "redelivery_per_cpu_s": round(n / again_cpu, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main(args.orders, args.skus))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
