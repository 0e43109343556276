"""A small merchant for the Amazon engine tests: the Amazon emulator and a fake web store on the
virtual clock, the config written with secrets as ``${VAR}``, the ledger seeded."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import yaml
from omnisync_connectors.amazon.emulator import AmazonEmulator

from omnisync import invariants
from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.engine.runtime import Engine
from omnisync.ledger import queries
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.testing.fake import FakeChannelAPI
from omnisync.testing.harness import SeedItem

WAREHOUSE = {"code": "WH", "name": "Warehouse", "kind": "warehouse"}


class AmazonWorld:
    def __init__(
        self,
        folder: Path,
        *,
        amazon_settings: dict[str, Any] | None = None,
        locations: list[dict[str, str]] | None = None,
        web_sources: list[str] | None = None,
        env: dict[str, str] | None = None,
        amazon_transport: Any = None,
        amazon_mapping: dict[str, Any] | None = None,
    ) -> None:
        self.clock = VirtualClock()
        self.amazon = AmazonEmulator(self.clock)
        self.web = FakeChannelAPI(clock=self.clock)
        config: dict[str, Any] = {
            "ledger": {"url": f"sqlite:///{folder / 'ledger.db'}"},
            "currency": "USD",
            "locations": locations or [WAREHOUSE],
            "channels": {
                "web": {
                    "connector": "fake",
                    "sources": web_sources or ["WH"],
                    "settings": {"token": "${FAKE_TOKEN}", "webhook_secret": "${FAKE_SECRET}"},
                },
                "amazon": {
                    "connector": "amazon",
                    "sources": ["WH"],
                    **({"mapping": "amazon.yaml"} if amazon_mapping is not None else {}),
                    "settings": {
                        **self.amazon.settings(),
                        "marketplace_ids": [self.amazon.marketplace_id],
                        "client_secret": "${AMZ_CLIENT_SECRET}",
                        "refresh_token": "${AMZ_REFRESH_TOKEN}",
                        **(amazon_settings or {}),
                    },
                },
            },
        }
        if amazon_mapping is not None:
            (folder / "amazon.yaml").write_text(yaml.safe_dump(amazon_mapping))
        path = folder / "omnisync.yaml"
        path.write_text(yaml.safe_dump(config))
        loaded = load_config(
            path,
            env={
                "FAKE_TOKEN": "fake-token-123",
                "FAKE_SECRET": "fake-webhook-secret",
                "AMZ_CLIENT_SECRET": self.amazon.client_secret,
                "AMZ_REFRESH_TOKEN": self.amazon.refresh_token,
                **(env or {}),
            },
        )
        self.daemon_config = loaded.config.daemon
        self.ledger = Ledger(make_engine(loaded.ledger_url()))
        transport: httpx.AsyncBaseTransport = amazon_transport or self.amazon.transport()
        self.engine = Engine(
            loaded,
            self.ledger,
            clock=self.clock,
            transports={"web": self.web.transport(), "amazon": transport},
        )

    async def start(self, skus: list[str], warehouse_units: int) -> None:
        """Products in the ledger with units at WH, listed at 0 on both channels; the engine started."""
        self.engine.migrate_and_seed()
        with self.ledger.tx() as tx:
            for sku in skus:
                tx.upsert_product(sku, title=sku, price=Decimal("20.00"), currency="USD")
                tx.record_movement(sku, "WH", "receipt", warehouse_units, f"seed:{sku}", at=self.clock.now())
        self.web.seed([SeedItem(sku, 0, Decimal("20.00")) for sku in skus])
        for sku in skus:
            self.amazon.seed_listing(sku, 0, Decimal("20.00"), product_type="SHIRT")
        await self.engine.start()

    async def sync(self) -> None:
        reports = await self.engine.sync_once()
        assert all(r.ok for r in reports.values()), reports

    def stock(self, sku: str) -> dict[str, tuple[int, int]]:
        """Location code -> (on_hand, reserved)."""
        with self.ledger.read() as conn:
            pid = self.ledger.product_id(conn, sku)
            codes = {lid: row.code for lid, row in self.ledger.locations(conn).items()}
            return {codes[lid]: v for lid, v in self.ledger.stock_for(conn, [pid]).get(pid, {}).items()}

    def books_balance(self) -> list[str]:
        """Conservation: the journal sums to on_hand, the reservations to reserved."""
        with self.ledger.read() as conn:
            books = queries.stock_books(conn)
        return invariants.conservation_problems(books.stock, books.journal, books.held)

    def imported(self) -> set[str]:
        with self.ledger.read() as conn:
            cid = self.ledger.channel_id(conn, "amazon")
            return queries.known_orders(conn, cid, list(self.amazon.orders))

    async def close(self) -> None:
        await self.engine.aclose()
        self.ledger.engine.dispose()
