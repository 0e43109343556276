"""``report sales`` on both backends: orders imported through intake, summed by the ledger's SQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from omnisync import salesreport
from omnisync.engine.intake import ChannelIntake, import_orders
from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger
from omnisync.ledger.sales import Dimension
from omnisync.sdk.models import Order, OrderLine, OrderStatus

MON = datetime(2026, 3, 2, 10, tzinfo=UTC)  # a Monday
SUN = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)


def channel(ledger: Ledger, name: str, sources: tuple[str, ...]) -> ChannelIntake:
    with ledger.tx() as tx:
        cid = tx.ensure_channel(name, "fake")
    return ChannelIntake(name, cid, sources, resolve_sku=lambda s: s.removeprefix("X-"))


def seeded(url: str) -> Ledger:
    engine = make_engine(url)
    upgrade(engine)
    ledger = Ledger(engine)
    with ledger.tx() as tx:
        tx.ensure_location("WH")
        tx.ensure_location("STORE", kind="store")
        tx.upsert_product("MUG", title="Mug", price=Decimal("9.99"), currency="EUR", tags=["kitchen", "gift"])
        tx.upsert_product("TEE", title="Tee", price=Decimal("20"), currency="EUR", tags=["apparel"])
        tx.record_movement("MUG", "WH", "receipt", 3, "r1", at=MON)
        tx.record_movement("TEE", "WH", "receipt", 10, "r2", at=MON)
        tx.record_movement("TEE", "STORE", "receipt", 1, "r3", at=MON)
    web = channel(ledger, "web", ("WH",))
    pos = channel(ledger, "pos", ("STORE",))
    line, eur = OrderLine, Decimal
    w1 = (line("1", "X-MUG", 4, cancelled=1, unit_price=eur("9.99")),)
    w2 = (
        line("1", "TEE", 3, fulfilled=3, restocked=1, refunded=2, unit_price=eur("20.00")),
        line("2", "X-MUG", 1, unit_price=eur("0.10")),
    )
    w3 = (line("1", "TEE", 2, cancelled=2, unit_price=eur("20")),)
    w4 = (line("1", "NOPE", 1, unit_price=eur("5")),)
    later = MON + timedelta(hours=1)
    import_orders(
        ledger,
        web,
        [
            # 4 mugs where 3 are: one oversold; 1 cancelled later
            Order("W1", OrderStatus.OPEN, MON, w1, created_at=MON, currency="EUR"),
            # three tees, one returned to stock and refunded, one refunded the customer keeps
            Order("W2", OrderStatus.CLOSED, later, w2, created_at=MON + timedelta(minutes=5), currency="EUR"),
            Order("W3", OrderStatus.CANCELLED, SUN, w3, created_at=SUN, currency="EUR"),
            # unknown SKU: quarantined, still a sale of the channel
            Order("W4", OrderStatus.OPEN, SUN, w4, created_at=SUN, currency="EUR"),
        ],
        at=SUN,
    )
    # a store sale in another currency, no price reported; the store has 1 tee, sells 2
    p1 = (line("1", "TEE", 2, fulfilled=2),)
    import_orders(
        ledger,
        pos,
        [Order("P1", OrderStatus.FULFILLED, SUN, p1, created_at=SUN, location="STORE", currency="USD")],
        at=SUN,
    )
    return ledger


def rows(ledger: Ledger, by: str, since: str = "2026-03-01", until: str = "2026-03-31") -> list[dict]:
    start, end = salesreport.period(since, until, SUN)
    return salesreport.report(ledger, start, end, salesreport.dimensions(by))["rows"]


def test_by_channel_and_week(ledger_url: str) -> None:
    ledger = seeded(ledger_url)
    got = rows(ledger, "channel,week")
    assert got == [
        {"channel": "pos", "week": "2026-03-02", "currency": "USD", "orders": 1, "units": 2,
         "revenue": "0.00", "unpriced": 2, "cancelled": 0, "returned": 0, "refunded": 0,
         "refunds": "0.00", "oversold": 1},
        {"channel": "web", "week": "2026-03-02", "currency": "EUR", "orders": 4,
         # W1 3 mugs, W2 3 tees + 1 mug, W3 none, W4 1 (quarantined)
         "units": 8,
         "revenue": str(Decimal("29.97") + Decimal("60.00") + Decimal("0.10") + Decimal("5")),
         "unpriced": 0, "cancelled": 3, "returned": 1, "refunded": 2, "refunds": "40.00",
         "oversold": 1},
    ]  # fmt: skip


def test_by_day_sku_and_location(ledger_url: str) -> None:
    ledger = seeded(ledger_url)
    got = {(r["day"], r["sku"], r["location"], r["currency"]): (r["orders"], r["units"], r["revenue"])
           for r in rows(ledger, "day,sku,location")}  # fmt: skip
    assert got == {
        ("2026-03-02", "MUG", "WH", "EUR"): (2, 4, "30.07"),
        ("2026-03-02", "TEE", "WH", "EUR"): (1, 3, "60.00"),
        ("2026-03-08", "TEE", "WH", "EUR"): (1, 0, "0.00"),
        ("2026-03-08", "TEE", "STORE", "USD"): (1, 2, "0.00"),
        ("2026-03-08", None, None, "EUR"): (1, 1, "5.00"),
    }


def test_by_tag_counts_a_sale_under_each_of_its_tags(ledger_url: str) -> None:
    ledger = seeded(ledger_url)
    got = {(r["tag"], r["currency"]): (r["orders"], r["units"]) for r in rows(ledger, "tag")}
    assert got == {("apparel", "EUR"): (2, 3), ("apparel", "USD"): (1, 2), ("gift", "EUR"): (2, 4),
                   ("kitchen", "EUR"): (2, 4)}  # fmt: skip


def test_the_period_bounds_are_days_inclusive(ledger_url: str) -> None:
    ledger = seeded(ledger_url)
    assert {r["day"] for r in rows(ledger, "day", "2026-03-08", "2026-03-08")} == {"2026-03-08"}
    assert {r["day"] for r in rows(ledger, "day", "2026-03-01", "2026-03-07")} == {"2026-03-02"}
    start, end = salesreport.period(None, None, SUN)
    assert end - start == timedelta(days=30)


def test_totals_and_csv(ledger_url: str) -> None:
    ledger = seeded(ledger_url)
    start, end = salesreport.period("2026-03-01", "2026-03-31", SUN)
    for by in ("channel,day", "sku"):
        data = salesreport.report(ledger, start, end, salesreport.dimensions(by))
        totals = {
            t["currency"]: (t["orders"], t["units"], t["revenue"], t["refunds"]) for t in data["totals"]
        }
        assert totals == {"EUR": (4, 8, "95.07", "40.00"), "USD": (1, 2, "0.00", "0.00")}, by
    out = io.StringIO()
    assert salesreport.write_csv(data, out) == len(data["rows"])
    lines = out.getvalue().splitlines()
    header = "sku,currency,orders,units,revenue,unpriced,cancelled,returned,refunded,refunds,oversold"
    assert lines[0] == header
    assert lines[1] == ",EUR,1,1,5.00,0,0,0,0,0.00,0", "a quarantined line's SKU is blank, sorted first"


@pytest.mark.parametrize(
    ("by", "error"),
    [
        ("colour", "'colour' is not one of"),
        ("day,day", "named twice"),
        ("day,week", "choose one"),
        ("", "at least"),
    ],
)
def test_bad_dimensions_are_one_clear_line(by: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        salesreport.dimensions(by)


def test_bad_dates_are_one_clear_line() -> None:
    with pytest.raises(ValueError, match="--since: '03/01' is not a date"):
        salesreport.period("03/01", None, SUN)
    with pytest.raises(ValueError, match="the period is empty"):
        salesreport.period("2026-03-09", "2026-03-01", SUN)


def test_dimension_names() -> None:
    assert [d.value for d in Dimension] == ["channel", "sku", "location", "tag", "day", "week"]
