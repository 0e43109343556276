"""The sales read model: order lines summed in SQL, grouped by channel, SKU, location, tag, day or week.

One statement per report, a ``GROUP BY`` on SQLite and PostgreSQL alike; Python only names the ids
the database grouped by. Grouped by channel, day or week alone, it sums the orders' cached totals
(:func:`refresh_order_totals`, kept with the lines in intake's transaction, as ``on_hand`` is kept with
the journal): a year of a million orders is one pass over an index. By SKU, location or tag it sums
the lines. Every per-line rule is written once, in :data:`LINE_FACTS`. The numbers, per group and
currency:

* ``orders``: distinct orders with a line in the group; ``units``: ordered less cancelled;
* ``revenue``: units × the line's unit price, in the order's currency (the merchant's when the
  channel named none); ``unpriced``: units whose channel reported no price (not in ``revenue``);
* ``cancelled``, ``returned`` (restocked), ``refunded`` units, and ``refunds``: refunded × unit price;
* ``oversold``: units the ledger did not have available where a line was routed when it arrived.

Money is summed as whole ten-thousandths (``Numeric(14, 4)`` holds no more), so the sum is exact on
SQLite, which keeps numerics as floating point, and is returned as :class:`~decimal.Decimal`.
Days and weeks are UTC calendar days; a week is named by its Monday (ISO weeks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Connection, case, cast, func, literal, literal_column, select, true, update

from .statements import execute_once, one_of
from .tables import IN_CHUNK, OL, C, L, O, P

SCALE = 10_000
"""Money is summed in ten-thousandths of the currency unit."""

_SOLD = OL.c.quantity - OL.c.cancelled
_PRICE = cast(func.round(OL.c.unit_price * SCALE), BigInteger)
LINE_FACTS: dict[str, Any] = {
    "lines": literal(1),
    "units": _SOLD,
    "revenue_e4": _SOLD * _PRICE,
    "unpriced": case((OL.c.unit_price.is_(None), _SOLD), else_=0),
    "cancelled": OL.c.cancelled,
    "returned": OL.c.restocked,
    "refunded": OL.c.refunded,
    "refunds_e4": OL.c.refunded * _PRICE,
    "oversold": OL.c.oversold,
}
"""What one order line adds to each sum: the only home of these rules. The order's cached totals
(``sales_order``'s columns of the same names) are their sums over its lines."""


class Dimension(StrEnum):
    CHANNEL = "channel"
    SKU = "sku"
    LOCATION = "location"
    TAG = "tag"
    DAY = "day"
    WEEK = "week"


ORDER_LEVEL = frozenset({Dimension.CHANNEL, Dimension.DAY, Dimension.WEEK})
"""Dimensions of the order itself: grouped by these alone, the report reads the orders' totals."""


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


_NUMBERS = tuple(f for f in SalesRow.__slots__ if f not in ("keys", "currency"))


def day_of(conn: Connection, column: Any = O.c.placed_at) -> Any:
    """The UTC calendar day an order was placed on, as 'YYYY-MM-DD'."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    # SQLite keeps UTC times as 'YYYY-MM-DD HH:MM:SS...'; the same expression is indexed (0004)
    return func.substr(column, literal_column("1"), literal_column("10"))  # as indexed: no parameters


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


_TOTALS = {
    name: select(func.coalesce(func.sum(expr), 0)).where(OL.c.order_id == O.c.id).scalar_subquery()
    for name, expr in LINE_FACTS.items()
}
_SUMS = (
    select(
        OL.c.order_id.label("order_id"),
        *(func.coalesce(func.sum(expr), 0).label(name) for name, expr in LINE_FACTS.items()),
    )
    .where(one_of(OL.c.order_id, "ids"))
    .group_by(OL.c.order_id)
    .subquery("sums")
)
REFRESH_TOTALS = (
    update(O).where(O.c.id == _SUMS.c.order_id).values({name: _SUMS.c[name] for name in LINE_FACTS})
)
"""Every page of intake runs it: the page's orders' lines summed in one grouped pass (UPDATE ... FROM),
compiled once, the orders bound as one list. An order without lines keeps its totals (0 as created:
lines are never deleted)."""


def refresh_order_totals(conn: Connection, order_ids: Iterable[int] | None) -> None:
    """Set the cached totals of these orders (None: of every order) to the sums of their lines."""
    if order_ids is None:
        conn.execute(update(O).values(_TOTALS))
        return
    ids = sorted(set(order_ids))
    if ids:
        execute_once(conn, REFRESH_TOTALS, {"ids": ids})


def sales(
    conn: Connection,
    since: datetime,
    until: datetime,
    by: Sequence[Dimension],
    *,
    currency: str = "EUR",
) -> list[SalesRow]:
    """The sales of orders placed in ``[since, until)``, grouped by ``by`` and currency (``currency``
    where the channel named none), ordered by the keys (a missing key first). Grouped by order-level
    dimensions only, the orders' cached totals are summed; otherwise their lines."""
    keys: dict[Dimension, Any] = {}
    order_level = set(by) <= ORDER_LEVEL
    source: Any = O if order_level else OL.join(O, O.c.id == OL.c.order_id)
    if Dimension.TAG in by:
        source = source.outerjoin(P, P.c.id == OL.c.product_id)
    # in this order, the grouping follows SQLite's index on (day, channel, currency)
    for dim in sorted(
        by, key=lambda d: (d not in (Dimension.DAY, Dimension.WEEK), d is not Dimension.CHANNEL)
    ):
        if dim is Dimension.DAY:
            keys[dim] = day_of(conn)
        elif dim is Dimension.WEEK:
            keys[dim] = _week(conn)
        elif dim is Dimension.CHANNEL:
            keys[dim] = O.c.channel_id
        elif dim is Dimension.SKU:
            keys[dim] = OL.c.product_id  # named after grouping: no product row read per line
        elif dim is Dimension.LOCATION:
            keys[dim] = OL.c.location_id
        elif dim is Dimension.TAG:
            tag = _tags(conn)
            source = source.join(tag, true())
            keys[dim] = tag.c.value
    shown = O.c.currency  # grouped as stored (as indexed); None becomes ``currency`` below
    orders: Any
    if order_level:
        sums = {name: func.sum(O.c[name]) for name in LINE_FACTS}
        orders = func.sum(case((O.c.lines > 0, 1), else_=0))
    else:
        sums = {name: func.sum(expr) for name, expr in LINE_FACTS.items()}
        orders = func.count(func.distinct(O.c.id))
    q = (
        select(
            *(k.label(f"k_{dim.value}") for dim, k in keys.items()),
            shown.label("currency"),
            orders.label("orders"),
            *(total.label(name) for name, total in sums.items()),
        )
        .select_from(source)
        .where(O.c.placed_at >= since, O.c.placed_at < until)
        .group_by(*keys.values(), shown)
    )
    if order_level and conn.dialect.name == "sqlite":
        # the day bounds let SQLite read its (day, channel, currency, ...) index in range, alone
        day = day_of(conn)
        q = q.where(day >= f"{since:%Y-%m-%d}", day <= f"{until:%Y-%m-%d}")
    if Dimension.TAG in by:
        q = q.where(keys[Dimension.TAG] != "")
    rows = list(conn.execute(q))
    names = _names(conn, by)
    if Dimension.SKU in by:
        ids = sorted({r.k_sku for r in rows if r.k_sku is not None})
        names[Dimension.SKU] = _skus(conn, ids)
    found = [
        SalesRow(
            keys=tuple(_name(names.get(dim), getattr(r, f"k_{dim.value}")) for dim in by),
            currency=str(r.currency or currency),
            orders=int(r.orders or 0),
            units=int(r.units or 0),
            revenue=_decimal(r.revenue_e4),
            unpriced=int(r.unpriced or 0),
            cancelled=int(r.cancelled or 0),
            returned=int(r.returned or 0),
            refunded=int(r.refunded or 0),
            refunds=_decimal(r.refunds_e4),
            oversold=int(r.oversold or 0),
        )
        for r in rows
    ]
    # ordered by the names (ids group faster than names, and only the names sort the way one reads)
    return merged(sorted(found, key=lambda r: (*((k is not None, k or "") for k in r.keys), r.currency)))


def merged(rows: Sequence[SalesRow]) -> list[SalesRow]:
    """Neighbouring rows of the same keys and currency as one (orders with no currency named and
    orders in the merchant's currency; the totals of several rows)."""
    out: list[SalesRow] = []
    for row in rows:
        if out and (out[-1].keys, out[-1].currency) == (row.keys, row.currency):
            last = out[-1]
            row = SalesRow(last.keys, last.currency, *(getattr(last, f) + getattr(row, f) for f in _NUMBERS))
            out[-1] = row
        else:
            out.append(row)
    return out


def _skus(conn: Connection, ids: Sequence[int]) -> dict[Any, str]:
    out: dict[Any, str] = {}
    for start in range(0, len(ids), IN_CHUNK):
        q = select(P.c.id, P.c.sku).where(P.c.id.in_(ids[start : start + IN_CHUNK]))
        out.update({r.id: str(r.sku) for r in conn.execute(q)})
    return out


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
