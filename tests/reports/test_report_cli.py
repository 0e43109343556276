"""``omnisync report sales``, ``omnisync reorder`` and the stock on order, as a merchant runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from clikit import deployed, run

from omnisync.engine.intake import ChannelIntake, import_orders
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.sdk.models import Order, OrderLine, OrderStatus

CSV = """\
sku,title,barcode,tags,price,currency,active,stock:WH,stock:STORE,lead_time_days,moq,pack,service_level
MUG,Blue mug,123,kitchen|blue,12.50,EUR,true,6,4,5,10,6,
TEE,Tee,,apparel,20,EUR,true,50,0,,,,0.9
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    deployed(tmp_path, monkeypatch, CSV)
    sell(tmp_path)
    return tmp_path


def sell(folder: Path) -> None:
    """Three mugs a day at the warehouse for the last 20 days, one tee a day, through intake."""
    ledger = Ledger(make_engine(f"sqlite:///{folder / 'ledger.db'}"))
    with ledger.tx() as tx:
        cid = tx.ensure_channel("web", "fake")
    web = ChannelIntake("web", cid, ("WH",), resolve_sku=lambda s: s)
    now = datetime.now(UTC)
    orders = []
    for day in range(20):
        at = now - timedelta(days=day, minutes=1)
        lines = (
            OrderLine("1", "MUG", 3, fulfilled=3, unit_price=Decimal("12.50")),
            OrderLine("2", "TEE", 1, fulfilled=1, unit_price=Decimal("20")),
        )
        orders.append(Order(f"O{day}", OrderStatus.FULFILLED, at, lines, created_at=at, currency="EUR"))
    import_orders(ledger, web, orders, at=now)
    ledger.engine.dispose()


def test_report_sales_json_and_csv(folder: Path) -> None:
    data = json.loads(run("report", "sales", "--by", "channel,day", "--json").stdout)
    assert data["by"] == ["channel", "day"]
    assert len(data["rows"]) in (20, 21)  # 20 days back from now may straddle midnight
    assert data["totals"] == [
        {"currency": "EUR", "orders": 20, "units": 80, "revenue": "1150.00", "unpriced": 0, "cancelled": 0,
         "returned": 0, "refunded": 0, "refunds": "0.00", "oversold": 54}
    ]  # fmt: skip
    lines = run("report", "sales", "--by", "sku", "--csv", "-").stdout.splitlines()
    assert lines[0].startswith("sku,currency,orders,units,revenue")
    # six mugs at the warehouse, sixty sold there: 54 oversold; the tees were there
    assert lines[1:] == ["MUG,EUR,20,60,750.00,0,0,0,0,0.00,54", "TEE,EUR,20,20,400.00,0,0,0,0,0.00,0"]
    out = folder / "sales.csv"
    run("report", "sales", "--by", "tag,week", "--csv", str(out))
    assert out.read_text().startswith("tag,week,currency,")
    table = run("report", "sales").stdout
    assert "web" in table
    assert "1150.00" in table


def test_a_period_without_orders_says_so(folder: Path) -> None:
    result = run("report", "sales", "--since", "2001-01-01", "--until", "2001-01-31")
    assert "no orders in 2001-01-01 00:00 – " in result.stdout
    assert "sales 2001" not in result.stdout  # no empty table
    data = json.loads(
        run("report", "sales", "--since", "2001-01-01", "--until", "2001-01-31", "--json").stdout
    )
    assert data["rows"] == []
    assert data["totals"] == []


def test_bad_options_are_one_line(folder: Path) -> None:
    result = run("report", "sales", "--by", "colour", code=2)
    assert "'colour' is not one of channel, sku, location, tag, day, week" in result.output
    assert "Traceback" not in result.output
    result = run("report", "sales", "--since", "yesterday", code=2)
    assert "--since: 'yesterday' is not a date" in result.output


def test_reorder_lists_the_fast_mover_and_counts_stock_on_order(folder: Path) -> None:
    rows = json.loads(run("reorder", "--json").stdout)
    assert [(r["sku"], r["location"]) for r in rows] == [("MUG", "WH")], "the tee has 30 available"
    mug = rows[0]
    # 60 fulfilled from 6 on hand: the shortfall is ordered too
    assert mug["available"] == -54
    assert mug["days_of_cover"] == 0
    assert mug["velocity"] == pytest.approx(3, abs=0.5)
    assert (mug["lead_time_days"], mug["moq"], mug["pack"], mug["service_level"]) == (5, 10, 6, 0.95)
    assert mug["quantity"] % 6 == 0
    assert mug["quantity"] >= mug["reorder_point"] + 54 >= 15 + 54
    purchase = run("reorder", "--csv", "-").stdout.splitlines()
    assert purchase[0] == "sku,title,location,quantity,moq,pack,lead_time_days,days_of_cover"
    assert purchase[1].startswith(f"MUG,Blue mug,WH,{mug['quantity']},10,6,5.0,")
    # the purchase order placed: nothing more to order while it is on its way
    run("stock", "incoming", "MUG", "WH", str(mug["quantity"]), "--ref", "PO-1", "--expected", "2030-01-01")
    assert json.loads(run("reorder", "--json").stdout) == []
    everything = json.loads(run("reorder", "--all", "--json").stdout)
    mug_now = next(r for r in everything if r["sku"] == "MUG")
    assert (mug_now["incoming"], mug_now["expected"]) == (mug["quantity"], "2030-01-01")
    # half of it comes in: on hand up, on order down by as much
    half = mug["quantity"] // 2
    run("stock", "receive", "MUG", "WH", str(half), "--ref", "PO-1")
    mug_later = next(r for r in json.loads(run("reorder", "--all", "--json").stdout) if r["sku"] == "MUG")
    assert (mug_later["available"], mug_later["incoming"]) == (half - 54, mug["quantity"] - half)


def test_supplier_terms_round_trip_through_csv(folder: Path) -> None:
    exported = run("ledger", "export", "-").stdout.splitlines()
    assert exported[0].endswith(",lead_time_days,moq,pack,service_level")
    assert exported[1].endswith(",5,10,6,")
    assert exported[2].endswith(",,,,0.9")


def test_bad_terms_name_the_line(folder: Path) -> None:
    (folder / "bad.csv").write_text("sku,moq\nMUG,0\n")
    result = run("ledger", "import", "bad.csv", code=2)
    assert "bad.csv:2: moq: 0 must be ≥ 1" in result.output
