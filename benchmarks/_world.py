"""A ledger of N SKUs x 2 locations x 4 fake channels, built with bulk inserts (benchmark fixture)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy import insert

from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.engine.runtime import Engine
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.ledger.tables import KC, LI, P, S

CONFIG = """\
ledger: {{url: "{url}"}}
locations: [{{code: WH, kind: warehouse}}, {{code: STORE, kind: store}}]
channels:
{channels}
"""
CHANNEL = """\
  {name}:
    connector: fake
    sources: [WH, STORE]
    source_buffers: {{STORE: 2}}
    allocation: {{buffer_units: 1, buffer_percent: 5}}
    settings: {{token: "${{BENCH_TOKEN}}"}}
"""
NAMES = ("web", "market", "pos", "social")


def engine_of(folder: Path, url: str | None = None) -> Engine:
    """The engine of the world in ``folder`` (its configuration written on first use): its ledger a
    SQLite file there, or ``url``."""
    os.environ.setdefault("BENCH_TOKEN", "bench-token")
    path = folder / "omnisync.yaml"
    if not path.exists():
        path.write_text(
            CONFIG.format(
                url=url or f"sqlite:///{folder / 'bench.db'}",
                channels="".join(CHANNEL.format(name=n) for n in NAMES),
            )
        )
    loaded = load_config(path)
    return Engine(loaded, Ledger(make_engine(loaded.ledger_url())), clock=VirtualClock())


async def reopen(folder: Path) -> Engine:
    """A started engine over the world built in ``folder`` (as a daemon restarting on it would be)."""
    engine = engine_of(folder)
    await engine.start(prepare=False)
    return engine


KIT_EVERY = 10
"""With kits, every tenth SKU is a kit of the three SKUs before it, 1, 2 and 3 of each."""


def is_kit(product_id: int) -> bool:
    return product_id % KIT_EVERY == 0


async def build(
    skus: int, folder: Path | None = None, url: str | None = None, *, kits: bool = False
) -> Engine:
    """The world on a SQLite file in ``folder`` (a new temporary one by default), or on ``url``;
    with ``kits``, 10 % of the SKUs are kits of 3 components (:data:`KIT_EVERY`), holding no stock."""
    folder = folder or Path(tempfile.mkdtemp(prefix="omnisync-bench-"))
    engine = engine_of(folder, url)
    engine.migrate_and_seed()
    with engine.ledger.engine.begin() as conn:
        step = 20_000
        for start in range(0, skus, step):
            ids = range(start + 1, min(skus, start + step) + 1)
            conn.execute(
                insert(P),
                [{"id": i, "sku": f"SKU{i:08d}", "title": "", "tags": "", "price": 10, "currency": "EUR",
                  "active": True, "version": 1} for i in ids],
            )  # fmt: skip
            conn.execute(
                insert(S),
                [{"product_id": i, "location_id": loc, "on_hand": (i * 7 + loc) % 50, "reserved": i % 3}
                 for i in ids for loc in (1, 2) if not (kits and is_kit(i))],
            )  # fmt: skip
            if kits:
                conn.execute(
                    insert(KC),
                    [{"kit_id": i, "component_id": i - n, "quantity": n}
                     for i in ids if is_kit(i) for n in (1, 2, 3)],
                )  # fmt: skip
    await engine.start(prepare=False)
    unsynced(engine)
    return engine


def unsynced(engine: Engine) -> None:
    """Every listing known to its channel (ids), clean, and showing 0 at the master price."""
    with engine.ledger.engine.begin() as conn:
        conn.execute(LI.update().values(acked_quantity=0, acked_price=10, ids={"id": "x"}, dirty=False))
