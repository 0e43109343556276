"""The only code that writes ledger tables.

Every write happens inside :meth:`Ledger.tx`, one database transaction: a movement and the cached
``on_hand`` it changes, an order and its reservations, the cursor and the orders of its last page,
are committed together or not at all. Hot paths use SQLAlchemy Core over the SQLModel tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, select

from .alerts import AlertReads, AlertWrites
from .catalog import CatalogReads, CatalogWrites
from .catalogue import CatalogueReads, CatalogueWrites
from .intake import IntakeWrites
from .listings import ListingReads, ListingWrites
from .operations import OperationReads, OperationWrites
from .orders import OrderWrites
from .plan_rows import PlanDecoder
from .rows import ListingRow, ProductRow, join_tags, split_tags
from .statements import execute_once, one_of
from .stock import MOVEMENT_KINDS, StockReads, StockWrites
from .supply import SupplyWrites
from .tables import C, L, LedgerError, P

PRODUCT_IDS = select(P.c.sku, P.c.id).where(one_of(P.c.sku, "skus"))

__all__ = [
    "MOVEMENT_KINDS",
    "Ledger",
    "LedgerError",
    "LedgerTx",
    "ListingRow",
    "PlanDecoder",
    "ProductRow",
    "join_tags",
    "split_tags",
]


class LedgerTx(
    IntakeWrites,
    CatalogWrites,
    CatalogueWrites,
    OrderWrites,
    SupplyWrites,
    StockWrites,
    ListingWrites,
    OperationWrites,
    AlertWrites,
):
    """Writes inside one transaction, one mixin per aggregate. Obtain through :meth:`Ledger.tx`."""


class Ledger(CatalogReads, CatalogueReads, StockReads, ListingReads, OperationReads, AlertReads):
    """Entry point to the ledger: transactions, id caches and read queries (one mixin per aggregate)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._product_ids: dict[str, int] = {}
        self._location_ids: dict[str, int] = {}

    @contextmanager
    def tx(self) -> Iterator[LedgerTx]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(omnisync_write=True)
            with conn.begin():
                yield LedgerTx(self, conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def cache_product(self, sku: str, product_id: int) -> None:
        self._product_ids[sku] = product_id

    def product_id(self, conn: Connection, sku: str) -> int:
        pid = self.find_product_id(conn, sku)
        if pid is None:
            raise LedgerError(f"unknown SKU {sku!r}")
        return pid

    def find_product_id(self, conn: Connection, sku: str) -> int | None:
        if sku in self._product_ids:
            return self._product_ids[sku]
        pid = conn.execute(select(P.c.id).where(P.c.sku == sku)).scalar()
        if pid is not None:
            self._product_ids[sku] = int(pid)
        return None if pid is None else int(pid)

    def find_product_ids(self, conn: Connection, skus: Iterable[str]) -> dict[str, int]:
        """SKU -> product id for the known ones among ``skus``; one query for those not cached."""
        wanted = list(dict.fromkeys(skus))
        missing = [sku for sku in wanted if sku not in self._product_ids]
        if missing:
            for sku, pid in execute_once(conn, PRODUCT_IDS, {"skus": missing}):
                self._product_ids[str(sku)] = int(pid)
        return {sku: self._product_ids[sku] for sku in wanted if sku in self._product_ids}

    def location_id(self, conn: Connection, code: str) -> int:
        if code not in self._location_ids:
            lid = conn.execute(select(L.c.id).where(L.c.code == code)).scalar()
            if lid is None:
                raise LedgerError(f"unknown location {code!r}")
            self._location_ids[code] = int(lid)
        return self._location_ids[code]

    def channel_id(self, conn: Connection, name: str) -> int:
        cid = conn.execute(select(C.c.id).where(C.c.name == name)).scalar()
        if cid is None:
            raise LedgerError(f"unknown channel {name!r}")
        return int(cid)
