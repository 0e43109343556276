"""Planner speed: a full plan of every (channel, SKU) pair, and an incremental plan of 1,000 dirty SKUs.

    python benchmarks/plan_scale.py --skus 100000 --json

Every (channel, SKU) pair of the world differs from what the channels last acknowledged (quantity 0),
so the full plan builds a planned item for nearly every pair: the worst case, a first sync. Plans are
consumed chunk by chunk, as the pusher consumes them, so memory stays bounded by one chunk.

Figures (``*_s`` wall clock, ``*_cpu_s`` CPU time of the whole process, which includes the thread
that reads the next chunk while one is planned; on a machine shared with other work the wall clock
grows with the load and the CPU time much less):

* ``full_plan_s``: every pair of every channel, the channels planned together (one ledger read per
  chunk of products serves them all: ``Engine.iter_plan_channels``).
* ``full_plan_per_channel_s`` (unless ``--no-per-channel``): the same pairs, one channel after the
  other (``Engine.iter_plan``, as a reconcile of one channel does).
* ``incremental_plan_s``: the dirty pairs of ``--dirty`` SKUs over every channel, planned together;
  ``incremental_plan_per_channel_s``: the same through ``Engine.plan`` per channel, as a cycle does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _world import build
from sqlalchemy import update

from omnisync.engine.runtime import Engine
from omnisync.ledger.tables import LI


def timed(work: Callable[[], int]) -> tuple[int, float, float]:
    """(result, wall seconds, CPU seconds of the process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def full_together(engine: Engine) -> int:
    changes = 0
    for chunk in engine.iter_plan_channels(list(engine.channels), all_pairs=True):
        changes += sum(len(items) for items, _ in chunk.values())
    return changes


def full_per_channel(engine: Engine) -> int:
    return sum(len(items) for name in engine.channels for items, _ in engine.iter_plan(name, all_pairs=True))


def mark_dirty(engine: Engine, pids: list[int]) -> None:
    with engine.ledger.engine.begin() as conn:
        conn.execute(update(LI).where(LI.c.product_id.in_(pids)).values(dirty=True))


async def main(skus: int, dirty: int, per_channel: bool) -> dict[str, object]:
    t0 = time.perf_counter()
    engine = await build(skus)
    build_s = time.perf_counter() - t0
    channels = list(engine.channels)
    out: dict[str, object] = {
        "skus": skus,
        "locations": 2,
        "channels": len(channels),
        "pairs": skus * len(channels),
        "build_s": round(build_s, 2),
    }

    full, wall, cpu = timed(lambda: full_together(engine))
    out |= {"full_plan_s": round(wall, 2), "full_plan_cpu_s": round(cpu, 2), "full_plan_changes": full}
    if per_channel:
        full, wall, cpu = timed(lambda: full_per_channel(engine))
        out |= {"full_plan_per_channel_s": round(wall, 2), "full_plan_per_channel_cpu_s": round(cpu, 2)}

    step = max(1, skus // dirty)
    pids = list(range(1, skus + 1, step))[:dirty]
    mark_dirty(engine, pids)
    changes, wall, cpu = timed(
        lambda: sum(
            len(items) for chunk in engine.iter_plan_channels(channels) for items, _ in chunk.values()
        )
    )
    out |= {
        "dirty_skus": len(pids),
        "incremental_plan_s": round(wall, 3),
        "incremental_plan_cpu_s": round(cpu, 3),
        "incremental_changes": changes,
    }
    changes, wall, cpu = timed(lambda: sum(len(engine.plan(name)) for name in channels))
    out |= {
        "incremental_plan_per_channel_s": round(wall, 3),
        "incremental_plan_per_channel_cpu_s": round(cpu, 3),
    }
    await engine.aclose()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--dirty", type=int, default=1000)
    parser.add_argument("--no-per-channel", action="store_true", help="skip the channel-by-channel full plan")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main(args.skus, args.dirty, not args.no_per_channel))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
