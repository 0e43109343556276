"""The bulk statement helpers store exactly what a Core INSERT stores, on every backend, however the rows
are split into statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, Numeric, String, Table, insert, select

from omnisync.ledger import statements
from omnisync.ledger.db import make_engine
from omnisync.ledger.models import UTCDateTime
from omnisync.ledger.statements import insert_many, numbered_rows

META = MetaData()
T = Table(
    "bulk_probe",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String(32), nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("price", Numeric(14, 4)),
    Column("updated_at", UTCDateTime()),
    Column("placed_at", UTCDateTime()),
)


def rows(n: int) -> list[dict[str, object]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "name": f"row-{i}",
            "flag": i % 2 == 0,
            "price": None if i % 3 == 0 else Decimal("1.25") * i,
            # two columns sharing one time (processed once), and a time in another zone
            "updated_at": start + timedelta(seconds=i),
            "placed_at": (start + timedelta(seconds=i)).astimezone(timezone(timedelta(hours=2)))
            if i % 4 == 0
            else start + timedelta(seconds=i),
        }
        for i in range(n)
    ]


def test_numbered_rows_are_postgresql_placeholders_in_order() -> None:
    assert numbered_rows(3, 2) == "($1, $2, $3), ($4, $5, $6)"


def test_insert_many_stores_what_a_core_insert_stores(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statements, "MAX_PARAMS", 50)  # 10 rows a statement: split on PostgreSQL
    engine = make_engine(ledger_url)
    META.create_all(engine)
    wanted = rows(23)
    with engine.begin() as conn:
        found = insert_many(conn, T, wanted, returning=("name", "id"))
        assert sorted(name for name, _ in found) == sorted(str(r["name"]) for r in wanted)
        assert len({pk for _, pk in found}) == len(wanted)
        conn.execute(insert(T), [{**r, "name": f"core-{r['name']}"} for r in wanted])
    with engine.connect() as conn:
        stored = {r.name: r[2:] for r in conn.execute(select(T).order_by(T.c.id))}
    for r in wanted:
        assert stored[str(r["name"])] == stored[f"core-{r['name']}"]
    assert stored["row-4"][2] == stored["row-4"][3] == datetime(2026, 1, 1, 0, 0, 4, tzinfo=UTC)
    engine.dispose()
