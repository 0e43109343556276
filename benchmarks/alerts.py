"""Alert evaluation at scale: the daemon's alert job over N SKUs x 4 channels.

    python benchmarks/alerts.py --skus 100000 --json

The world (``_world.build``) has every listing acknowledged at 0 on every channel and a third of the
SKUs with more reserved than on hand, so the first evaluation finds the worst case: every (channel,
SKU) pair out of stock, plus the oversold SKUs, all raised at once and written to the ledger.

* ``first_evaluation_s``: the snapshot, the findings, the transitions and the bulk write of every new
  alert row (``raised`` alerts).
* ``steady_evaluation_s``: the next evaluation, nothing changed (what the daemon pays every
  ``alerts.every``): the snapshot and the comparison with every stored alert.
* ``owed_s``: what one notifier is owed after the first evaluation (read and computed, not sent).

``*_s`` are wall clock, ``*_cpu_s`` the process's CPU time (on a machine shared with other work the
wall clock grows with the load, the CPU time much less).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _world import build

from omnisync.alerts.service import AlertService
from omnisync.config import AlertsConfig


async def measure(skus: int) -> dict[str, float | int]:
    engine = await build(skus)
    service = AlertService(engine, AlertsConfig(), {})
    t, c = time.perf_counter(), time.process_time()
    raised = await service.evaluate()
    first, first_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    again = await service.evaluate()
    steady, steady_cpu = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter()
    owed = service.owed("bench", lambda kind: True)
    owed_s = time.perf_counter() - t
    await engine.aclose()
    return {
        "skus": skus,
        "channels": len(engine.channels),
        "raised": len(raised),
        "first_evaluation_s": round(first, 3),
        "first_evaluation_cpu_s": round(first_cpu, 3),
        "steady_evaluation_s": round(steady, 3),
        "steady_evaluation_cpu_s": round(steady_cpu, 3),
        "steady_changes": len(again),
        "owed": len(owed),
        "owed_s": round(owed_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(measure(args.skus))
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
