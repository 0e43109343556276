"""Planning rows: one wide read per chunk (product, stock per location, listing per channel),
its column layout and the decoder of its raw values."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from json.decoder import JSONDecoder
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, and_, case, func, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType

from .tables import LI, P, S

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


def raw_column(column: Any) -> Any:
    """The column's value as the driver returns it, without SQLAlchemy's result processing."""
    return type_coerce(column, NullType())


def packed_rows(conn: Connection, q: Any, ids_at: set[int]) -> list[Any]:
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


class PlanReads:
    """The planning read, mixed into :class:`~omnisync.ledger.repository.Ledger`."""

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
            raw_column(P.c.price),
            P.c.currency,
            raw_column(P.c.active),
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
                raw_column(li.c.ids),
                li.c.acked_quantity,
                raw_column(li.c.acked_price),
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
            return packed_rows(conn, q, ids_at)
        result = conn.execute(q)
        # every column is taken raw (no result processing), so the DBAPI rows are the rows; fetched
        # straight from the cursor they skip building a Row per product
        with result:
            return list(result.cursor.fetchall())
