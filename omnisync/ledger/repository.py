"""The only code that writes ledger tables.

Every write happens inside :meth:`Ledger.tx`, one database transaction: a movement and the cached
``on_hand`` it changes, an order and its reservations, the cursor and the orders of its last page,
are committed together or not at all. Hot paths use SQLAlchemy Core over the SQLModel tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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
LEARNED = "omnisync_learned"
"""The execution option holding a write transaction's :class:`Learned` ids."""

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


@dataclass
class Learned:
    """Ids a write transaction found or created: they join the ledger's caches only once it commits
    (a rolled-back insert leaves no row, and a cached id for it would name nothing)."""

    products: dict[str, int] = field(default_factory=dict)
    locations: dict[str, int] = field(default_factory=dict)


class Ledger(CatalogReads, CatalogueReads, StockReads, ListingReads, OperationReads, AlertReads):
    """Entry point to the ledger: transactions, id caches and read queries (one mixin per aggregate)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._product_ids: dict[str, int] = {}
        self._location_ids: dict[str, int] = {}

    @contextmanager
    def tx(self) -> Iterator[LedgerTx]:
        learned = Learned()
        with self.engine.connect() as conn:
            conn = conn.execution_options(omnisync_write=True, **{LEARNED: learned})
            with conn.begin():
                yield LedgerTx(self, conn)
        # committed: what the transaction learned exists for every connection now
        self._product_ids.update(learned.products)
        self._location_ids.update(learned.locations)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def cache_product(self, conn: Connection, sku: str, product_id: int) -> None:
        self._learned_products(conn)[sku] = product_id

    def _learned_products(self, conn: Connection) -> dict[str, int]:
        """Where ids read through ``conn`` go: its transaction's own until it commits, if it writes."""
        learned: Learned | None = conn.get_execution_options().get(LEARNED)
        return self._product_ids if learned is None else learned.products

    def product_id(self, conn: Connection, sku: str) -> int:
        pid = self.find_product_id(conn, sku)
        if pid is None:
            raise LedgerError(f"unknown SKU {sku!r}")
        return pid

    def find_product_id(self, conn: Connection, sku: str) -> int | None:
        pid = self._product_ids.get(sku)
        return pid if pid is not None else self.find_product_ids(conn, (sku,)).get(sku)

    def find_product_ids(self, conn: Connection, skus: Iterable[str]) -> dict[str, int]:
        """SKU -> product id for the known ones among ``skus``; one query for those not cached. Ids
        read inside a write transaction are cached once it commits (:class:`Learned`)."""
        wanted = list(dict.fromkeys(skus))
        cached = self._product_ids
        missing = [sku for sku in wanted if sku not in cached]
        if not missing:
            return {sku: cached[sku] for sku in wanted}
        learned = self._learned_products(conn)
        unknown = [sku for sku in missing if sku not in learned]
        if unknown:
            for sku, pid in execute_once(conn, PRODUCT_IDS, {"skus": unknown}):
                learned[str(sku)] = int(pid)
        return {sku: pid for sku in wanted if (pid := cached.get(sku, learned.get(sku))) is not None}

    def location_id(self, conn: Connection, code: str) -> int:
        lid = self._location_ids.get(code)
        if lid is not None:
            return lid
        learned: Learned | None = conn.get_execution_options().get(LEARNED)
        if learned is not None and code in learned.locations:
            return learned.locations[code]
        found = conn.execute(select(L.c.id).where(L.c.code == code)).scalar()
        if found is None:
            raise LedgerError(f"unknown location {code!r}")
        (self._location_ids if learned is None else learned.locations)[code] = int(found)
        return int(found)

    def channel_id(self, conn: Connection, name: str) -> int:
        cid = conn.execute(select(C.c.id).where(C.c.name == name)).scalar()
        if cid is None:
            raise LedgerError(f"unknown channel {name!r}")
        return int(cid)
