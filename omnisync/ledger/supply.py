"""Supply: each SKU's supplier terms, the stock on order, and what the reorder rules read.

Supplier terms (lead time, minimum order quantity, pack multiple, service level) are columns of the
product, None where the config's defaults apply; they change no channel's number, so they bump no
version. Stock on order is ``incoming_stock``, one row per (reference, SKU, location) holding the
units still expected: recording the same reference again sets it, a receipt against the reference
lowers it. What is on order is what preorders draw on, so either change bumps the product's version
and marks its listings dirty, as a movement does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, Float, String, bindparam, func, literal, or_, select, union_all, update

from .sales import day_of
from .statements import execute_many, execute_once, insert_many, one_of
from .stock import StockWrites
from .tables import IN, IN_CHUNK, OL, O, P, S


class Terms(TypedDict):
    lead_time_days: float | None
    moq: int | None
    pack: int | None
    service_level: float | None


TERM_FIELDS = tuple(Terms.__annotations__)
FEW = 5_000
"""Up to this many SKUs sold, their rows are read by id; beyond, each table is read in one pass."""
TERMS_UPDATE = (
    update(P).where(P.c.id == bindparam("pid")).values(**{f: bindparam(f"v_{f}") for f in TERM_FIELDS})
)
INCOMING_UPDATE = (
    update(IN)
    .where(IN.c.id == bindparam("pk"))
    .values(quantity=bindparam("v_quantity"), expected_at=bindparam("v_expected_at"))
)


class SupplyWrites(StockWrites):
    def set_terms(self, terms: Mapping[int, Terms]) -> None:
        """Product id -> its supplier terms (None: the default)."""
        if not terms:
            return
        execute_many(
            self.conn,
            TERMS_UPDATE,
            [{"pid": pid, **{f"v_{f}": t[f] for f in TERM_FIELDS}} for pid, t in terms.items()],  # type: ignore[literal-required]
        )

    def expect(
        self,
        reference: str,
        product_id: int,
        location_id: int,
        quantity: int,
        *,
        expected_at: datetime | None,
        at: datetime,
    ) -> None:
        """``quantity`` units of the product on order under ``reference`` for the location (set, not
        added: recording the same purchase order twice counts it once)."""
        found = self._incoming(reference, product_id, location_id)
        if found is None:
            row = {
                "reference": reference,
                "product_id": product_id,
                "location_id": location_id,
                "quantity": quantity,
                "expected_at": expected_at,
                "created_at": at,
            }
            insert_many(self.conn, IN, [row])
        else:
            self.conn.execute(
                INCOMING_UPDATE, {"pk": found[0], "v_quantity": quantity, "v_expected_at": expected_at}
            )
        self._touch(product_id)

    def receive(
        self,
        reference: str,
        sku: str,
        location: str,
        quantity: int,
        key: str,
        *,
        at: datetime,
        note: str | None = None,
        actor: str | None = None,
    ) -> bool:
        """Goods in against purchase order ``reference``: the receipt journalled and as many units
        fewer expected, together (a repeated ``key`` does neither). Units sold ahead of that stock
        (reservations beyond the on-hand) are then covered by it: ordinary reservations, counted once."""
        done = self.record_movement(
            sku, location, "receipt", quantity, key, at=at, reference=reference, note=note, actor=actor
        )
        if done:
            pid, lid = self.ledger.product_id(self.conn, sku), self.ledger.location_id(self.conn, location)
            self.receive_expected(reference, pid, lid, quantity)
        return done

    def receive_expected(self, reference: str, product_id: int, location_id: int, quantity: int) -> int:
        """Units received against ``reference``: the units still expected go down by as many (never
        below zero). Returns by how much."""
        found = self._incoming(reference, product_id, location_id)
        if found is None:
            return 0
        pk, open_units = found
        taken = min(open_units, max(quantity, 0))
        if taken:
            self.conn.execute(update(IN).where(IN.c.id == pk).values(quantity=open_units - taken))
            self._touch(product_id)
        return taken

    def _incoming(self, reference: str, product_id: int, location_id: int) -> tuple[int, int] | None:
        row = self.conn.execute(
            select(IN.c.id, IN.c.quantity).where(
                IN.c.reference == reference, IN.c.product_id == product_id, IN.c.location_id == location_id
            )
        ).first()
        return None if row is None else (int(row.id), int(row.quantity))


INCOMING_OF = (
    select(IN.c.product_id, IN.c.location_id, func.sum(IN.c.quantity), func.min(IN.c.expected_at))
    .where(IN.c.quantity > 0)
    .group_by(IN.c.product_id, IN.c.location_id)
)
INCOMING_AMONG = INCOMING_OF.where(one_of(IN.c.product_id, "ids"))


def incoming_for(
    conn: Connection, product_ids: Sequence[int] | None = None
) -> dict[int, dict[int, tuple[int, date | None]]]:
    """Product id -> location id -> (units on order, the earliest expected date), for ``product_ids``
    (None: every product with units on order). Only pairs with units on order appear."""
    out: dict[int, dict[int, tuple[int, date | None]]] = {}
    if product_ids is None:
        rows: Sequence[Any] = list(conn.execute(INCOMING_OF))
    else:  # the ids bound as one list: compiled once, never expanded per call (intake reads this per page)
        rows = execute_once(conn, INCOMING_AMONG, {"ids": sorted(set(product_ids))})
    for pid, lid, units, expected in rows:
        out.setdefault(int(pid), {})[int(lid)] = (int(units), _day(expected))
    return out


def _day(value: Any) -> date | None:
    """A stored expected time as its UTC day (SQLite's aggregate hands back text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo is None else value.astimezone(UTC)).date()
    return value if isinstance(value, date) else None


def supplier_terms(conn: Connection) -> dict[int, Terms]:
    """Product id -> its supplier terms, for the products that have any set."""
    q = select(P.c.id, *(P.c[f] for f in TERM_FIELDS)).where(or_(*(P.c[f].is_not(None) for f in TERM_FIELDS)))
    return {int(r.id): _terms(r) for r in conn.execute(q)}


def _terms(r: Any) -> Terms:
    return {
        "lead_time_days": r.lead_time_days,
        "moq": r.moq,
        "pack": r.pack,
        "service_level": r.service_level,
    }


@dataclass
class SupplyFacts:
    """What the reorder rules read for the products that sold in a window."""

    sold: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)
    """(product id, location id) -> (Σ weight × units, Σ weight × units²) over the window's days,
    units being those sold on the day (ordered less cancelled)."""
    products: dict[int, tuple[str, str, Terms]] = field(default_factory=dict)
    """Product id -> (SKU, title, supplier terms)."""
    stock: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    """(product id, location id) -> (on hand, reserved)."""
    incoming: dict[tuple[int, int], tuple[int, datetime | None]] = field(default_factory=dict)
    """(product id, location id) -> (units on order, the earliest expected date)."""


def supply_facts(conn: Connection, weights: Mapping[str, float]) -> SupplyFacts:
    """For each product and location that sold on the days of ``weights`` (UTC day 'YYYY-MM-DD' ->
    its weight), the weighted sums of its daily units; for the products that sold, their terms,
    stock and incoming units. Grouped in SQL: one row per pair reaches Python."""
    facts = SupplyFacts()
    if not weights:
        return facts
    first_day = min(weights)
    since = datetime.fromisoformat(first_day).replace(tzinfo=UTC)
    day = day_of(conn)
    daily = (
        select(
            OL.c.product_id,
            OL.c.location_id,
            day.label("day"),
            func.sum(OL.c.quantity - OL.c.cancelled).label("units"),
        )
        .select_from(OL.join(O, O.c.id == OL.c.order_id))
        .where(O.c.placed_at >= since, OL.c.product_id.is_not(None), OL.c.location_id.is_not(None))
        .group_by(OL.c.product_id, OL.c.location_id, day)
        .subquery("daily")
    )
    # a table of the window's days and weights (UNION ALL: SQLite names no VALUES columns)
    table = union_all(
        *(
            select(literal(d, String).label("day"), literal(w, Float).label("weight"))
            for d, w in weights.items()
        )
    ).subquery("w")
    q = (
        select(
            daily.c.product_id,
            daily.c.location_id,
            func.sum(daily.c.units * table.c.weight).label("first"),
            func.sum(daily.c.units * daily.c.units * table.c.weight).label("second"),
        )
        .select_from(daily.join(table, table.c.day == daily.c.day))
        .group_by(daily.c.product_id, daily.c.location_id)
    )
    facts.sold = {
        (int(pid), int(lid)): (float(first or 0), float(second or 0))
        for pid, lid, first, second in conn.execute(q)
    }
    pids = sorted({pid for pid, _ in facts.sold})
    products = select(P.c.id, P.c.sku, P.c.title, *(P.c[f] for f in TERM_FIELDS)).where(P.c.active.is_(True))
    stock = select(S.c.product_id, S.c.location_id, S.c.on_hand, S.c.reserved)
    incoming = (
        select(IN.c.product_id, IN.c.location_id, func.sum(IN.c.quantity), func.min(IN.c.expected_at))
        .where(IN.c.quantity > 0)
        .group_by(IN.c.product_id, IN.c.location_id)
    )
    wanted = set(pids)
    # few SKUs sold: read those (IN lists); many: one pass over each table, filtered here
    chunks = [pids[n : n + IN_CHUNK] for n in range(0, len(pids), IN_CHUNK)] if len(pids) <= FEW else [None]
    for chunk in chunks:

        def only(q: Any, column: Any, chunk: list[int] | None = chunk) -> Any:
            return q if chunk is None else q.where(column.in_(chunk))

        for pid, sku, title, lead, moq, pack, level in conn.execute(only(products, P.c.id)):
            if pid in wanted:
                terms: Terms = {"lead_time_days": lead, "moq": moq, "pack": pack, "service_level": level}
                facts.products[pid] = (str(sku), str(title), terms)
        for pid, lid, on_hand, reserved in conn.execute(only(stock, S.c.product_id)):
            if pid in wanted:
                facts.stock[(pid, lid)] = (int(on_hand), int(reserved))
        for pid, lid, units, expected in conn.execute(only(incoming, IN.c.product_id)):
            if pid in wanted:
                facts.incoming[(pid, lid)] = (int(units), expected)
    return facts
