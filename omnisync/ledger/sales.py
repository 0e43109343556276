"""The sales read model: order lines summed in SQL, grouped by channel, SKU, location, tag, day or week.

One statement per report, a ``GROUP BY`` over ``order_line`` joined to ``sales_order``, on SQLite and
PostgreSQL alike; Python only names the ids the database grouped by. The numbers, per group and
currency:

* ``orders``: distinct orders with a line in the group; ``units``: ordered less cancelled;
* ``revenue``: units × the line's unit price, in the order's currency (the product's when the
  channel named none); ``unpriced``: units whose channel reported no price (not in ``revenue``);
* ``cancelled``, ``returned`` (restocked), ``refunded`` units, and ``refunds``: refunded × unit price;
* ``oversold``: units the ledger did not have available where a line was routed when it arrived.

Money is summed as whole ten-thousandths (``Numeric(14, 4)`` holds no more), so the sum is exact on
SQLite, which keeps numerics as floating point, and is returned as :class:`~decimal.Decimal`.
Days and weeks are UTC calendar days; a week is named by its Monday (ISO weeks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Connection, case, cast, func, literal, select, true

from .tables import OL, C, L, O, P

SCALE = 10_000
"""Money is summed in ten-thousandths of the currency unit."""


class Dimension(StrEnum):
    CHANNEL = "channel"
    SKU = "sku"
    LOCATION = "location"
    TAG = "tag"
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True, slots=True)
class SalesRow:
    keys: tuple[str | None, ...]
    """One value per dimension asked for, in that order (None: a quarantined line's SKU, a line
    with no location)."""
    currency: str
    orders: int
    units: int
    revenue: Decimal
    unpriced: int
    cancelled: int
    returned: int
    refunded: int
    refunds: Decimal
    oversold: int


def _day(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", O.c.placed_at), "YYYY-MM-DD")
    return func.substr(O.c.placed_at, 1, 10)  # SQLite keeps UTC times as 'YYYY-MM-DD HH:MM:SS...'


def _week(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.date_trunc("week", func.timezone("UTC", O.c.placed_at)), "YYYY-MM-DD")
    return func.date(O.c.placed_at, "-6 days", "weekday 1")  # the Monday on or before


def _tags(conn: Connection) -> Any:
    """One row per tag of the product (``product.tags`` is comma-separated), as a table function."""
    if conn.dialect.name == "postgresql":
        return func.unnest(func.string_to_array(P.c.tags, ",")).table_valued("value").render_derived("tag")
    # a JSON array built from the comma-separated text; quotes and backslashes escaped first
    escaped = func.replace(func.replace(P.c.tags, "\\", "\\\\"), '"', '\\"')
    array = literal('["') + func.replace(escaped, ",", '","') + literal('"]')
    return func.json_each(array).table_valued("value").alias("tag")


def _money(units: Any) -> Any:
    return func.sum(units * cast(func.round(OL.c.unit_price * SCALE), BigInteger))


def sales(conn: Connection, since: datetime, until: datetime, by: Sequence[Dimension]) -> list[SalesRow]:
    """The sales of orders placed in ``[since, until)``, grouped by ``by`` and currency, ordered by
    the keys (a missing key first)."""
    units = OL.c.quantity - OL.c.cancelled
    currency = func.coalesce(O.c.currency, P.c.currency)
    source: Any = OL.join(O, O.c.id == OL.c.order_id).outerjoin(P, P.c.id == OL.c.product_id)
    keys: list[Any] = []
    for dim in by:
        if dim is Dimension.CHANNEL:
            keys.append(O.c.channel_id)
        elif dim is Dimension.SKU:
            keys.append(P.c.sku)
        elif dim is Dimension.LOCATION:
            keys.append(OL.c.location_id)
        elif dim is Dimension.TAG:
            tag = _tags(conn)
            source = source.join(tag, true())
            keys.append(tag.c.value)
        elif dim is Dimension.DAY:
            keys.append(_day(conn))
        elif dim is Dimension.WEEK:
            keys.append(_week(conn))
    labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
    q = (
        select(
            *labelled,
            currency.label("currency"),
            func.count(func.distinct(O.c.id)).label("orders"),
            func.sum(units).label("units"),
            _money(units).label("revenue"),
            func.sum(case((OL.c.unit_price.is_(None), units), else_=0)).label("unpriced"),
            func.sum(OL.c.cancelled).label("cancelled"),
            func.sum(OL.c.restocked).label("returned"),
            func.sum(OL.c.refunded).label("refunded"),
            _money(OL.c.refunded).label("refunds"),
            func.sum(OL.c.oversold).label("oversold"),
        )
        .select_from(source)
        .where(O.c.placed_at >= since, O.c.placed_at < until)
        .group_by(*(lab.element for lab in labelled), currency)
    )
    if Dimension.TAG in by:
        q = q.where(tag.c.value != "")
    names = _names(conn, by)
    found = [
        SalesRow(
            keys=tuple(_name(names.get(dim), r[i]) for i, dim in enumerate(by)),
            currency=str(r.currency),
            orders=int(r.orders),
            units=int(r.units or 0),
            revenue=_decimal(r.revenue),
            unpriced=int(r.unpriced or 0),
            cancelled=int(r.cancelled or 0),
            returned=int(r.returned or 0),
            refunded=int(r.refunded or 0),
            refunds=_decimal(r.refunds),
            oversold=int(r.oversold or 0),
        )
        for r in conn.execute(q)
    ]
    # ordered by the names (ids group faster than names, and only the names sort the way one reads)
    return sorted(found, key=lambda r: (*((k is not None, k or "") for k in r.keys), r.currency))


def _names(conn: Connection, by: Sequence[Dimension]) -> dict[Dimension, dict[Any, str]]:
    """Ids grouped by -> names, for the small tables (channels, locations)."""
    out: dict[Dimension, dict[Any, str]] = {}
    if Dimension.CHANNEL in by:
        out[Dimension.CHANNEL] = {r.id: str(r.name) for r in conn.execute(select(C.c.id, C.c.name))}
    if Dimension.LOCATION in by:
        out[Dimension.LOCATION] = {r.id: str(r.code) for r in conn.execute(select(L.c.id, L.c.code))}
    return out


def _name(names: dict[Any, str] | None, value: Any) -> str | None:
    if value is None:
        return None
    return names.get(value, str(value)) if names is not None else str(value)


def _decimal(value: Any) -> Decimal:
    return Decimal(int(value or 0)) / SCALE
