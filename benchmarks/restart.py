"""Restarts under load: a real ``omnisync run`` SIGKILLed again and again while the shops keep selling.

    python benchmarks/restart.py --kills 8 --rate 40 --json
    python benchmarks/restart.py --kills 8 --rate 40 --backend postgresql --json

The Shopify and Square emulators are served on loopback (the daemon tests' world,
``tests/daemon/daemon_world.py``); the daemon is a separate process on a SQLite file or a fresh
PostgreSQL schema. Shoppers buy at ``--rate`` orders a second throughout. The daemon is killed
``--kills`` times, 0.5-3 s into its work, and restarted after 0-3 s. After the last restart the
shoppers stop and the figures are taken:

* ``missing_after_s``: orders placed but not in the ledger, 5, 10, 20 and 30 s after the last restart;
* ``converged_s``: until every order is in the ledger once and both channels show what it allows
  (null: not within ``--settle`` seconds);
* ``longest_push_gap_s``: the longest time between two accepted pushes (Shopify
  inventorySetQuantities, Square batch changes) from the last restart until convergence, while
  the backlog drains: a push lane waiting behind a pull shows here;
* ``shutdown_s``: SIGTERM to exit once converged.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "daemon"))
sys.path.insert(0, str(ROOT / "tests"))

from daemon_world import (  # noqa: E402
    Daemon,
    EmulatorThread,
    restart_under_load,
    schedule,
    secrets_env,
    seeded_engine,
    shopify_channel,
    square_channel,
    write_config,
)
from dbfixtures import PG_URL  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from omnisync.demo import Catalogue  # noqa: E402

SKUS = 40


@contextmanager
def ledger(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(kills: int, rate: float, backend: str, settle: float, seed: int, folder: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    channels = [shopify_channel(), square_channel()]
    for ch in channels:
        ch.config["schedule"] = schedule(pull=0.5, push=0.5)
        ch.config["order_overlap"] = "10s"
    catalogue = Catalogue([(f"SKU-{n:04d}", Decimal("9.99") + n, 500, 200) for n in range(1, SKUS + 1)])
    skus = [item[0] for item in catalogue.items]
    for ch in channels:
        for sku, price, _wh, _store in catalogue.items:
            ch.seed(sku, 0, price)
    emulators = EmulatorThread(channels).start()
    try:
        with ledger(backend, folder) as url:
            config = write_config(folder, "daemon", channels, url, {})
            engine = seeded_engine(config, channels, catalogue)
            daemon = Daemon("bench", config, secrets_env(channels), folder / "daemon.log")
            try:
                return restart_under_load(kills, rate, settle, rng, engine, emulators, daemon, skus)
            finally:
                daemon.kill()
                engine.ledger.engine.dispose()
    finally:
        emulators.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--rate", type=float, default=40.0, help="orders per second, both shops together")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait for convergence")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="omnisync-restart-") as tmp:
        result = {
            "benchmark": "restart",
            "backend": args.backend,
            **run(args.kills, args.rate, args.backend, args.settle, args.seed, Path(tmp)),
        }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
