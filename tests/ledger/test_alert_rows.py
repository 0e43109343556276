"""Alert rows in the ledger on both backends: bulk writes, reads, and a ledger whose alerts were kept
with JSON facts (before 0004_alerts_facts_text) keeps them through the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger

AT = datetime(2026, 3, 1, tzinfo=UTC)


def row(key: str, status: str, facts: dict[str, object]) -> dict[str, object]:
    return {
        "key": key,
        "kind": "oversold",
        "channel": None,
        "sku": key.split(":")[1],
        "status": status,
        "since": AT,
        "episode": 1,
        "summary": f"{key} summary",
        "facts": facts,
        "raised_at": AT,
        "resolved_at": None,
    }


def test_bulk_writes_and_reads(ledger_url: str) -> None:
    engine = make_engine(ledger_url)
    upgrade(engine)
    ledger = Ledger(engine)
    fresh = [row(f"oversold:SKU{n:04d}", "firing", {"units": n}) for n in range(1500)]
    with ledger.tx() as tx:
        tx.save_alerts(fresh, [], AT)
    with ledger.tx() as tx:
        tx.save_alerts([], [row("oversold:SKU0007", "resolved", {"units": 0})], AT)
        tx.mark_told("mail", [("oversold:SKU0007", 1, "firing")], AT)
        tx.mark_told("mail", [("oversold:SKU0007", 1, "resolved"), ("oversold:SKU0008", 1, "firing")], AT)
    with ledger.read() as conn:
        rows = {r["key"]: r for r in ledger.alert_rows(conn)}
        firing = ledger.alert_rows(conn, "firing")
        told = ledger.told(conn, "mail")
    assert len(rows) == 1500
    assert len(firing) == 1499
    assert rows["oversold:SKU0007"]["status"] == "resolved"
    assert rows["oversold:SKU0007"]["facts"] == {"units": 0}
    assert rows["oversold:SKU1499"]["facts"] == {"units": 1499}
    assert rows["oversold:SKU0001"]["since"] == AT
    assert told == {"oversold:SKU0007": (1, "resolved"), "oversold:SKU0008": (1, "firing")}
    engine.dispose()


def test_alerts_kept_with_json_facts_survive_the_upgrade(ledger_url: str) -> None:
    engine = make_engine(ledger_url)
    upgrade(engine, "0008_movement_bucket")
    facts = "CAST(:facts AS JSON)" if engine.dialect.name == "postgresql" else ":facts"
    with engine.begin() as conn:  # as the first alerts schema kept them: a JSON column
        conn.execute(
            text(
                "INSERT INTO alert (key, kind, status, episode, summary, facts, since, updated_at)"
                f" VALUES ('oversold:MUG', 'oversold', 'firing', 1, 'MUG is oversold', {facts}, :at, :at)"
            ),
            {
                "facts": '{"units": 2}',
                "at": AT.replace(tzinfo=None) if engine.dialect.name == "sqlite" else AT,
            },
        )
    upgrade(engine)
    ledger = Ledger(engine)
    with ledger.read() as conn:
        (kept,) = ledger.alert_rows(conn)
    assert kept["key"] == "oversold:MUG"
    assert kept["facts"] == {"units": 2}
    assert kept["since"] == AT
    engine.dispose()
