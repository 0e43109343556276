"""Report speed: ``report sales`` by channel and day over a year of orders, and ``reorder`` over every SKU.

    python benchmarks/reports.py --orders 1000000 --skus 100000 --json

The ledger is built with set-based SQL (a recursive CTE on SQLite, ``generate_series`` on
PostgreSQL with ``--url``): ``--skus`` products with stock at two locations, four channels and
``--orders`` orders spread evenly over the year before now, each with one line and every other with
a second (1.5 lines an order), prices, cancellations, returns and refunds; every SKU sells in the
reorder window. The figures (wall clock ``*_s`` and the process's CPU time ``*_cpu_s``) time exactly
what the commands run:

* ``sales_by_channel_day_s``: :func:`omnisync.salesreport.report` by channel and day over the year;
* ``sales_by_sku_s``: the same by SKU (a row per SKU, and a second query for the totals);
* ``reorder_s``: :func:`omnisync.reorder.reorder_list` over every (SKU, location) that sold in the
  history window (``replenishment.history_days``, 56 by default).

Targets on SQLite: the sales report ≤ 2 s and the reorder list ≤ 5 s at 1M orders and 100k SKUs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from omnisync.config import ReplenishmentConfig
from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger
from omnisync.ledger.sales import Dimension, refresh_order_totals
from omnisync.reorder import reorder_list
from omnisync.salesreport import report

YEAR_S = 365 * 86400


def _series(dialect: str, body: str) -> str:
    """``body`` reads ``i`` from 1 to ``:count``: a recursive CTE on SQLite, generate_series elsewhere."""
    if dialect == "sqlite":
        return "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) " + body
    return body.replace("FROM n", "FROM generate_series(1, :count) AS n(i)")


def _time(dialect: str, seconds: str) -> str:
    """A UTC time ``seconds`` after ``:start`` as the dialect stores ``UTCDateTime``."""
    if dialect == "sqlite":
        return f"datetime(:start, '+' || ({seconds}) || ' seconds') || '.000000'"
    return f"CAST(:start AS timestamptz) + ({seconds}) * interval '1 second'"


def build(url: str, orders: int, skus: int, now: datetime) -> Ledger:
    engine = make_engine(url)
    upgrade(engine)
    dialect = engine.dialect.name
    at = _time(dialect, "i * :step")
    start = (now - timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO location (code, name, kind) VALUES ('WH', 'WH', 'warehouse')"))
        conn.execute(text("INSERT INTO location (code, name, kind) VALUES ('STORE', 'STORE', 'store')"))
        for name in ("shopify", "amazon", "pos", "instagram"):
            conn.execute(text("INSERT INTO channel (name, connector) VALUES (:n, :n)"), {"n": name})
        conn.execute(
            text(
                _series(
                    dialect,
                    "INSERT INTO product (sku, title, tags, price, currency, active, version, lead_time_days)"
                    " SELECT 'SKU-' || i, 'Item ' || i, CASE WHEN i % 3 = 0 THEN 'gift,home' ELSE 'home' END,"
                    " 5 + (i % 100) * 0.25, 'EUR', true, 1, CASE WHEN i % 2 = 0 THEN 7 ELSE NULL END FROM n",
                )
            ),
            {"count": skus},
        )
        for location_id, base in ((1, 40), (2, 3)):
            conn.execute(
                text(
                    _series(
                        dialect,
                        "INSERT INTO stock (product_id, location_id, on_hand, reserved)"
                        f" SELECT i, {location_id}, {base} + (i * 37) % 50, 0 FROM n",
                    )
                ),
                {"count": skus},
            )
        conn.execute(
            text(
                _series(
                    dialect,
                    "INSERT INTO sales_order (id, channel_id, external_id, status, digest, location_id,"
                    " updated_at, imported_at, placed_at, currency)"
                    f" SELECT i, 1 + i % 4, 'O-' || i, 'fulfilled', 'bench', NULL, {at}, {at}, {at}, 'EUR'"
                    " FROM n",
                )
            ),
            {"count": orders, "start": start, "step": YEAR_S / orders},
        )
        line = (
            "INSERT INTO order_line (order_id, line_id, channel_sku, product_id, location_id, quantity,"
            " fulfilled, cancelled, restocked, applied_fulfilled, applied_restocked, quarantined,"
            " unit_price, refunded, oversold)"
            " SELECT i, '{line}', 'SKU-' || (1 + ({mix}) % :skus), 1 + ({mix}) % :skus,"
            " CASE WHEN i % 4 = 2 THEN 2 ELSE 1 END, 1 + i % 3,"
            " 1 + i % 3 - CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END,"
            " CASE WHEN i % 40 = 0 THEN 1 ELSE 0 END,"
            " 1 + i % 3 - CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 40 = 0 THEN 1 ELSE 0 END,"
            " false, 5 + (i % 100) * 0.25, CASE WHEN i % 40 = 0 THEN 1 ELSE 0 END,"
            " CASE WHEN i % 1000 = 0 THEN 1 ELSE 0 END FROM n{where}"
        )
        conn.execute(
            text(_series(dialect, line.format(line="1", mix="i * 7919", where=""))),
            {"count": orders, "skus": skus},
        )
        conn.execute(
            text(_series(dialect, line.format(line="2", mix="i * 104729 + 1", where=" WHERE i % 2 = 0"))),
            {"count": orders, "skus": skus},
        )
        refresh_order_totals(conn, None)  # what intake keeps with every page
        conn.execute(
            text(
                _series(
                    dialect,
                    "INSERT INTO incoming_stock (reference, product_id, location_id, quantity, created_at)"
                    f" SELECT 'PO-1', i, 1, 20, {_time(dialect, '0')} FROM n WHERE i % 10 = 0",
                )
            ),
            {"count": skus, "start": start},
        )
        if dialect == "postgresql":
            conn.execute(text("SELECT setval('sales_order_id_seq', :n)"), {"n": orders})
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return Ledger(engine)


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process: SQLite works in it, so on a machine shared
    with other work the CPU time tells the cost and the wall clock the wait)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--url", help="A ledger URL (default: a SQLite file in a temporary folder).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'ledger.db'}"
        ledger, build_s, _ = timed(lambda: build(url, args.orders, args.skus, now))
        since = now - timedelta(days=366)
        by_day, by_day_s, by_day_cpu = timed(
            lambda: report(ledger, since, now, (Dimension.CHANNEL, Dimension.DAY))
        )
        by_sku, by_sku_s, by_sku_cpu = timed(lambda: report(ledger, since, now, (Dimension.SKU,)))
        rows, reorder_s, reorder_cpu = timed(lambda: reorder_list(ledger, ReplenishmentConfig(), now))
        ledger.engine.dispose()
    out = {
        "backend": ledger.engine.dialect.name,
        "orders": args.orders,
        "lines": args.orders + args.orders // 2,
        "skus": args.skus,
        "build_s": round(build_s, 2),
        "sales_by_channel_day_s": round(by_day_s, 3),
        "sales_by_channel_day_cpu_s": round(by_day_cpu, 3),
        "sales_by_channel_day_rows": len(by_day["rows"]),
        "sales_by_sku_s": round(by_sku_s, 3),
        "sales_by_sku_cpu_s": round(by_sku_cpu, 3),
        "sales_by_sku_rows": len(by_sku["rows"]),
        "reorder_s": round(reorder_s, 3),
        "reorder_cpu_s": round(reorder_cpu, 3),
        "reorder_pairs": len(rows),
        "reorder_to_order": sum(1 for r in rows if r.quantity > 0),
        "revenue_eur": by_day["totals"][0]["revenue"] if by_day["totals"] else "0",
        "load_average": round(os.getloadavg()[0], 1),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:>28}  {value}")


if __name__ == "__main__":
    sys.exit(main())
