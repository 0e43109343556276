"""Benchmark: push N inventory changes to the Amazon emulator on a virtual clock.

    python benchmarks/amazon_push.py --items 100000 --json     # feed path (JSON_LISTINGS_FEED)
    python benchmarks/amazon_push.py --items 50 --json         # patch path (patchListingsItem)

Every call takes ``--latency`` seconds of network round trip (150 ms by default; virtual).

Batches are handed over as the engine does (at most ``limits.push_inventory.max_batch`` items each).
``calls`` counts SP-API operations other than getFeed status polls; the LWA token request and the
presigned document transfers (upload, report download) are counted apart in ``other_requests``.
``min_possible_s`` is the floor set by the documented patchListingsItem plan (5/s, burst 5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import structlog
from omnisync_connectors.amazon import AmazonConnector
from omnisync_connectors.amazon.rates import OTHER_PLANS, USAGE_PLANS

from omnisync.clock import VirtualClock
from omnisync.sdk import InventoryUpdate, ItemStatus
from omnisync.testing.doubles import build_double, connected


async def run(items: int, latency: float) -> dict[str, Any]:
    clock = VirtualClock()
    double = build_double("amazon", clock, record_requests=False, latency=latency)
    emulator = double.emulator
    skus = [f"BENCH-{n:06d}" for n in range(items)]
    for sku in skus:
        emulator.seed_listing(sku, 10, Decimal("9.99"))
    connector = connected(double, "bench")
    assert isinstance(connector, AmazonConnector)
    await connector.prepare()
    stats = connector.context.stats
    before = dict(stats.calls)
    updates = [InventoryUpdate(s, s, 3, 10, 2, f"k-{s}", {"product_type": "PRODUCT"}) for s in skus]
    batch = AmazonConnector.limits.push_inventory.max_batch
    wall, start = time.perf_counter(), clock.monotonic()
    results = []
    for offset in range(0, len(updates), batch):
        results.extend(await connector.push_inventory(updates[offset : offset + batch]))
    virtual_s = clock.monotonic() - start
    wall_s = time.perf_counter() - wall
    await connector.aclose()
    made = {op: n - before.get(op, 0) for op, n in stats.calls.items() if n - before.get(op, 0)}
    sp_api = {op: n for op, n in made.items() if op in USAGE_PLANS}
    plan = USAGE_PLANS["patchListingsItem"]
    min_possible_s = max(0.0, (items - plan.burst) / plan.rate)
    figures: dict[str, Any] = {
        "items": items,
        "path": "feed" if items > connector.settings.feed_threshold else "patch",
        "latency_s": latency,
        "calls": sum(n for op, n in sp_api.items() if op != "getFeed"),
        "feeds": made.get("createFeed", 0),
        "status_polls": made.get("getFeed", 0),
        "other_requests": {op: n for op, n in made.items() if op in OTHER_PLANS},
        "calls_by_operation": sp_api,
        "virtual_s": round(virtual_s, 3),
        "wall_s": round(wall_s, 3),
        "accepted": sum(r.status is ItemStatus.ACCEPTED for r in results),
        "accounted": len({r.sku for r in results}) == items and len(results) == items,
        "throttled": stats.total_throttled,
    }
    if figures["path"] == "patch":
        figures["min_possible_s"] = min_possible_s
        figures["ratio"] = round(virtual_s / min_possible_s, 4) if min_possible_s else None
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.15, help="network round trip, seconds (virtual)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # keep stdout to the figures
    figures = asyncio.run(run(args.items, args.latency))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
