"""Statement helpers every aggregate uses: insert-or-ignore, multi-row inserts, executemany, and
membership in one bound list (:func:`one_of`), so a statement is compiled once whatever the list's
length."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Boolean, Connection, Text, bindparam, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Integer, TypeDecorator, TypeEngine


class ValueList(TypeDecorator[list[Any]]):
    """A list of ids or keys bound as ONE parameter: a JSON array on SQLite (read with ``json_each``),
    an array on PostgreSQL (read with ``= ANY``)."""

    impl = Text
    cache_ok = True

    def __init__(self, integers: bool) -> None:
        super().__init__()
        self.integers = integers

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(BigInteger() if self.integers else Text()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Iterable[Any] | None, dialect: Dialect) -> Any:
        items = list(value or ())
        return items if dialect.name == "postgresql" else json.dumps(items)


class OneOf(ColumnElement[bool]):
    """``column`` is one of the values of the list bound as ``name`` (see :func:`one_of`)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a predicate: never rendered as "(...) = 1" on SQLite
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own declaration style
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.values = bindparam(name, type_=ValueList(isinstance(column.type, Integer)))


def one_of(column: Any, name: str) -> ColumnElement[bool]:
    """``column IN (the list bound as name)`` with the list as one parameter: the statement text does
    not depend on the list's length, so it is compiled once and never expanded per call, and there is
    no limit on the number of values (SQLite ``json_each``, PostgreSQL ``= ANY(array)``)."""
    return OneOf(column, name)


@compiles(OneOf)
def _one_of_json_each(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    # both parts compiled by SQLAlchemy (a column, a bound parameter): no value enters the text
    return f"{column} IN (SELECT value FROM json_each({compiler.process(element.values, **kw)}))"  # noqa: S608


@compiles(OneOf, "postgresql")
def _one_of_any(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.values, **kw)})"


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


class NotIndexed(ColumnElement[Any]):
    """A column SQLite must not pick an index for (see :func:`not_indexed`)."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012 - SQLAlchemy's style

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


def not_indexed(column: Any) -> ColumnElement[Any]:
    """``column`` in a condition that must not drive SQLite's choice of index: written ``+column``,
    SQLite's documented way to disqualify a term from index use. Without statistics, SQLite prefers
    ``ix_listing_dirty (channel_id, dirty)`` over the primary key for ``dirty = 0 AND product_id IN
    (list)`` and walks every clean listing of the channel. Other databases see the column itself."""
    return NotIndexed(column)


@compiles(NotIndexed)
def _not_indexed(element: NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(NotIndexed, "sqlite")
def _not_indexed_sqlite(element: NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + str(compiler.process(element.column, **kw))


Processor = Callable[[Any], Any] | None

COMPILED: dict[tuple[int, str, str], Compiled] = {}


class Compiled(NamedTuple):
    """A statement compiled for one dialect, with what binding values to it needs."""

    compiled: Any
    names: list[str]
    """Its bound values, in the order the driver takes them."""
    processors: list[Processor]
    literals: dict[str, Any]
    """Values the statement itself holds (``version + 1``, ``dirty = true``)."""


def shaped(
    rows: Sequence[Mapping[str, Any]], names: Sequence[str], processors: Sequence[Processor]
) -> list[Any]:
    """Rows of bound values as tuples in ``names`` order, each value through its column's bind
    processor: a column at a time, so the per-value work runs in C where the type needs none."""
    if not rows:
        return []
    get = itemgetter(*names)
    params: list[Any] = list(map(get, rows)) if len(names) > 1 else [(get(row),) for row in rows]
    todo = [(i, f) for i, f in enumerate(processors) if f is not None]
    if todo:
        columns: list[Any] = list(zip(*params, strict=True))
        done: dict[Callable[[Any], Any], dict[Any, Any]] = {}
        for i, f in todo:
            columns[i] = _processed(f, columns[i], done.setdefault(f, {}))
        params = list(zip(*columns, strict=True))
    return params


def _processed(process: Callable[[Any], Any], values: Sequence[Any], done: dict[Any, Any]) -> list[Any]:
    """``process`` applied to each value, once per distinct value (a page's rows repeat the same
    times, flags and ids, and a TypeDecorator's processing costs more than a lookup); the lookups
    run in C (``set``, ``map``), only the distinct values in Python. ``done`` holds the values
    processed already, shared by the columns of one processor (an order's update and placing time
    are often the same)."""
    if len(values) == 1:  # one row (a statement run once, its lists unhashable): nothing to share
        return [process(values[0])]
    try:
        for value in set(values).difference(done):
            done[value] = process(value)
    except TypeError:  # unhashable (a JSON column's dict)
        return [process(value) for value in values]
    return list(map(done.__getitem__, values))


def compiled_once(conn: Connection, stmt: Any) -> Compiled:
    """A module-level Core statement compiled for the connection's dialect, once."""
    key = (id(stmt), conn.dialect.name, conn.dialect.driver)
    found = COMPILED.get(key)
    if found is None:
        compiled = stmt.compile(dialect=conn.dialect)
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        binds = [compiled.binds[name] for name in names]
        found = COMPILED[key] = Compiled(
            compiled,
            names,
            [b.type.bind_processor(conn.dialect) for b in binds],
            {name: b.effective_value for name, b in zip(names, binds, strict=True) if not b.required},
        )
    return found


def _driver_params(c: Compiled, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    if c.literals:
        rows = [{**c.literals, **row} for row in rows]
    params = shaped(rows, c.names, c.processors)
    if not c.compiled.positional:
        params = [dict(zip(c.names, values, strict=True)) for values in params]
    return params


def run(conn: Connection, sql: str, params: Any, *, many: bool = False, numbered: bool = False) -> list[Any]:
    """Run prepared SQL on the connection's own driver cursor, inside the transaction the connection
    holds: no per-call execution context, rows as plain tuples (no result processing). A driver error
    comes out as SQLAlchemy's (``IntegrityError`` ...), as from ``Connection.execute``. ``numbered``:
    the SQL has psycopg's server-side placeholders (``$1``), passed on as they are (see
    :func:`numbered_rows`)."""
    dbapi = conn.dialect.loaded_dbapi
    driver: Any = conn.connection.driver_connection
    cursor = dbapi.RawCursor(driver) if numbered else driver.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi.Error) from exc
    finally:
        cursor.close()


def result_processor(conn: Connection, column: Any) -> Callable[[Any], Any]:
    """What SQLAlchemy does to a value of ``column`` read from the driver (for rows :func:`run` and
    :func:`execute_once` return as the driver gives them)."""
    process = column.type._cached_result_processor(conn.dialect, None)
    return process if process is not None else _same


def _same(value: Any) -> Any:
    return value


def execute_many(conn: Connection, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run a module-level Core statement once per row of bound values through the driver's
    executemany: compiled once per dialect, each value through its bind processor, none of
    SQLAlchemy's per-row bookkeeping."""
    if rows:
        c = compiled_once(conn, stmt)
        run(conn, c.compiled.string, _driver_params(c, rows), many=True)


def execute_once(conn: Connection, stmt: Any, values: Mapping[str, Any]) -> list[Any]:
    """Run a module-level Core statement with one set of bound values, compiled once per dialect;
    returns its rows as the driver gives them (no result processing), fetched at once."""
    c = compiled_once(conn, stmt)
    (params,) = _driver_params(c, [values])
    return run(conn, c.compiled.string, params)


class _InsertShape(NamedTuple):
    head: str
    """``INSERT INTO table (columns) VALUES ``"""
    one: str
    """One row's placeholders."""
    processors: list[Processor]
    """Each column's bind processor for the dialect."""


INSERT_SHAPES: dict[tuple[Any, tuple[str, ...], str, str], _InsertShape] = {}


def _insert_shape(conn: Connection, table: Any, columns: Sequence[str], mark: str) -> _InsertShape:
    """The text and bind processors of a multi-row INSERT into these columns, made once per dialect
    (intake inserts three tables per page; building them cost as much as shaping a page's values)."""
    key = (table, tuple(columns), conn.dialect.name, conn.dialect.driver)
    found = INSERT_SHAPES.get(key)
    if found is None:
        q = conn.dialect.identifier_preparer.quote
        # identifiers quoted by the dialect, every value bound: nothing from the caller enters the text
        head = f"INSERT INTO {q(table.name)} ({', '.join(q(c) for c in columns)}) VALUES "  # noqa: S608
        found = INSERT_SHAPES[key] = _InsertShape(
            head,
            "(" + ", ".join([mark] * len(columns)) + ")",
            [table.c[c].type.bind_processor(conn.dialect) for c in columns],
        )
    return found


def insert_many(
    conn: Connection,
    table: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: Sequence[str] = (),
    ignore_conflicts: bool = False,
    columns: Sequence[str] | None = None,
) -> list[tuple[Any, ...]]:
    """INSERT many rows (all with the keys of the first), as few multi-row statements; with
    ``returning``, those columns of the rows inserted (with ``ignore_conflicts``, a row that hits a
    unique constraint is skipped and not returned).

    What SQLAlchemy's "insertmanyvalues" does, minus its per-value bookkeeping, which costs four times
    the database's own work on a page of orders: values still go through each column type's bind
    processor, so they are stored exactly as a Core INSERT would store them. ``columns`` names the
    columns to write where the rows carry more keys.
    """
    if not rows:
        return []
    columns = list(rows[0]) if columns is None else list(columns)
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
    head, one, processors = _insert_shape(conn, table, columns, mark)
    params = shaped(rows, columns, processors)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if not returning and conn.dialect.name == "sqlite":
        run(conn, head + one + tail, params, many=True)  # one prepared statement, stepped per row
        return []
    # PostgreSQL: multi-row VALUES, a round trip per statement instead of per row
    if returning:
        q = conn.dialect.identifier_preparer.quote
        tail += " RETURNING " + ", ".join(q(c) for c in returning)
    numbered = conn.dialect.driver == "psycopg" and hasattr(conn.dialect.loaded_dbapi, "RawCursor")
    found: list[tuple[Any, ...]] = []
    size = max(1, MAX_PARAMS // len(columns))
    for start in range(0, len(params), size):
        batch = params[start : start + size]
        values = numbered_rows(len(columns), len(batch)) if numbered else ", ".join([one] * len(batch))
        found.extend(run(conn, head + values + tail, tuple(chain.from_iterable(batch)), numbered=numbered))
    return found


@lru_cache(maxsize=64)
def numbered_rows(width: int, rows: int) -> str:
    """``($1, $2), ($3, $4)``: the VALUES of ``rows`` rows of ``width`` columns in PostgreSQL's own
    placeholders. psycopg rewrites ``%s`` placeholders by parsing the statement on every call when
    it has more than 50 (a page of order lines has 3,200: a fifth of intake's CPU on PostgreSQL);
    with its raw cursor the text goes to the server as it is, and is the same for every page."""
    return ", ".join(
        "(" + ", ".join(f"${n}" for n in range(row * width + 1, row * width + width + 1)) + ")"
        for row in range(rows)
    )
