"""Order intake speed on SQLite: N new orders, then the same N re-delivered (skipped by digest), and a
raw-SQL reference doing the same writes in the same run.

Pages of 100 orders of two lines each, as a channel's pull delivers them. ``orders_per_s`` is wall
clock; ``orders_per_cpu_s`` counts the process's CPU time only (on a machine shared with other work
the wall clock grows with the load).

The reference replays, on a second ledger built the same way, exactly the rows intake wrote, page by
page with a commit per page, as a program would that knew them in advance: ``sqlite3`` straight,
multi-row INSERT ... RETURNING for the orders and lines (their ids are needed next), executemany for
the reservations, the stock, the product versions, the dirty marks and the channel's own count. Its
parameter rows are prepared before its clock starts; it reads nothing and decides nothing. The two
ledgers are compared afterwards (``same_ledger``): the reference really did the same writes.
``ratio_cpu`` is intake's CPU time over the reference's, the median of ``--repeat`` runs.

``--backend postgresql`` runs intake on a fresh schema of the PostgreSQL server the tests use
(``OMNISYNC_TEST_PG``), without the reference (it is SQLite's): the bulk path there is multi-row
statements, one round trip each. With ``--analyze`` the ledger's tables are analysed after each block
of pages, as PostgreSQL's autovacuum would as they grow (a server running with autovacuum off, as the
tests' may, has no statistics for the growing order tables, and its plans read them whole per page).

    python benchmarks/intake.py --orders 20000 --json
    python benchmarks/intake.py --orders 20000 --backend postgresql --json
    python benchmarks/intake.py --orders 20000 --backend postgresql --analyze --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from _world import build  # noqa: E402
from dbfixtures import pg_schema_url  # noqa: E402

from omnisync.engine.intake import import_orders  # noqa: E402
from omnisync.engine.runtime import Engine  # noqa: E402
from omnisync.sdk.models import Order, OrderLine, OrderStatus  # noqa: E402

PAGE = 100
BLOCK = 20 * PAGE
"""Orders timed per turn before the reference's turn."""
CHECKED = (
    "SELECT product_id, location_id, on_hand, reserved FROM stock ORDER BY 1, 2",
    "SELECT id, version FROM product ORDER BY id",
    "SELECT channel_id, product_id, dirty, acked_quantity FROM listing ORDER BY 1, 2",
    "SELECT o.external_id, l.line_id, l.product_id, l.location_id, r.quantity FROM order_line l"
    " JOIN sales_order o ON o.id = l.order_id JOIN reservation r ON r.order_line_id = l.id ORDER BY 1, 2",
    "SELECT * FROM sales_order ORDER BY external_id",
    "SELECT o.external_id, l.* FROM order_line l JOIN sales_order o ON o.id = l.order_id"
    " ORDER BY 1, l.line_id",
)


def page_orders(n: int, skus: int, now: datetime) -> list[Order]:
    return [
        Order(
            f"ORD-{i}",
            OrderStatus.OPEN,
            now + timedelta(seconds=i),
            (
                OrderLine("1", f"SKU{(i % skus) + 1:08d}", 1),
                OrderLine("2", f"SKU{((i * 7) % skus) + 1:08d}", 2),
            ),
        )
        for i in range(n)
    ]


def timed(work: Any) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - t0, time.process_time() - c0


def reference_pages(engine: Engine, orders: Sequence[Order]) -> list[dict[str, Any]]:
    """Each page's writes, as intake made them in ``engine``'s ledger (read back, untimed): every
    column of its orders (their cached totals too) and lines, their reservations, and the stock,
    versions, dirty marks and channel counts they moved."""
    wanted = json.dumps([o.external_id for o in orders])
    raw = engine.ledger.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(
            "SELECT * FROM sales_order WHERE external_id IN (SELECT value FROM json_each(?))", (wanted,)
        )
        names = [d[0] for d in cur.description]
        order_columns = [n for n in names if n != "id"]
        stored = {
            row["external_id"]: row for row in (dict(zip(names, r, strict=True)) for r in cur.fetchall())
        }
        cur.execute(
            "SELECT o.external_id AS external_id_, r.quantity AS reserved_, l.* FROM order_line l"
            " JOIN sales_order o ON o.id = l.order_id JOIN reservation r ON r.order_line_id = l.id"
            " WHERE o.external_id IN (SELECT value FROM json_each(?)) ORDER BY l.id",
            (wanted,),
        )
        names = [d[0] for d in cur.description]
        line_columns = [n for n in names if n not in ("id", "external_id_", "reserved_")]
        lines: dict[str, list[dict[str, Any]]] = {}
        for r in cur.fetchall():
            row = dict(zip(names, r, strict=True))
            lines.setdefault(row["external_id_"], []).append(row)
    finally:
        raw.close()
    pages = []
    for start in range(0, len(orders), PAGE):
        page = [o.external_id for o in orders[start : start + PAGE]]
        page_lines = [line for external_id in page for line in lines[external_id]]
        reserved: Counter[tuple[int, int]] = Counter()
        taken: Counter[int] = Counter()
        for line in page_lines:
            reserved[(line["product_id"], line["location_id"])] += line["reserved_"]
            taken[line["product_id"]] += line["quantity"]
        channel_id = stored[page[0]]["channel_id"]
        pages.append(
            {
                "order_columns": order_columns,
                "orders": [stored[external_id][c] for external_id in page for c in order_columns],
                "count": len(page),
                "line_columns": line_columns,
                "lines": [
                    (
                        line["external_id_"],
                        line["line_id"],
                        [line[c] for c in line_columns],
                        line["reserved_"],
                    )
                    for line in page_lines
                ],
                "stock": [(n, p, loc) for (p, loc), n in reserved.items()],
                "products": [(p,) for p in sorted(taken)],
                "shift": [(n, channel_id, p) for p, n in taken.items()],
            }
        )
    return pages


def reference(engine: Engine, pages: Sequence[dict[str, Any]]) -> None:
    """The same writes in raw SQL, a transaction per page."""
    raw = engine.ledger.engine.raw_connection()
    try:
        cur = raw.cursor()
        for page in pages:
            cur.execute("BEGIN IMMEDIATE")
            columns = page["order_columns"]
            values = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * page["count"])
            ids = dict(
                cur.execute(
                    f"INSERT INTO sales_order ({', '.join(columns)}) VALUES {values}"
                    " RETURNING external_id, id",
                    page["orders"],
                ).fetchall()
            )
            lines = page["lines"]
            columns = page["line_columns"]
            at = columns.index("order_id")
            values = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * len(lines))
            flat = [
                ids[external_id] if i == at else v
                for external_id, _, row, _ in lines
                for i, v in enumerate(row)
            ]
            line_ids = {
                (order_id, line_id): pk
                for order_id, line_id, pk in cur.execute(
                    f"INSERT INTO order_line ({', '.join(columns)}) VALUES {values}"
                    " RETURNING order_id, line_id, id",
                    flat,
                ).fetchall()
            }
            product, location = columns.index("product_id"), columns.index("location_id")
            cur.executemany(
                "INSERT INTO reservation (order_line_id, product_id, location_id, quantity)"
                " VALUES (?, ?, ?, ?)",
                [
                    (line_ids[(ids[external_id], line_id)], row[product], row[location], n)
                    for external_id, line_id, row, n in lines
                ],
            )
            cur.executemany(
                "UPDATE stock SET reserved = reserved + ? WHERE product_id = ? AND location_id = ?",
                page["stock"],
            )
            cur.executemany("UPDATE product SET version = version + 1 WHERE id = ?", page["products"])
            cur.executemany(
                "UPDATE listing SET dirty = 1 WHERE channel_id IN (SELECT id FROM channel)"
                " AND product_id = ? AND dirty = 0",
                page["products"],
            )
            cur.executemany(
                "UPDATE listing SET acked_quantity = acked_quantity - ?"
                " WHERE channel_id = ? AND product_id = ? AND acked_quantity IS NOT NULL",
                page["shift"],
            )
            cur.execute("COMMIT")
    finally:
        raw.close()


def snapshot(engine: Engine) -> list[list[tuple[Any, ...]]]:
    raw = engine.ledger.engine.raw_connection()
    try:
        return [list(raw.cursor().execute(q)) for q in CHECKED]
    finally:
        raw.close()


def analyze(engine: Engine) -> None:
    """Statistics for PostgreSQL's planner, as autovacuum gathers them (untimed)."""
    with engine.ledger.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


async def once(n: int, skus: int, url: str | None, analysed: bool = False) -> dict[str, Any]:
    """Intake and the reference in alternating blocks of pages, so that the load of a shared machine
    weighs on both alike (on PostgreSQL, intake alone)."""
    engine = await build(skus, url=url)
    twin = await build(skus) if url is None else None
    rt = engine.channels["web"]
    now = engine.clock.now()
    orders = page_orders(n, skus, now)
    counts = {"imported": 0, "skipped": 0}
    totals = {"first": [0.0, 0.0], "again": [0.0, 0.0], "reference": [0.0, 0.0]}

    def intake(block: Sequence[Order], count: str) -> None:
        for start in range(0, len(block), PAGE):
            report = import_orders(engine.ledger, rt.intake, block[start : start + PAGE], at=now)
            counts[count] += report.imported if count == "imported" else report.unchanged

    def add(key: str, spent: tuple[float, float]) -> None:
        totals[key][0] += spent[0]
        totals[key][1] += spent[1]

    for start in range(0, n, BLOCK):
        block = orders[start : start + BLOCK]
        add("first", timed(lambda block=block: intake(block, "imported")))
        if analysed:
            analyze(engine)
        if twin is not None:
            pages = reference_pages(engine, block)
            add("reference", timed(lambda pages=pages, twin=twin: reference(twin, pages)))
    same = twin is None or snapshot(engine) == snapshot(twin)
    add("again", timed(lambda: intake(orders, "skipped")))
    await engine.aclose()
    if twin is not None:
        await twin.aclose()
    return {
        "imported": counts["imported"],
        "skipped": counts["skipped"],
        **{key: tuple(spent) for key, spent in totals.items()},
        "same_ledger": same,
    }


async def on_backend(n: int, skus: int, backend: str, analysed: bool) -> dict[str, Any]:
    if backend == "sqlite":
        return await once(n, skus, None)
    schema = pg_schema_url()  # a fresh schema, dropped afterwards
    try:
        return await once(n, skus, next(schema), analysed)
    finally:
        schema.close()


async def main(n: int, skus: int, repeat: int, backend: str, analysed: bool = False) -> dict[str, object]:
    runs = [await on_backend(n, skus, backend, analysed) for _ in range(repeat)]
    compared = backend == "sqlite"

    def median(key: str, index: int) -> float:
        return statistics.median(run[key][index] for run in runs)

    return {
        "backend": backend,
        **({"analyzed": analysed} if backend == "postgresql" else {}),
        "orders": n,
        "lines_per_order": 2,
        "runs": repeat,
        "imported": runs[-1]["imported"],
        "orders_per_s": round(n / median("first", 0), 1),
        "orders_per_cpu_s": round(n / median("first", 1), 1),
        "duplicates_skipped": runs[-1]["skipped"],
        "redelivery_per_s": round(n / median("again", 0), 1),
        "redelivery_per_cpu_s": round(n / median("again", 1), 1),
        **(
            {
                "reference_orders_per_s": round(n / median("reference", 0), 1),
                "reference_orders_per_cpu_s": round(n / median("reference", 1), 1),
                "ratio_cpu": round(statistics.median(r["first"][1] / r["reference"][1] for r in runs), 2),
                "ratio_wall": round(statistics.median(r["first"][0] / r["reference"][0] for r in runs), 2),
                "same_ledger": all(run["same_ledger"] for run in runs),
            }
            if compared
            else {}
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the figures are their medians")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--analyze", action="store_true", help="PostgreSQL: ANALYZE after each block, as autovacuum would"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main(args.orders, args.skus, args.repeat, args.backend, args.analyze))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
