"""Build an engine over fake channels for the engine and CLI tests."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.engine.planner import PlannedItem
from omnisync.engine.runtime import Engine
from omnisync.kits import Component
from omnisync.ledger import kits as kit_rows
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.testing.fake import FakeChannelAPI
from omnisync.testing.harness import SeedItem

CONFIG = """\
ledger:
  url: {url}
currency: EUR
locations:
  - {{code: WH, name: Warehouse, kind: warehouse}}
  - {{code: STORE, name: Downtown store, kind: store}}
channels:
  web:
    connector: fake
    sources: [WH, STORE]
    source_buffers: {{STORE: 2}}
    allocation: {{buffer_units: 1}}
    mapping: web.yaml
    settings: {{token: "${{FAKE_TOKEN}}", webhook_secret: "${{FAKE_SECRET}}"}}
  pos:
    connector: fake
    sources: [STORE]
    settings: {{token: "${{FAKE_TOKEN}}", webhook_secret: "${{FAKE_SECRET}}"}}
"""

MAPPING = """\
sku_aliases:
  MUG: WEB-MUG
price:
  markup_percent: "10"
"""

ENV = {"FAKE_TOKEN": "fake-token-123", "FAKE_SECRET": "fake-webhook-secret"}


def write_config(folder: Path, url: str, extra: str = "") -> Path:
    (folder / "web.yaml").write_text(MAPPING)
    path = folder / "omnisync.yaml"
    path.write_text(CONFIG.format(url=url) + extra)
    return path


class World:
    """Two fake channels over one ledger, on a virtual clock."""

    def __init__(self, folder: Path, url: str, *, extra: str = "", env: dict[str, str] | None = None) -> None:
        """``extra``: more top-level YAML (``alerts:``); ``env``: more environment for its ``${VAR}``."""
        self.clock = VirtualClock()
        self.path = write_config(folder, url, extra)
        self.loaded = load_config(self.path, env={**ENV, **(env or {})})
        self.ledger = Ledger(make_engine(self.loaded.ledger_url()))
        self.web = FakeChannelAPI(clock=self.clock)
        self.pos = FakeChannelAPI(clock=self.clock)
        self.engine = Engine(
            self.loaded,
            self.ledger,
            clock=self.clock,
            transports={"web": self.web.transport(), "pos": self.pos.transport()},
        )

    async def start(self, catalogue: dict[str, tuple[int, int]]) -> None:
        """catalogue: sku -> (units at WH, units at STORE)."""
        self.engine.migrate_and_seed()
        now = self.clock.now()
        with self.ledger.tx() as tx:
            for sku, (wh, store) in catalogue.items():
                tx.upsert_product(sku, title=sku, price=Decimal("20.00"), currency="EUR")
                tx.record_movement(sku, "WH", "receipt", wh, f"seed:{sku}:WH", at=now)
                tx.record_movement(sku, "STORE", "receipt", store, f"seed:{sku}:STORE", at=now)
        for sku in catalogue:
            web_sku = "WEB-MUG" if sku == "MUG" else sku
            self.web.seed([SeedItem(web_sku, 0, Decimal("1.00"))])
            self.pos.seed([SeedItem(sku, 0, Decimal("1.00"))])
        await self.engine.start()


async def kit_world(tmp_path: Path, url: str) -> World:
    """MUG 10 at WH, 5 at the store; LID 3 at WH; GIFT = 2 MUG + 1 LID; SIX = a pack of 6 MUG."""
    w = World(tmp_path, url)
    await w.start({"MUG": (10, 5), "LID": (3, 0), "GIFT": (0, 0), "SIX": (0, 0)})
    with w.ledger.tx() as tx:
        ids = w.ledger.find_product_ids(tx.conn, ["MUG", "LID", "GIFT", "SIX"])
        changed = kit_rows.define_kits(
            tx.conn,
            {"GIFT": (Component("MUG", 2), Component("LID", 1)), "SIX": (Component("MUG", 6),)},
            ids,
        )
        tx.touch_products(changed)
    return w


def dedent(s: str) -> str:
    return textwrap.dedent(s)


def planned_view(items: Iterable[PlannedItem]) -> list[tuple[Any, ...]]:
    """Planned items as comparable tuples (everything but the explanation), sorted."""
    return sorted(
        (
            i.channel,
            i.sku,
            i.product_id,
            i.channel_sku,
            dict(i.ids),
            i.version,
            i.quantity,
            i.previous,
            i.price,
            i.currency,
            i.available,
            i.preorder,
            i.mark,
        )
        for i in items
    )
