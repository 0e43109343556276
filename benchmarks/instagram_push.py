"""Instagram (Meta catalog Batch API) connector benchmark against its emulator, on the virtual clock.

    python benchmarks/instagram_push.py --items 100000 --latency 0.15 --json

Every call takes ``--latency`` seconds of network round trip (150 ms by default; virtual).

One ``push_inventory`` of ``--items`` updates; ``--invalid`` of them name retailer ids the catalog lacks,
so Meta's per-item errors (reported asynchronously by the batch status) must be mapped back to their
items. Prints one JSON object:
  items, calls (items_batch calls; target <= 34 for 100,000 at the default 3,000 per call),
  status_polls (check_batch_request_status), virtual_s (virtual seconds the push took within the
  connector's rate budget and the batches' settle time), wall_s, accepted, errors_mapped (rejected
  results carrying Meta's message; equals errors_expected), batch_size, throttled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from decimal import Decimal

from omnisync_connectors.instagram.settings import InstagramSettings

from omnisync.clock import VirtualClock
from omnisync.logging import configure
from omnisync.sdk import InventoryUpdate, ItemStatus, idempotency_key
from omnisync.testing.doubles import build_double, connected


def _update(n: int, sku: str) -> InventoryUpdate:
    master = f"M-{n:07d}"
    return InventoryUpdate(
        master, sku, n % 17, None, 1, idempotency_key("instagram", master, 1), available=True
    )


async def run(items: int, invalid: int, batch_size: int, latency: float) -> dict[str, object]:
    clock = VirtualClock()
    double = build_double("instagram", clock, latency=latency)
    emulator = double.emulator
    skus = [f"SKU-{n:07d}" for n in range(items)]
    ghosts = set(range(0, items, max(1, items // invalid))[:invalid]) if invalid else set()
    emulator.seed((sku, 1, Decimal("9.99")) for n, sku in enumerate(skus) if n not in ghosts)
    # the connector's own status-poll interval, not the double's shorter one for the kit and the demo
    poll_s = InstagramSettings.model_fields["batch_poll_interval_s"].default
    conn = connected(double, "instagram", batch_size=batch_size, batch_poll_interval_s=poll_s)
    updates = [_update(n, sku) for n, sku in enumerate(skus)]
    started = time.perf_counter()
    results = await conn.push_inventory(updates)
    wall = time.perf_counter() - started
    await conn.aclose()
    rejected = [r for r in results if r.status is ItemStatus.REJECTED and r.reason]
    return {
        "items": items,
        "latency_s": latency,
        "calls": emulator.calls["items_batch"],
        "status_polls": emulator.calls["check_batch_request_status"],
        "virtual_s": round(clock.monotonic(), 3),
        "wall_s": round(wall, 3),
        "accepted": sum(r.status is ItemStatus.ACCEPTED for r in results),
        "errors_mapped": len(rejected),
        "errors_expected": len(ghosts),
        "batch_size": batch_size,
        "throttled": conn.context.stats.total_throttled,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--invalid", type=int, default=100, help="updates naming unknown retailer ids")
    parser.add_argument("--batch-size", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.15, help="network round trip, seconds (virtual)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    configure(level="warning", json=True, stream=sys.stderr)
    figures = asyncio.run(run(args.items, min(args.invalid, args.items), args.batch_size, args.latency))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>16}: {value}")


if __name__ == "__main__":
    main()
