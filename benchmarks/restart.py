"""Restarts under load: a real ``omnisync run`` SIGKILLed again and again while the shops keep selling.

    python benchmarks/restart.py --kills 8 --rate 40 --json
    python benchmarks/restart.py --kills 8 --rate 40 --backend postgresql --json

The Shopify and Square (and with ``--instagram`` Instagram) emulators are served on loopback
(the daemon tests' world, ``tests/daemon/daemon_world.py``); the daemon is a separate process on a
SQLite file or a fresh PostgreSQL schema. Shoppers buy at ``--rate`` orders a second throughout.
The daemon is killed ``--kills`` times, 0.5-3 s into its work, and restarted after 0-3 s. After
the last restart the shoppers stop and the figures are taken:

* ``missing_after_s``: orders placed but not in the ledger, 5, 10, 20 and 30 s after the last restart;
* ``converged_s``: until every order is in the ledger once and both channels show what it allows
  (null: not within ``--settle`` seconds);
* ``longest_push_gap_s``: the longest time between two accepted pushes (Shopify
  inventorySetQuantities, Square batch changes) from the last restart until convergence, while
  the backlog drains: a push lane waiting behind a pull shows here;
* ``catch_up_push_gap_s``, ``catch_up_window_s``, ``push_gap_ratio``: the same gap from the first
  accepted push after the last restart (the process start-up left out), the time from that push to
  convergence, and their ratio (near 1: the push lane waited for the backlog; the test's bound is 0.5);
* ``catch_up``: per channel, the orders not yet imported when the daemon last restarted, the seconds
  until they all were, and the rate they were imported at (orders/s);
* ``shutdown_s``: SIGTERM to exit once converged.

``--instagram`` adds the Instagram shop (Meta catalog) as a third channel.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "daemon"))
sys.path.insert(0, str(ROOT / "tests"))

from daemon_world import restart_under_load, restart_world  # noqa: E402
from dbfixtures import pg_schema_url  # noqa: E402

SKUS = 40


@contextmanager
def ledger(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    yield from pg_schema_url()  # a fresh schema, dropped afterwards


def run(
    kills: int, rate: float, backend: str, settle: float, seed: int, folder: Path, instagram: bool
) -> dict[str, Any]:
    with ledger(backend, folder) as url:
        world = restart_world(folder, url, SKUS, (500, 200), instagram=instagram)
        try:
            return restart_under_load(
                kills,
                rate,
                settle,
                random.Random(seed),
                world.engine,
                world.emulators,
                world.daemon,
                world.skus,
            )
        finally:
            world.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--rate", type=float, default=40.0, help="orders per second, both shops together")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait for convergence")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--instagram", action="store_true", help="add the Instagram shop (Meta catalog)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="omnisync-restart-") as tmp:
        result = {
            "benchmark": "restart",
            "backend": args.backend,
            "channels": ["shopify", "pos", *(["instagram"] if args.instagram else [])],
            **run(args.kills, args.rate, args.backend, args.settle, args.seed, Path(tmp), args.instagram),
        }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
