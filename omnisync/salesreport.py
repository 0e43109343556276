"""``omnisync report sales``: the period and grouping a merchant asks for, the ledger's sums as rows.

The sums are the ledger's (:func:`omnisync.ledger.sales.sales`, one SQL ``GROUP BY``); this module
reads the options, turns the rows into plain dicts (money as exact decimal strings) and writes CSV.
A period is given in UTC dates or times: ``--since`` is the first day counted, ``--until`` the last
(a date means the whole day); without them, the last 30 days up to now.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TextIO

from omnisync.ledger.repository import Ledger
from omnisync.ledger.sales import ORDER_LEVEL, Dimension, SalesRow, merged, sales

DEFAULT_DAYS = 30
FIELDS = tuple(f for f in SalesRow.__slots__ if f != "keys")
"""currency, then the numbers, in :class:`SalesRow` order."""
NUMBERS = (
    "orders",
    "units",
    "revenue",
    "unpriced",
    "cancelled",
    "returned",
    "refunded",
    "refunds",
    "oversold",
)


def dimensions(text: str) -> tuple[Dimension, ...]:
    """``channel,day`` -> the dimensions, in order; a ValueError naming a wrong or repeated one."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("--by: name at least one of " + ", ".join(d.value for d in Dimension))
    out: list[Dimension] = []
    for name in names:
        try:
            dim = Dimension(name)
        except ValueError:
            raise ValueError(
                f"--by: {name!r} is not one of " + ", ".join(d.value for d in Dimension)
            ) from None
        if dim in out:
            raise ValueError(f"--by: {name!r} is named twice")
        out.append(dim)
    if Dimension.DAY in out and Dimension.WEEK in out:
        raise ValueError("--by: day and week together: choose one")
    return tuple(out)


def _moment(option: str, text: str, *, end: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        example = "a date (2026-12-01) or a time (2026-12-01T09:00)"
        raise ValueError(f"{option}: {text!r} is not {example}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def period(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC from the options (dates inclusive), by default the last 30 days."""
    end = _moment("--until", until, end=True) if until else now
    start = _moment("--since", since, end=False) if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise ValueError(f"the period is empty: --since {start:%Y-%m-%d %H:%M} is not before --until")
    return start, end


def row_dict(by: Sequence[Dimension], row: SalesRow) -> dict[str, Any]:
    out: dict[str, Any] = {dim.value: key for dim, key in zip(by, row.keys, strict=True)}
    out["currency"] = row.currency
    for name in NUMBERS:
        value = getattr(row, name)
        out[name] = money(value) if isinstance(value, Decimal) else value
    return out


def money(value: Decimal) -> str:
    """An exact amount with at least two decimals (12.5 -> "12.50", 0.125 -> "0.125")."""
    cents = value.quantize(Decimal("0.01"))
    return f"{cents:.2f}" if cents == value else format(value.normalize(), "f")


def report(
    ledger: Ledger, start: datetime, end: datetime, by: Sequence[Dimension], *, currency: str = "EUR"
) -> dict[str, Any]:
    """The report as plain data: the period, the grouping, one row per group and currency, and the
    totals per currency. ``currency`` is the merchant's, for orders whose channel named none."""
    with ledger.read() as conn:
        rows = sales(conn, start, end, by, currency=currency)
        # grouped by order-level keys only, each order is in one row: the totals are the rows' sums;
        # by SKU, location or tag, an order (and with tags, a line) can be in several
        totals = _summed(rows) if set(by) <= ORDER_LEVEL else sales(conn, start, end, (), currency=currency)
    return {
        "since": start.isoformat(),
        "until": end.isoformat(),
        "by": [d.value for d in by],
        "rows": [row_dict(by, r) for r in rows],
        "totals": [row_dict((), r) for r in totals],
    }


def _summed(rows: Sequence[SalesRow]) -> list[SalesRow]:
    """The rows' totals per currency."""
    bare = [SalesRow((), *(getattr(r, f) for f in FIELDS)) for r in rows]
    return merged(sorted(bare, key=lambda r: r.currency))


def write_csv(data: dict[str, Any], out: TextIO) -> int:
    """The rows as CSV, one column per dimension then the currency and the numbers."""
    columns = [*data["by"], "currency", *NUMBERS]
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    rows: Iterable[dict[str, Any]] = data["rows"]
    n = 0
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
        n += 1
    return n
