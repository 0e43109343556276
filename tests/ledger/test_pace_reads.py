"""The adaptive policy's reads (omnisync.ledger.pace) on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from omnisync.ledger import pace
from omnisync.ledger.db import make_engine
from omnisync.ledger.intake_rows import IntakeChanges
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger, LedgerTx

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def sell(
    tx: LedgerTx,
    channel: int,
    order: str,
    product: int,
    location: int,
    at: datetime,
    quantity: int,
    cancelled: int = 0,
    quarantined: bool = False,
) -> None:
    tx.apply_intake(
        IntakeChanges(
            channel_id=channel,
            new_orders=[
                {
                    "channel_id": channel,
                    "external_id": order,
                    "status": "open",
                    "digest": "d",
                    "location_id": location,
                    "updated_at": at,
                    "imported_at": at,
                }
            ],
            new_lines=[
                {
                    "order_id": None,
                    "external_id": order,
                    "line_id": "L1",
                    "channel_sku": "x",
                    "product_id": product,
                    "location_id": location,
                    "quantity": quantity,
                    "fulfilled": 0,
                    "cancelled": cancelled,
                    "restocked": 0,
                    "applied_fulfilled": 0,
                    "applied_restocked": 0,
                    "quarantined": quarantined,
                    "quarantine_reason": "unknown" if quarantined else None,
                }
            ],
        )
    )


def run(tx: LedgerTx, channel: str, kind: str, started: datetime, seconds: float, ok: bool = True) -> None:
    run_id = tx.start_run(channel, kind, started, None)
    tx.finish_run(run_id, {"finished_at": started + timedelta(seconds=seconds), "ok": ok})


def test_units_sold_per_window_latency_records_and_last_pulls(ledger_url: str) -> None:
    engine = make_engine(ledger_url)
    upgrade(engine)
    ledger = Ledger(engine)
    with ledger.tx() as tx:
        wh, store = tx.ensure_location("WH"), tx.ensure_location("STORE")
        web, pos = tx.ensure_channel("web", "fake"), tx.ensure_channel("pos", "fake")
        mug = tx.upsert_product("MUG", title="Mug", price=Decimal("5"))
        cup = tx.upsert_product("CUP", title="Cup", price=Decimal("4"))
        sell(tx, web, "w1", mug, wh, ago(60), 2)
        sell(tx, web, "w2", mug, wh, ago(2000), 3, cancelled=1)  # 2 units count
        sell(tx, web, "w3", mug, store, ago(30), 1)
        sell(tx, pos, "p1", mug, store, ago(10), 4)
        sell(tx, pos, "p2", cup, store, ago(5000), 1)
        sell(tx, pos, "p3", cup, store, ago(20), 5, quarantined=True)  # never counted
        sell(tx, pos, "p4", cup, store, ago(90000), 9)  # older than every window
        sell(tx, web, "w4", cup, wh, ago(10), 2, cancelled=2)  # all cancelled: nothing
        run(tx, "web", "push", ago(100), 5)
        run(tx, "web", "pull", ago(50), 2)
        run(tx, "web", "cycle", ago(40), 1, ok=False)
        run(tx, "pos", "cycle", ago(200), 3)
        run(tx, "pos", "reconcile", ago(5000), 3)
    windows = (900.0, 3600.0, 86400.0)
    with ledger.read() as conn:
        sold = pace.units_sold(conn, windows, NOW)
        assert sold == {
            mug: {("web", "WH"): (2, 4, 4), ("web", "STORE"): (1, 1, 1), ("pos", "STORE"): (4, 4, 4)},
            cup: {("pos", "STORE"): (0, 0, 1)},
        }
        assert pace.units_sold(conn, windows, NOW, product_ids=[cup]) == {cup: sold[cup]}
        # each channel's windows end at its own instant: web's last read 45 s ago leaves out w3
        anchored = pace.units_sold(conn, windows, NOW, {"web": ago(45)})
        assert anchored[mug][("web", "WH")] == (2, 4, 4)
        assert ("web", "STORE") not in anchored[mug]
        assert anchored[mug][("pos", "STORE")] == (4, 4, 4)
        imported = [("web", 60), ("web", 2000), ("web", 30), ("pos", 10), ("pos", 20), ("web", 10)]
        assert sorted(pace.sales_imported(conn, ago(3600))) == sorted((c, ago(s)) for c, s in imported)
        pushes = pace.pushes_acknowledged(conn, ago(3600))
        assert pushes == {"web": [(ago(100), ago(95))], "pos": [(ago(200), ago(197))]}
        assert pace.last_pulls(conn, ago(86400)) == {"web": ago(48), "pos": ago(197)}
        assert pace.last_pulls(conn, ago(150)) == {"web": ago(48)}
        assert pace.failed_since(conn, ago(86400)) == ({"web": ago(39)}, {"web": ago(39)})
        assert pace.last_import(conn) == ago(10)
