"""The read-model (omnisync.ledger.queries) on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from omnisync.ledger import queries
from omnisync.ledger.db import make_engine
from omnisync.ledger.intake_rows import IntakeChanges
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger
from omnisync.ledger.stock import order_movement_key

AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_reports_read_what_the_writes_left(ledger_url: str) -> None:
    engine = make_engine(ledger_url)
    upgrade(engine)
    ledger = Ledger(engine)
    with ledger.tx() as tx:
        wh = tx.ensure_location("WH")
        web = tx.ensure_channel("web:shop", "fake")
        mug = tx.upsert_product("MUG", title="Mug", price=Decimal("5"))
        tx.upsert_product("CUP", title="Cup", price=Decimal("4"))
        tx.record_movement("MUG", "WH", "receipt", 2, "r1", at=AT)
        key = order_movement_key("web:shop", "#1001", "L1")
        tx.apply_intake(
            IntakeChanges(
                channel_id=web,
                new_orders=[
                    {
                        "channel_id": web,
                        "external_id": "#1001",
                        "status": "open",
                        "digest": "d",
                        "location_id": None,
                        "updated_at": AT,
                        "imported_at": AT,
                    }
                ],
                new_lines=[
                    {
                        "order_id": None,
                        "external_id": "#1001",
                        "line_id": "L1",
                        "channel_sku": "MUG",
                        "product_id": mug,
                        "location_id": wh,
                        "quantity": 3,
                        "fulfilled": 1,
                        "cancelled": 0,
                        "restocked": 0,
                        "applied_fulfilled": 1,
                        "applied_restocked": 0,
                        "quarantined": False,
                        "quarantine_reason": None,
                    }
                ],
                new_reservations=[
                    {
                        "line_pk": None,
                        "external_id": "#1001",
                        "line_id": "L1",
                        "product_id": mug,
                        "location_id": wh,
                        "quantity": 3,
                    }
                ],
                reserved={(mug, wh): 3},
                stock_rows={(mug, wh)},
                movements=[
                    {
                        "product_id": mug,
                        "location_id": wh,
                        "kind": "sale",
                        "quantity": -1,
                        "idempotency_key": f"{key}:sale:0->1",
                        "reference": "#1001",
                        "note": None,
                        "created_at": AT,
                    }
                ],
            )
        )
    with ledger.read() as conn:
        assert [(o.sku, o.units) for o in queries.oversold(conn)] == [("MUG", 2)]  # 3 reserved, 1 on hand
        assert queries.last_order_channel(conn, mug) == web
        assert queries.imported_orders(conn, web) == ["#1001"]
        assert queries.known_orders(conn, web, ["#1001", "#1002"]) == {"#1001"}
        assert queries.stored_orders(conn) == {("web:shop", "#1001")}
        # the channel name holds a colon: it is read back whole, not cut at the first one
        assert queries.order_movements(conn) == {("web:shop", "#1001", "sale"): -1}
        books = queries.stock_books(conn)
        assert books.stock[("MUG", "WH")] == (1, 3)
        assert books.journal[("MUG", "WH")] == 1
        assert books.received[("MUG", "WH")] == 2
        assert books.held[("MUG", "WH")] == 3
        assert queries.sku_of(conn, mug) == "MUG"
        assert queries.quarantined_count(conn) == 0
        assert [r.external_id for r in queries.recent_orders(conn)] == ["#1001"]
        assert queries.channel_counts(conn, "nope") == queries.ChannelCounts(0, 0, 0)
        assert queries.last_run(conn, "web:shop") is None
        queries.ping(conn)


def test_lists_of_any_length_are_one_bound_value(ledger_url: str) -> None:
    """Intake's reads take the page's ids as one bound list (no IN list expanded per call, no chunks):
    past SQLite's old 999-parameter limit, empty, and with values that are not there."""
    engine = make_engine(ledger_url)
    upgrade(engine)
    ledger = Ledger(engine)
    skus = [f"S{n:05d}" for n in range(1500)]
    with ledger.tx() as tx:
        ids, _ = tx.upsert_products(
            [
                {
                    "sku": s,
                    "title": s,
                    "barcode": None,
                    "tags": [],
                    "price": Decimal("1"),
                    "currency": "EUR",
                    "active": True,
                }
                for s in skus
            ]
        )
        wh = tx.ensure_location("WH")
        tx.ensure_stock_rows((pid, wh) for pid in ids.values())
    fresh = Ledger(engine)  # no cached ids: every SKU is looked up
    with fresh.tx() as tx:
        found = fresh.find_product_ids(tx.conn, [*skus, "NOPE"])
        assert found == ids
        assert fresh.find_product_ids(tx.conn, []) == {}
        stock = fresh.stock_for(tx.conn, list(found.values()))
        assert stock == {pid: {wh: (0, 0)} for pid in ids.values()}
        assert tx.order_digests(1, ["nothing"]) == {}
    engine.dispose()
