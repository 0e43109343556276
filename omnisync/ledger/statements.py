"""Statement helpers every aggregate uses: insert-or-ignore, multi-row inserts, executemany."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.dialects import postgresql, sqlite


def new_id(result: Any) -> int:
    return int(result.inserted_primary_key[0])


def insert_ignore(conn: Connection, table: Any, values: Mapping[str, Any], *keys: str) -> bool:
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


MAX_PARAMS = 30_000
"""Bound parameters per statement (SQLite allows 32,766, PostgreSQL 65,535)."""


def placeholder(conn: Connection) -> str | None:
    style = conn.dialect.paramstyle
    return "?" if style == "qmark" else "%s" if style in ("format", "pyformat") else None


COMPILED: dict[tuple[int, str, str], tuple[Any, list[str], list[Any]]] = {}


def execute_many(conn: Connection, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run a module-level Core statement once per row of bound values through the driver's
    executemany: compiled once per dialect, each value through its bind processor, none of
    SQLAlchemy's per-row bookkeeping."""
    key = (id(stmt), conn.dialect.name, conn.dialect.driver)
    if key not in COMPILED:
        compiled = stmt.compile(dialect=conn.dialect)
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        procs = [compiled.binds[name].type.bind_processor(conn.dialect) for name in names]
        COMPILED[key] = (compiled, names, procs)
    compiled, names, procs = COMPILED[key]
    shaped: list[Any] = [
        tuple(v if f is None else f(v) for f, v in zip(procs, map(row.__getitem__, names), strict=True))
        for row in rows
    ]
    if not compiled.positional:
        shaped = [dict(zip(names, values, strict=True)) for values in shaped]
    conn.exec_driver_sql(compiled.string, shaped)


def insert_many(
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
    mark = placeholder(conn)
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
    size = max(1, MAX_PARAMS // len(columns))
    for start in range(0, len(params), size):
        batch = params[start : start + size]
        flat = tuple(value for row in batch for value in row)
        found.extend(
            tuple(r) for r in conn.exec_driver_sql(head + ", ".join([one] * len(batch)) + tail, flat)
        )
    return found
