"""The reorder list read from the ledger on both backends: daily sales weighted in SQL, stock, stock on
order and supplier terms, through the same pure rules as a dense series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from omnisync.config import ReplenishmentConfig
from omnisync.engine.intake import ChannelIntake, import_orders
from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger
from omnisync.reorder import reorder_list
from omnisync.replenishment import Policy, SupplierTerms, suggest
from omnisync.sdk.models import Order, OrderLine, OrderStatus

NOW = datetime(2026, 6, 30, 15, tzinfo=UTC)
SOLD = {0: 5, 1: 2, 3: 9, 6: 1, 20: 4}
"""Days back -> mugs sold at the warehouse that day (day 20: outside the 14-day window, not read)."""


def test_the_list_is_the_pure_rule_over_the_ledger(ledger_url: str) -> None:
    ledger = Ledger(make_engine(ledger_url))
    upgrade(ledger.engine)
    with ledger.tx() as tx:
        wh = tx.ensure_location("WH")
        tx.ensure_location("STORE", kind="store")
        cid = tx.ensure_channel("web", "fake")
        mug = tx.upsert_product("MUG", title="Mug", price=Decimal("5"))
        tx.upsert_product("OLD", title="Old", price=Decimal("5"), active=False)
        tx.set_terms({mug: {"lead_time_days": 4.0, "moq": 12, "pack": 6, "service_level": 0.9}})
        tx.record_movement("MUG", "WH", "receipt", 30, "r1", at=NOW - timedelta(days=60))
        tx.record_movement("OLD", "WH", "receipt", 1, "r2", at=NOW - timedelta(days=60))
        tx.expect("PO-7", mug, wh, 5, expected_at=NOW + timedelta(days=3), at=NOW)
    web = ChannelIntake("web", cid, ("WH",), resolve_sku=lambda s: s)
    orders = [
        Order(f"O{age}", OrderStatus.FULFILLED, at, (OrderLine("1", "MUG", n, fulfilled=n),), created_at=at)
        for age, n in SOLD.items()
        for at in [NOW - timedelta(days=age, hours=1)]
    ]
    orders.append(
        Order("OLD1", OrderStatus.FULFILLED, NOW, (OrderLine("1", "OLD", 1, fulfilled=1),), created_at=NOW)
    )
    import_orders(ledger, web, orders, at=NOW)
    config = ReplenishmentConfig(history_days=14, half_life_days=5, review_days=3)
    rows = reorder_list(ledger, config, NOW)
    assert [(r.sku, r.location) for r in rows] == [("MUG", "WH")], "inactive SKUs are not listed"
    row = rows[0]
    dense = [SOLD.get(age, 0) for age in range(13, -1, -1)]  # oldest first
    want = suggest(
        dense,
        on_hand=30 - 21,
        incoming=5,
        terms=SupplierTerms(lead_time_days=4, moq=12, pack=6),
        policy=Policy(0.9, 5, 3),
    )
    got = row.suggestion
    assert got.velocity == pytest.approx(want.velocity)
    assert got.seen.sigma == pytest.approx(want.seen.sigma)
    assert (got.reorder_point, got.safety_stock, got.quantity) == (
        want.reorder_point,
        want.safety_stock,
        want.quantity,
    )
    assert got.quantity > 0
    assert got.quantity % 6 == 0
    assert row.available == 9
    assert got.incoming == 5
    assert row.expected == NOW + timedelta(days=3)
    # the purchase order comes in: the ledger expects no more of it
    with ledger.tx() as tx:
        assert tx.receive_expected("PO-7", mug, wh, 25) == 5
    assert reorder_list(ledger, config, NOW)[0].suggestion.incoming == 0
