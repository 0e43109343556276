"""The only code that writes ledger tables.

Every write happens inside :meth:`Ledger.tx`, one database transaction: a movement and the cached
``on_hand`` it changes, an order and its reservations, the cursor and the orders of its last page,
are committed together or not at all. Hot paths use SQLAlchemy Core over the SQLModel tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from json.decoder import JSONDecoder
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, case, func, insert, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType

from .models import (
    Channel,
    Cursor,
    Lease,
    Listing,
    Location,
    Movement,
    Order,
    OrderLine,
    Product,
    PushOutbox,
    Reservation,
    Stock,
    SyncRun,
    WebhookReceipt,
)

P = Product.__table__  # type: ignore[attr-defined]
L = Location.__table__  # type: ignore[attr-defined]
S = Stock.__table__  # type: ignore[attr-defined]
M = Movement.__table__  # type: ignore[attr-defined]
R = Reservation.__table__  # type: ignore[attr-defined]
C = Channel.__table__  # type: ignore[attr-defined]
LI = Listing.__table__  # type: ignore[attr-defined]
O = Order.__table__  # type: ignore[attr-defined]  # noqa: E741
OL = OrderLine.__table__  # type: ignore[attr-defined]
CU = Cursor.__table__  # type: ignore[attr-defined]
W = WebhookReceipt.__table__  # type: ignore[attr-defined]
SR = SyncRun.__table__  # type: ignore[attr-defined]
LE = Lease.__table__  # type: ignore[attr-defined]
PO = PushOutbox.__table__  # type: ignore[attr-defined]

_IN_CHUNK = 900
"""Values per IN list (SQLite's historic limit is 999 bound parameters)."""
MOVEMENT_KINDS = frozenset({"receipt", "sale", "adjustment", "return", "transfer_out", "transfer_in"})


class LedgerError(ValueError):
    """A write the ledger refuses (unknown SKU or location, bad quantity)."""


@dataclass(frozen=True, slots=True)
class ProductRow:
    id: int
    sku: str
    title: str
    tags: tuple[str, ...]
    price: Decimal
    currency: str
    active: bool
    version: int


@dataclass(frozen=True, slots=True)
class ListingRow:
    channel_id: int
    product_id: int
    sku: str
    channel_sku: str
    ids: Mapping[str, str]
    acked_quantity: int | None
    acked_price: Decimal | None
    acked_available: bool | None
    acked_version: int | None
    dirty: bool
    missing: bool
    last_error: str | None
    tags: tuple[str, ...]
    price: Decimal
    currency: str
    active: bool
    version: int


PLAN_PRODUCT_COLUMNS = 7
"""Planning rows start with: id, sku, tags (raw), price (raw), currency, active (raw), version."""
PLAN_STOCK_COLUMNS = 2
"""Then per location asked for: on_hand, reserved (None without a stock record)."""
PLAN_LISTING_COLUMNS = 5
"""Then per channel asked for: flags (None when there is no listing or the channel does not know the
SKU, else the ``PLAN_*`` bits), channel SKU (None when it is the master SKU), ids (raw), acked
quantity, acked price (raw)."""
PLAN_FLAGS, PLAN_CHANNEL_SKU, PLAN_IDS, PLAN_ACKED_QUANTITY, PLAN_ACKED_PRICE = range(PLAN_LISTING_COLUMNS)
"""Positions within a channel's listing columns."""
PLAN_DIRTY = 1
PLAN_ACKED_AVAILABLE = 2
PLAN_ACKED_UNAVAILABLE = 4


class PlanDecoder:
    """Turns the raw values of :meth:`Ledger.plan_rows` into what :class:`ListingRow` would hold.

    The rows skip SQLAlchemy's per-value result processing (millions of pairs are read to plan a
    large catalogue and most are never looked at again); the few values a planner needs go through the
    column types' own processors here, decimals memoised by raw value.
    """

    def __init__(self, dialect: Dialect) -> None:
        self._to_decimal = P.c.price.type.result_processor(dialect, None)
        self._from_json = LI.c.ids.type.result_processor(dialect, None)
        # json.loads is what SQLAlchemy uses unless the engine was given its own deserializer; its C
        # scanner alone is three times quicker on the small objects listing ids are
        custom = getattr(dialect, "_json_deserializer", None) is not None
        self._scan = None if custom else JSONDecoder().scan_once  # type: ignore[attr-defined]
        self.decimals: dict[Any, Decimal] = {}
        """Raw value -> Decimal, filled by :meth:`decimal` (a hot loop may look here first)."""

    def decimal(self, raw: Any) -> Decimal:
        value = self.decimals.get(raw)
        if value is None:
            if len(self.decimals) > 100_000:
                self.decimals.clear()
            converted = raw if isinstance(raw, Decimal) or self._to_decimal is None else self._to_decimal(raw)
            value = self.decimals[raw] = Decimal(converted)
        return value

    def ids(self, raw: Any) -> dict[str, str]:
        if type(raw) is dict:  # decoded by the database (SQLite's packed rows)
            return raw
        if raw is None or raw == "{}":
            return {}
        if self._scan is not None and type(raw) is str:
            try:
                value, end = self._scan(raw, 0)
            except StopIteration:
                value, end = None, -1
            if end == len(raw) and type(value) is dict:
                return value
        if isinstance(raw, str | bytes) and self._from_json is not None:
            raw = self._from_json(raw)
        return dict(raw) if raw else {}


def _raw(column: Any) -> Any:
    """The column's value as the driver returns it, without SQLAlchemy's result processing."""
    return type_coerce(column, NullType())


def _packed_rows(conn: Connection, q: Any, ids_at: set[int]) -> list[Any]:
    """The rows of ``q`` read from SQLite as one JSON array, built by SQLite in a single step.

    Python's sqlite3 module releases the GIL for each row it steps through and must take it back to
    build the row; a reader thread then waits for the planning thread at every row and the two never
    overlap. Packed, all the database work of a chunk runs in one step without the GIL, and one
    ``json.loads`` builds the rows. Listing ids (``ids_at``) arrive decoded.
    """
    sub = q.subquery()
    values = [func.json(c) if i in ids_at else c for i, c in enumerate(sub.c)]
    assert len(values) == len(q.selected_columns)
    packed = conn.execute(select(func.json_group_array(func.json_array(*values)))).scalar()
    rows = [tuple(row) for row in json.loads(packed)] if packed else []
    rows.sort(key=itemgetter(0))  # SQLite (before 3.44) cannot order an aggregate's input itself
    return rows


def split_tags(raw: str | None) -> tuple[str, ...]:
    return tuple(t for t in (raw or "").split(",") if t)


def join_tags(tags: Iterable[str]) -> str:
    return ",".join(sorted({t.strip().lower() for t in tags if t.strip()}))


def _new_id(result: Any) -> int:
    return int(result.inserted_primary_key[0])


def _insert_ignore(conn: Connection, table: Any, values: Mapping[str, Any], *keys: str) -> bool:
    """INSERT that does nothing on a unique conflict; True when a row was inserted."""
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported backends
        stmt = insert(table).values(**values)
    return bool(conn.execute(stmt).rowcount)


_MAX_PARAMS = 30_000
"""Bound parameters per statement (SQLite allows 32,766, PostgreSQL 65,535)."""


def _placeholder(conn: Connection) -> str | None:
    style = conn.dialect.paramstyle
    return "?" if style == "qmark" else "%s" if style in ("format", "pyformat") else None


_STOCK_DELTAS = (
    update(S)
    .where(and_(S.c.product_id == bindparam("p"), S.c.location_id == bindparam("l")))
    .values(on_hand=S.c.on_hand + bindparam("oh"), reserved=S.c.reserved + bindparam("rs"))
)
_COMPILED: dict[tuple[int, str, str], tuple[Any, list[str], list[Any]]] = {}


def _execute_many(conn: Connection, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run a module-level Core statement once per row of bound values through the driver's
    executemany: compiled once per dialect, each value through its bind processor, none of
    SQLAlchemy's per-row bookkeeping."""
    key = (id(stmt), conn.dialect.name, conn.dialect.driver)
    if key not in _COMPILED:
        compiled = stmt.compile(dialect=conn.dialect)
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        procs = [compiled.binds[name].type.bind_processor(conn.dialect) for name in names]
        _COMPILED[key] = (compiled, names, procs)
    compiled, names, procs = _COMPILED[key]
    shaped: list[Any] = [
        tuple(v if f is None else f(v) for f, v in zip(procs, map(row.__getitem__, names), strict=True))
        for row in rows
    ]
    if not compiled.positional:
        shaped = [dict(zip(names, values, strict=True)) for values in shaped]
    conn.exec_driver_sql(compiled.string, shaped)


def _insert_many(
    conn: Connection,
    table: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: Sequence[str] = (),
    ignore_conflicts: bool = False,
) -> list[tuple[Any, ...]]:
    """INSERT many rows (all with the keys of the first), as few multi-row statements; with
    ``returning``, those columns of the rows inserted (with ``ignore_conflicts``, a row that hits a
    unique constraint is skipped and not returned).

    What SQLAlchemy's "insertmanyvalues" does, minus its per-value bookkeeping, which costs four times
    the database's own work on a page of orders: values still go through each column type's bind
    processor, so they are stored exactly as a Core INSERT would store them.
    """
    if not rows:
        return []
    columns = list(rows[0])
    mark = _placeholder(conn)
    if mark is None:  # pragma: no cover - only the two supported backends
        stmt: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(conn.dialect.name, insert)(
            table
        )
        if ignore_conflicts:
            stmt = stmt.on_conflict_do_nothing()
        if returning:
            return [
                tuple(r) for r in conn.execute(stmt.returning(*(table.c[c] for c in returning)), list(rows))
            ]
        conn.execute(stmt, list(rows))
        return []
    processors = [table.c[c].type.bind_processor(conn.dialect) for c in columns]
    params = [
        tuple(
            value if proc is None else proc(value)
            for proc, value in zip(processors, map(row.__getitem__, columns), strict=True)
        )
        for row in rows
    ]
    q = conn.dialect.identifier_preparer.quote
    # identifiers quoted by the dialect, every value bound: nothing from the caller enters the text
    head = f"INSERT INTO {q(table.name)} ({', '.join(q(c) for c in columns)}) VALUES "  # noqa: S608
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if not returning:
        conn.exec_driver_sql(head + one + tail, params)
        return []
    tail += " RETURNING " + ", ".join(q(c) for c in returning)
    found: list[tuple[Any, ...]] = []
    size = max(1, _MAX_PARAMS // len(columns))
    for start in range(0, len(params), size):
        batch = params[start : start + size]
        flat = tuple(value for row in batch for value in row)
        found.extend(
            tuple(r) for r in conn.exec_driver_sql(head + ", ".join([one] * len(batch)) + tail, flat)
        )
    return found


class LedgerTx:
    """Writes inside one transaction. Obtain through :meth:`Ledger.tx`."""

    def __init__(self, ledger: Ledger, conn: Connection) -> None:
        self.ledger = ledger
        self.conn = conn

    # -- reference data ---------------------------------------------------------------------------
    def ensure_location(self, code: str, name: str = "", kind: str = "warehouse") -> int:
        if kind not in ("warehouse", "store"):
            raise LedgerError(f"location {code}: kind must be 'warehouse' or 'store', not {kind!r}")
        row = self.conn.execute(select(L.c.id, L.c.name, L.c.kind).where(L.c.code == code)).first()
        if row is None:
            return _new_id(self.conn.execute(insert(L).values(code=code, name=name or code, kind=kind)))
        if (name and row.name != name) or row.kind != kind:
            self.conn.execute(update(L).where(L.c.id == row.id).values(name=name or row.name, kind=kind))
        return int(row.id)

    def ensure_channel(self, name: str, connector: str) -> int:
        row = self.conn.execute(select(C.c.id, C.c.connector).where(C.c.name == name)).first()
        if row is None:
            return _new_id(self.conn.execute(insert(C).values(name=name, connector=connector)))
        if row.connector != connector:
            self.conn.execute(update(C).where(C.c.id == row.id).values(connector=connector))
        return int(row.id)

    def upsert_product(
        self,
        sku: str,
        *,
        title: str | None = None,
        barcode: str | None = None,
        tags: Iterable[str] | None = None,
        price: Decimal | None = None,
        currency: str | None = None,
        active: bool | None = None,
    ) -> int:
        """Create or update a product. A change of price, tags or active bumps the version."""
        if not sku or len(sku) > 128:
            raise LedgerError(f"SKU {sku!r}: must be 1 to 128 characters")
        if price is not None and price < 0:
            raise LedgerError(f"SKU {sku}: price must be ≥ 0")
        row = self.conn.execute(select(P).where(P.c.sku == sku)).first()
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = title
        if barcode is not None:
            values["barcode"] = barcode or None
        if tags is not None:
            values["tags"] = join_tags(tags)
        if price is not None:
            values["price"] = price
        if currency is not None:
            values["currency"] = currency.upper()
        if active is not None:
            values["active"] = active
        if row is None:
            pid = _new_id(self.conn.execute(insert(P).values(sku=sku, version=1, **values)))
            self.ledger.cache_product(sku, pid)
            return pid
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed:
            bump = any(k in changed for k in ("price", "currency", "tags", "active"))
            if bump:
                changed["version"] = P.c.version + 1
            self.conn.execute(update(P).where(P.c.id == row.id).values(**changed))
            if bump:
                self._mark_dirty(row.id)
        return int(row.id)

    # -- stock --------------------------------------------------------------------------------------
    def _stock_delta(self, product_id: int, location_id: int, on_hand: int = 0, reserved: int = 0) -> None:
        res = self.conn.execute(
            update(S)
            .where(and_(S.c.product_id == product_id, S.c.location_id == location_id))
            .values(on_hand=S.c.on_hand + on_hand, reserved=S.c.reserved + reserved)
        )
        if not res.rowcount:
            inserted = _insert_ignore(
                self.conn,
                S,
                {
                    "product_id": product_id,
                    "location_id": location_id,
                    "on_hand": on_hand,
                    "reserved": reserved,
                },
            )
            if not inserted:  # a concurrent writer created the row first
                self._stock_delta(product_id, location_id, on_hand, reserved)

    def _touch(self, product_id: int) -> None:
        self.conn.execute(update(P).where(P.c.id == product_id).values(version=P.c.version + 1))
        self._mark_dirty(product_id)

    def _mark_dirty(self, product_id: int) -> None:
        # naming the channels lets the (channel, product) primary key find the rows: without them
        # this would scan every listing of the ledger
        self.conn.execute(
            update(LI)
            .where(and_(LI.c.channel_id.in_(select(C.c.id).scalar_subquery()), LI.c.product_id == product_id))
            .values(dirty=True)
        )

    def record_movement(
        self,
        sku: str,
        location: str,
        kind: str,
        quantity: int,
        idempotency_key: str,
        *,
        at: datetime,
        reference: str | None = None,
        note: str | None = None,
    ) -> bool:
        """Journal one movement and apply it to ``on_hand``. A repeated key is a no-op (False)."""
        return self.record_movement_ids(
            self.ledger.product_id(self.conn, sku),
            self.ledger.location_id(self.conn, location),
            kind,
            quantity,
            idempotency_key,
            at=at,
            reference=reference,
            note=note,
        )

    def record_movement_ids(
        self,
        product_id: int,
        location_id: int,
        kind: str,
        quantity: int,
        idempotency_key: str,
        *,
        at: datetime,
        reference: str | None = None,
        note: str | None = None,
    ) -> bool:
        if kind not in MOVEMENT_KINDS:
            raise LedgerError(f"movement kind must be one of {sorted(MOVEMENT_KINDS)}, not {kind!r}")
        if quantity == 0:
            return False
        inserted = _insert_ignore(
            self.conn,
            M,
            {
                "product_id": product_id,
                "location_id": location_id,
                "kind": kind,
                "quantity": quantity,
                "idempotency_key": idempotency_key,
                "reference": reference,
                "note": note,
                "created_at": at,
            },
        )
        if inserted:
            self._stock_delta(product_id, location_id, on_hand=quantity)
            self._touch(product_id)
        return inserted

    def transfer(self, sku: str, source: str, target: str, quantity: int, key: str, *, at: datetime) -> bool:
        if quantity <= 0:
            raise LedgerError("a transfer moves a positive quantity")
        if source == target:
            raise LedgerError("a transfer needs two different locations")
        done = self.record_movement(
            sku, source, "transfer_out", -quantity, f"{key}:out", at=at, reference=key
        )
        if done:
            self.record_movement(sku, target, "transfer_in", quantity, f"{key}:in", at=at, reference=key)
        return done

    def set_reservation(self, order_line_id: int, product_id: int, location_id: int, quantity: int) -> int:
        """Make the line's reservation ``quantity``; returns the change applied to ``reserved``."""
        quantity = max(0, quantity)
        row = self.conn.execute(
            select(R.c.id, R.c.quantity, R.c.location_id).where(R.c.order_line_id == order_line_id)
        ).first()
        if row is None:
            if quantity == 0:
                return 0
            self.conn.execute(
                insert(R).values(
                    order_line_id=order_line_id,
                    product_id=product_id,
                    location_id=location_id,
                    quantity=quantity,
                )
            )
            delta = quantity
        else:
            delta = quantity - int(row.quantity)
            if delta == 0:
                return 0
            self.conn.execute(update(R).where(R.c.id == row.id).values(quantity=quantity))
            location_id = int(row.location_id)
        self._stock_delta(product_id, location_id, reserved=delta)
        self._touch(product_id)
        return delta

    # -- orders -------------------------------------------------------------------------------------
    def order_digest(self, channel_id: int, external_id: str) -> tuple[int, str] | None:
        row = self.conn.execute(
            select(O.c.id, O.c.digest).where(
                and_(O.c.channel_id == channel_id, O.c.external_id == external_id)
            )
        ).first()
        return None if row is None else (int(row.id), str(row.digest))

    def save_order(
        self,
        channel_id: int,
        external_id: str,
        *,
        status: str,
        digest: str,
        location_id: int | None,
        updated_at: datetime,
        at: datetime,
    ) -> int:
        existing = self.order_digest(channel_id, external_id)
        values = {"status": status, "digest": digest, "location_id": location_id, "updated_at": updated_at}
        if existing is None:
            return _new_id(
                self.conn.execute(
                    insert(O).values(channel_id=channel_id, external_id=external_id, imported_at=at, **values)
                )
            )
        self.conn.execute(update(O).where(O.c.id == existing[0]).values(**values))
        return existing[0]

    def order_lines(self, order_id: int) -> dict[str, Any]:
        return {r.line_id: r for r in self.conn.execute(select(OL).where(OL.c.order_id == order_id))}

    def insert_order_line(self, order_id: int, line_id: str, **values: Any) -> int:
        return _new_id(self.conn.execute(insert(OL).values(order_id=order_id, line_id=line_id, **values)))

    def update_order_line(self, line_pk: int, **values: Any) -> None:
        self.conn.execute(update(OL).where(OL.c.id == line_pk).values(**values))

    # -- bulk order intake (a page of new orders in a few statements) -------------------------------
    def order_digests(self, channel_id: int, external_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """external id -> (order id, digest) of the given orders the ledger already holds."""
        wanted = list(dict.fromkeys(external_ids))
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            q = select(O.c.external_id, O.c.id, O.c.digest).where(
                and_(O.c.channel_id == channel_id, O.c.external_id.in_(wanted[start : start + _IN_CHUNK]))
            )
            found.update({r.external_id: (int(r.id), str(r.digest)) for r in self.conn.execute(q)})
        return found

    def insert_orders(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Insert new orders (one channel); returns external id -> order id."""
        found = _insert_many(self.conn, O, rows, returning=("external_id", "id"))
        return {str(external_id): int(oid) for external_id, oid in found}

    def insert_order_lines_bulk(self, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[int, str], int]:
        """Insert order lines; returns (order id, line id) -> line pk."""
        found = _insert_many(self.conn, OL, rows, returning=("order_id", "line_id", "id"))
        return {(int(oid), str(line_id)): int(pk) for oid, line_id, pk in found}

    def insert_reservations(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Reservations of new order lines (the stock they reserve is applied by :meth:`apply_stock`)."""
        _insert_many(self.conn, R, rows)

    def insert_movements(self, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        """Journal movements; a repeated idempotency key is skipped. Returns the keys inserted: only
        their quantities may reach ``on_hand`` (see :meth:`apply_stock`)."""
        for row in rows:
            if row["kind"] not in MOVEMENT_KINDS:
                raise LedgerError(
                    f"movement kind must be one of {sorted(MOVEMENT_KINDS)}, not {row['kind']!r}"
                )
        found = _insert_many(self.conn, M, rows, returning=("idempotency_key",), ignore_conflicts=True)
        return {str(key) for (key,) in found}

    def apply_stock(
        self, deltas: Mapping[tuple[int, int], tuple[int, int]], existing: Iterable[tuple[int, int]]
    ) -> None:
        """Add (on_hand, reserved) deltas per (product id, location id), in the same transaction as
        the journal rows and reservations they come from. ``existing`` names the stock rows known to
        exist (one executemany UPDATE); the others go through the insert-or-update of one row.
        """
        known = set(existing)
        batch = [
            {"p": pid, "l": lid, "oh": oh, "rs": rs}
            for (pid, lid), (oh, rs) in deltas.items()
            if (pid, lid) in known and (oh or rs)
        ]
        if batch:
            _execute_many(self.conn, _STOCK_DELTAS, batch)
        for (pid, lid), (oh, rs) in deltas.items():
            if (pid, lid) not in known and (oh or rs):
                self._stock_delta(pid, lid, on_hand=oh, reserved=rs)

    def touch_products(self, product_ids: Iterable[int]) -> None:
        """One version bump per product and their listings marked dirty: a statement each per chunk."""
        ids = sorted(set(product_ids))
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            self.conn.execute(update(P).where(P.c.id.in_(chunk)).values(version=P.c.version + 1))
            self.conn.execute(
                update(LI)
                .where(
                    and_(
                        LI.c.channel_id.in_(select(C.c.id).scalar_subquery()),
                        LI.c.product_id.in_(chunk),
                        LI.c.dirty.is_(False),
                    )
                )
                .values(dirty=True)
            )

    def quarantined_lines(self, channel_id: int | None = None) -> list[Any]:
        q = (
            select(OL, O.c.external_id, O.c.channel_id, O.c.status, C.c.name.label("channel"))
            .join(O, O.c.id == OL.c.order_id)
            .join(C, C.c.id == O.c.channel_id)
            .where(OL.c.quarantined.is_(True))
            .order_by(OL.c.id)
        )
        if channel_id is not None:
            q = q.where(O.c.channel_id == channel_id)
        return list(self.conn.execute(q))

    # -- cursors and webhooks -----------------------------------------------------------------------
    def cursor(self, channel_id: int) -> datetime | None:
        return self.ledger.cursor(self.conn, channel_id)

    def set_cursor(self, channel_id: int, updated_after: datetime, at: datetime) -> None:
        res = self.conn.execute(
            update(CU).where(CU.c.channel_id == channel_id).values(updated_after=updated_after, updated_at=at)
        )
        if not res.rowcount:
            self.conn.execute(
                insert(CU).values(channel_id=channel_id, updated_after=updated_after, updated_at=at)
            )

    def remember_webhook(self, channel_id: int, event_id: str, at: datetime) -> bool:
        """False when this event id was seen before (a re-delivery)."""
        return _insert_ignore(
            self.conn, W, {"channel_id": channel_id, "event_id": event_id, "received_at": at}
        )

    # -- listings -----------------------------------------------------------------------------------
    def ensure_listings(self, channel_id: int, pairs: Iterable[tuple[int, str]]) -> int:
        """Create missing listings (product id, channel SKU); existing ones get their channel SKU fixed."""
        existing = {
            r.product_id: r.channel_sku
            for r in self.conn.execute(
                select(LI.c.product_id, LI.c.channel_sku).where(LI.c.channel_id == channel_id)
            )
        }
        new = []
        for product_id, channel_sku in pairs:
            if product_id not in existing:
                new.append(
                    {
                        "channel_id": channel_id,
                        "product_id": product_id,
                        "channel_sku": channel_sku,
                        "ids": {},
                    }
                )
            elif existing[product_id] != channel_sku:
                self.conn.execute(
                    update(LI)
                    .where(and_(LI.c.channel_id == channel_id, LI.c.product_id == product_id))
                    .values(channel_sku=channel_sku, ids={}, dirty=True, missing=False)
                )
        for start in range(0, len(new), 5000):
            self.conn.execute(insert(LI), new[start : start + 5000])
        return len(new)

    def set_listing_ids(self, channel_id: int, product_id: int, ids: Mapping[str, str] | None) -> None:
        values: dict[str, Any] = (
            {"ids": dict(ids), "missing": False, "last_error": None}
            if ids is not None
            else {"missing": True, "last_error": "the channel does not know this SKU", "dirty": False}
        )
        self.conn.execute(
            update(LI)
            .where(and_(LI.c.channel_id == channel_id, LI.c.product_id == product_id))
            .values(**values)
        )

    def acknowledge(
        self,
        channel_id: int,
        product_id: int,
        *,
        planned_version: int,
        at: datetime,
        quantity: int | None = None,
        price: Decimal | None = None,
        available: bool | None = None,
        since: int | None = None,
    ) -> None:
        """Record what the channel accepted. Dirty is cleared only if nothing changed since planning.

        ``since``: the channel is known to have held this quantity just before it took ``quantity``
        (a verified push). The acknowledged value then moves by the difference, so a sale the ledger
        imported while the push was in flight (and took off the acknowledged value) stays counted.
        """
        values: dict[str, Any] = {"acked_at": at, "last_error": None, "acked_version": planned_version}
        if quantity is not None and since is not None:
            values["acked_quantity"] = case(
                (LI.c.acked_quantity.is_(None), quantity), else_=LI.c.acked_quantity + (quantity - since)
            )
        elif quantity is not None:
            values["acked_quantity"] = quantity
        if price is not None:
            values["acked_price"] = price
        if available is not None:
            values["acked_available"] = available
        self._settle(channel_id, product_id, planned_version, values)

    def listing_error(
        self, channel_id: int, product_id: int, error: str, *, at: datetime, keep_dirty: bool
    ) -> None:
        self.conn.execute(
            update(LI)
            .where(and_(LI.c.channel_id == channel_id, LI.c.product_id == product_id))
            .values(last_error=error[:500], last_error_at=at, dirty=keep_dirty)
        )

    def settle_unchanged(self, channel_id: int, product_id: int, planned_version: int) -> None:
        """Nothing to push for this pair at this version: clear dirty unless the SKU moved meanwhile."""
        self._settle(channel_id, product_id, planned_version, {})

    def _settle(self, channel_id: int, product_id: int, planned_version: int, values: dict[str, Any]) -> None:
        version_now = select(P.c.version).where(P.c.id == product_id).scalar_subquery()
        values["dirty"] = version_now > planned_version
        self.conn.execute(
            update(LI)
            .where(and_(LI.c.channel_id == channel_id, LI.c.product_id == product_id))
            .values(**values)
        )

    def set_observed_quantity(
        self, channel_id: int, product_id: int, quantity: int | None, read_at: datetime
    ) -> None:
        """What the channel really shows (read at ``read_at``) becomes the compare value; re-plan."""
        self.conn.execute(
            update(LI)
            .where(and_(LI.c.channel_id == channel_id, LI.c.product_id == product_id))
            .values(acked_quantity=quantity, observed_at=read_at, dirty=True)
        )

    def observed_at(self, channel_id: int, product_ids: Iterable[int]) -> dict[int, datetime]:
        """When each pair's acknowledged quantity was last read live (pairs never read are absent)."""
        ids = list(set(product_ids))
        out: dict[int, datetime] = {}
        for start in range(0, len(ids), 900):
            rows = self.conn.execute(
                select(LI.c.product_id, LI.c.observed_at).where(
                    and_(
                        LI.c.channel_id == channel_id,
                        LI.c.product_id.in_(ids[start : start + 900]),
                        LI.c.observed_at.is_not(None),
                    )
                )
            )
            out.update({int(r.product_id): r.observed_at for r in rows})
        return out

    def shift_acked_quantities(self, channel_id: int, taken: Mapping[int, int]) -> None:
        """The channel lowered its own quantity for orders it took: so does our record of it.

        Without this, a self-decrementing channel's own sale would be pushed back to it (a wasted
        compare-and-set round trip on Shopify, a double decrement corrected later on Square).
        """
        rows = [{"c": channel_id, "p": pid, "n": n} for pid, n in taken.items() if n]
        if rows:
            self.conn.execute(
                update(LI)
                .where(and_(LI.c.channel_id == bindparam("c"), LI.c.product_id == bindparam("p")))
                .where(LI.c.acked_quantity.is_not(None))
                .values(acked_quantity=LI.c.acked_quantity - bindparam("n")),
                rows,
            )

    # -- push outbox ---------------------------------------------------------------------------------
    def outbox_add(self, channel_id: int, items: list[dict[str, Any]], at: datetime) -> int:
        return _new_id(
            self.conn.execute(insert(PO).values(channel_id=channel_id, items=items, created_at=at))
        )

    def outbox_pending(self, channel_id: int) -> list[tuple[int, list[dict[str, Any]]]]:
        rows = self.conn.execute(
            select(PO.c.id, PO.c["items"]).where(PO.c.channel_id == channel_id).order_by(PO.c.id)
        )
        return [(int(r.id), list(r._mapping["items"])) for r in rows]

    def outbox_done(self, outbox_id: int) -> None:
        self.conn.execute(PO.delete().where(PO.c.id == outbox_id))

    def mark_products_dirty(self, product_ids: Iterable[int]) -> None:
        """Re-plan these SKUs on every channel (a drop window opened or closed)."""
        ids = list(product_ids)
        for start in range(0, len(ids), 900):
            self.conn.execute(
                update(LI)
                .where(
                    # the channels named so the (channel, product) primary key is used, as in _mark_dirty
                    and_(
                        LI.c.channel_id.in_(select(C.c.id).scalar_subquery()),
                        LI.c.product_id.in_(ids[start : start + 900]),
                    )
                )
                .values(dirty=True)
            )

    def mark_all_dirty(self, channel_id: int) -> None:
        self.conn.execute(
            update(LI).where(and_(LI.c.channel_id == channel_id, LI.c.missing.is_(False))).values(dirty=True)
        )

    # -- runs and leases ----------------------------------------------------------------------------
    def start_run(self, channel: str, kind: str, at: datetime, worker: str | None) -> int:
        return _new_id(
            self.conn.execute(insert(SR).values(channel=channel, kind=kind, started_at=at, worker=worker))
        )

    def finish_run(self, run_id: int, **values: Any) -> None:
        self.conn.execute(update(SR).where(SR.c.id == run_id).values(**values))

    # -- leases (several daemons on one ledger; used by omnisync.daemon.lease) ---------------------
    # A lease row per channel: (channel, holder, expires_at). A daemon claims a channel that is free,
    # expired or already its own; on PostgreSQL the candidate rows are locked with
    # SELECT ... FOR UPDATE SKIP LOCKED, so two daemons claiming at once never wait on each other and
    # never both win. SQLite (one writer at a time) uses a conditional UPDATE.
    def lease_ensure(self, channels: Iterable[str]) -> None:
        for name in channels:
            _insert_ignore(self.conn, LE, {"channel": name, "holder": None, "expires_at": None}, "channel")

    def lease_claim(self, channels: Sequence[str], holder: str, now: datetime, until: datetime) -> list[str]:
        """Claim or renew the given channels for ``holder`` until ``until``; returns those now held."""
        if not channels:
            return []
        claimable = and_(
            LE.c.channel.in_(list(channels)),
            (LE.c.holder.is_(None)) | (LE.c.holder == holder) | (LE.c.expires_at < now),
        )
        if self.conn.dialect.name == "postgresql":
            rows = self.conn.execute(
                select(LE.c.channel).where(claimable).with_for_update(skip_locked=True)
            ).all()
            won = [r.channel for r in rows]
            if won:
                self.conn.execute(
                    update(LE).where(LE.c.channel.in_(won)).values(holder=holder, expires_at=until)
                )
            return sorted(won)
        won = []
        for name in channels:
            result = self.conn.execute(
                update(LE)
                .where(and_(claimable, LE.c.channel == name))
                .values(holder=holder, expires_at=until)
            )
            if result.rowcount == 1:
                won.append(name)
        return sorted(won)

    def lease_release(self, channels: Sequence[str], holder: str) -> None:
        if channels:
            self.conn.execute(
                update(LE)
                .where(and_(LE.c.channel.in_(list(channels)), LE.c.holder == holder))
                .values(holder=None, expires_at=None)
            )

    def lease_table(self) -> dict[str, tuple[str | None, datetime | None]]:
        """channel -> (holder, expires_at), for status pages."""
        return {r.channel: (r.holder, r.expires_at) for r in self.conn.execute(select(LE))}


class Ledger:
    """Entry point to the ledger: transactions, id caches and read queries."""

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

    # -- caches -------------------------------------------------------------------------------------
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
        for start in range(0, len(missing), _IN_CHUNK):
            q = select(P.c.sku, P.c.id).where(P.c.sku.in_(missing[start : start + _IN_CHUNK]))
            for r in conn.execute(q):
                self._product_ids[r.sku] = int(r.id)
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

    # -- reads --------------------------------------------------------------------------------------
    def locations(self, conn: Connection) -> dict[int, Any]:
        return {int(r.id): r for r in conn.execute(select(L))}

    def products(self, conn: Connection, skus: Sequence[str] | None = None) -> list[ProductRow]:
        q = select(P).order_by(P.c.sku)
        if skus is not None:
            q = q.where(P.c.sku.in_(list(skus)))
        return [
            ProductRow(
                r.id,
                r.sku,
                r.title,
                split_tags(r.tags),
                Decimal(r.price),
                r.currency,
                bool(r.active),
                int(r.version),
            )
            for r in conn.execute(q)
        ]

    def stock_for(
        self, conn: Connection, product_ids: Sequence[int]
    ) -> dict[int, dict[int, tuple[int, int]]]:
        """product id -> location id -> (on_hand, reserved)."""
        out: dict[int, dict[int, tuple[int, int]]] = {}
        ids = list(product_ids)
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            for pid, lid, on_hand, reserved in conn.execute(
                select(S.c.product_id, S.c.location_id, S.c.on_hand, S.c.reserved).where(
                    S.c.product_id.in_(chunk)
                )
            ):
                out.setdefault(int(pid), {})[int(lid)] = (int(on_hand), int(reserved))
        return out

    def listings(
        self,
        conn: Connection,
        channel_id: int,
        *,
        dirty_only: bool = False,
        product_ids: Sequence[int] | None = None,
        limit: int | None = None,
        after_product_id: int | None = None,
    ) -> list[ListingRow]:
        q = (
            select(
                LI,
                P.c.sku,
                P.c.tags,
                P.c.price,
                P.c.currency,
                P.c.active,
                P.c.version,
            )
            .join(P, P.c.id == LI.c.product_id)
            .where(LI.c.channel_id == channel_id)
            .order_by(LI.c.product_id)
        )
        if dirty_only:
            q = q.where(LI.c.dirty.is_(True))
        if product_ids is not None:
            q = q.where(LI.c.product_id.in_(list(product_ids)))
        if after_product_id is not None:
            q = q.where(LI.c.product_id > after_product_id)
        if limit is not None:
            q = q.limit(limit)
        return [
            ListingRow(
                channel_id=int(r.channel_id),
                product_id=int(r.product_id),
                sku=r.sku,
                channel_sku=r.channel_sku,
                ids=r.ids or {},
                acked_quantity=r.acked_quantity,
                acked_price=None if r.acked_price is None else Decimal(r.acked_price),
                acked_available=r.acked_available,
                acked_version=r.acked_version,
                dirty=bool(r.dirty),
                missing=bool(r.missing),
                last_error=r.last_error,
                tags=split_tags(r.tags),
                price=Decimal(r.price),
                currency=r.currency,
                active=bool(r.active),
                version=int(r.version),
            )
            for r in conn.execute(q)
        ]

    def plan_rows(
        self,
        conn: Connection,
        channel_ids: Sequence[int],
        location_ids: Sequence[int],
        *,
        after_product_id: int | None = None,
        product_ids: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> list[Any]:
        """One tuple per product, ordered by id, with everything planning needs: the product, its
        stock at ``location_ids`` and its listing on each of ``channel_ids`` (layout: the
        ``PLAN_*_COLUMNS`` constants; values raw, see :class:`PlanDecoder`). One indexed read per
        chunk serves every channel, instead of a listing, a product and a stock query per channel.
        """
        columns: list[Any] = [
            P.c.id,
            P.c.sku,
            P.c.tags,
            _raw(P.c.price),
            P.c.currency,
            _raw(P.c.active),
            P.c.version,
        ]
        joined: Any = P
        for n, location_id in enumerate(location_ids):
            s = S.alias(f"s{n}")
            joined = joined.outerjoin(s, and_(s.c.product_id == P.c.id, s.c.location_id == location_id))
            columns += [s.c.on_hand, s.c.reserved]
        for n, channel_id in enumerate(channel_ids):
            li = LI.alias(f"l{n}")
            joined = joined.outerjoin(li, and_(li.c.channel_id == channel_id, li.c.product_id == P.c.id))
            flags = case((li.c.dirty.is_(True), PLAN_DIRTY), else_=0) + case(
                (li.c.acked_available.is_(True), PLAN_ACKED_AVAILABLE),
                (li.c.acked_available.is_(False), PLAN_ACKED_UNAVAILABLE),
                else_=0,
            )
            columns += [
                case((li.c.missing.is_(None), None), (li.c.missing.is_(True), None), else_=flags),
                func.nullif(li.c.channel_sku, P.c.sku),
                _raw(li.c.ids),
                li.c.acked_quantity,
                _raw(li.c.acked_price),
            ]
        # unique labels: a subquery of these columns (SQLite's packed read) keeps every one of them
        q = select(*(c.label(f"c{i}") for i, c in enumerate(columns))).select_from(joined).order_by(P.c.id)
        if product_ids is not None:
            q = q.where(P.c.id.in_(list(product_ids)))
        if after_product_id is not None:
            q = q.where(P.c.id > after_product_id)
        if limit is not None:
            q = q.limit(limit)
        if conn.dialect.name == "sqlite":
            first_listing = PLAN_PRODUCT_COLUMNS + PLAN_STOCK_COLUMNS * len(location_ids)
            ids_at = {first_listing + PLAN_LISTING_COLUMNS * n + PLAN_IDS for n in range(len(channel_ids))}
            return _packed_rows(conn, q, ids_at)
        result = conn.execute(q)
        # every column is taken raw (no result processing), so the DBAPI rows are the rows; fetched
        # straight from the cursor they skip building a Row per product
        with result:
            return list(result.cursor.fetchall())

    def dirty_product_ids(self, conn: Connection, channel_ids: Sequence[int]) -> list[int]:
        """Products with a dirty listing on any of ``channel_ids``, in id order."""
        # no ORDER BY in SQL: without statistics SQLite would rather walk a whole channel's primary
        # key in product order than sort the few rows the dirty index finds
        q = select(LI.c.product_id).where(and_(LI.c.channel_id.in_(list(channel_ids)), LI.c.dirty.is_(True)))
        return sorted({int(pid) for pid in conn.execute(q).scalars()})

    def cursor(self, conn: Connection, channel_id: int) -> datetime | None:
        """Where the channel's order pull stands (None before the first pull)."""
        value: datetime | None = conn.execute(
            select(CU.c.updated_after).where(CU.c.channel_id == channel_id)
        ).scalar()
        return value

    def dirty_count(self, conn: Connection, channel_id: int) -> int:
        return int(
            conn.execute(
                select(func.count())
                .select_from(LI)
                .where(and_(LI.c.channel_id == channel_id, LI.c.dirty.is_(True)))
            ).scalar_one()
        )
