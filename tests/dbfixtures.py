"""Ledger backends for the tests: SQLite always, PostgreSQL where a server answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("OMNISYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_ok: bool | None = None


def pg_available() -> bool:
    global _pg_ok
    if _pg_ok is None:
        try:
            eng = create_engine(PG_URL, connect_args={"connect_timeout": 2})
            with eng.connect() as conn:
                conn.execute(text("select 1"))
            eng.dispose()
            _pg_ok = True
        except Exception:
            _pg_ok = False
    return _pg_ok


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    yield from pg_schema_url()


def pg_schema_url() -> Iterator[str]:
    """A ledger URL on a fresh PostgreSQL schema, dropped afterwards (skips where no server answers)."""
    if not pg_available():
        pytest.skip(f"no PostgreSQL server answers at {PG_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
