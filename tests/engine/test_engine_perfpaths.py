"""The fast paths (bulk intake of a page, planning from ledger rows) against the careful ones, on SQLite
and PostgreSQL: same ledger, same plan, same guarantees."""

from __future__ import annotations

import gc
import itertools
import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbfixtures import PG_URL
from enginekit import ENV, World
from enginekit import planned_view as view
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text, update

import omnisync.engine.intake as intake
import omnisync.engine.plan_reading as plan_reading
from omnisync.allocation import (
    ChannelInput,
    LocationStock,
    QuantityRules,
    Step,
    allocate_channel,
    channel_pool,
    offered_for_pool,
)
from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.engine.intake import IntakeReport, import_orders
from omnisync.engine.planner import PlannedItem, diff
from omnisync.engine.runtime import Engine
from omnisync.engine.targets import SkuState
from omnisync.ledger import plan_rows
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger, LedgerTx
from omnisync.ledger.tables import LI, OL, SR, M, O, P, R, S
from omnisync.sdk.models import Order, OrderLine, OrderStatus

OPEN, FULFILLED, CANCELLED, CLOSED = (
    OrderStatus.OPEN,
    OrderStatus.FULFILLED,
    OrderStatus.CANCELLED,
    OrderStatus.CLOSED,
)


# ------------------------------------------------------------------------------------------ intake


async def started(tmp_path: Path, url: str, catalogue: dict[str, tuple[int, int]]) -> World:
    w = World(tmp_path, url)
    await w.start(catalogue)
    return w


def order(external_id: str, *lines: OrderLine, status: OrderStatus = OPEN, **kw: Any) -> Order:
    return Order(external_id, status, VirtualClock().now(), tuple(lines), **kw)


def line(line_id: str, sku: str, quantity: int, **kw: int) -> OrderLine:
    return OrderLine(line_id, sku, quantity, **kw)


@pytest.fixture(autouse=True)
def bulk_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """How each bulk attempt ended ("ok" or the error): the tests see the fast path really ran."""
    calls: list[str] = []
    real = intake._apply_page

    def spy(*args: Any, **kwargs: Any) -> None:
        try:
            real(*args, **kwargs)
        except Exception as exc:
            calls.append(repr(exc))
            raise
        calls.append("ok")

    monkeypatch.setattr(intake, "_apply_page", spy)
    return calls


def stock_of(w: World, sku: str) -> dict[str, tuple[int, int]]:
    """location code -> (on_hand, reserved)"""
    with w.ledger.read() as conn:
        pid = w.ledger.product_id(conn, sku)
        codes = {lid: row.code for lid, row in w.ledger.locations(conn).items()}
        return {codes[lid]: numbers for lid, numbers in w.ledger.stock_for(conn, [pid])[pid].items()}


def cursor_of(w: World, channel: str) -> Any:
    with w.ledger.tx() as tx:
        return tx.cursor(w.engine.channels[channel].channel_id)


async def test_two_orders_of_one_page_route_as_if_imported_one_after_the_other(
    tmp_path: Path, ledger_url: str, bulk_calls: list[str]
) -> None:
    w = await started(tmp_path, ledger_url, {"MUG": (3, 5)})
    rt = w.engine.channels["web"]
    page = [order("A", line("1", "WEB-MUG", 2)), order("B", line("1", "WEB-MUG", 2))]
    report = import_orders(w.ledger, rt.intake, page, at=w.clock.now())
    assert (report.imported, report.unchanged, report.failed) == (2, 0, [])
    assert bulk_calls == ["ok"]
    # A takes 2 of the warehouse's 3; B no longer fits there and goes to the store
    assert stock_of(w, "MUG") == {"WH": (3, 2), "STORE": (5, 2)}
    assert report.decreased == {"MUG"}


async def test_a_page_the_database_refuses_is_rolled_back_and_imported_one_by_one(
    tmp_path: Path, ledger_url: str, bulk_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk write fails part way (after the orders and lines of the page were written): nothing of
    it stays, the page goes again one order at a time and only the order the database refuses fails."""
    w = await started(tmp_path, ledger_url, {"MUG": (10, 0), "TEE": (5, 0)})
    rt = w.engine.channels["web"]
    now = w.clock.now()
    real = LedgerTx.apply_intake

    def refusing(self: LedgerTx, changes: Any) -> None:
        real(self, changes)
        if any(row["external_id"] == "POISON" for row in changes.new_orders):
            raise RuntimeError("the database refused POISON")

    monkeypatch.setattr(LedgerTx, "apply_intake", refusing)
    page = [
        order("GOOD-1", line("1", "WEB-MUG", 1)),
        order("POISON", line("1", "TEE", 2)),
        order("GOOD-2", line("1", "TEE", 1)),
    ]
    report = import_orders(w.ledger, rt.intake, page, at=now, cursor_to=now)
    assert bulk_calls == [repr(RuntimeError("the database refused POISON"))], "the bulk path ran, failed"
    assert report.imported == 2
    assert report.failed == [("POISON", "the database refused POISON")]
    assert cursor_of(w, "web") is None, "a failed order must be read again: the cursor stays"
    assert stock_of(w, "MUG")["WH"] == (10, 1)
    assert stock_of(w, "TEE")["WH"] == (5, 1), "POISON's reservation of the bulk attempt is gone"
    with w.ledger.read() as conn:
        assert sorted(r.external_id for r in conn.execute(select(O.c.external_id))) == ["GOOD-1", "GOOD-2"]
        assert len(conn.execute(select(OL.c.id)).all()) == 2


async def test_repeats_inside_one_page_apply_once_or_as_a_change(tmp_path: Path, ledger_url: str) -> None:
    w = await started(tmp_path, ledger_url, {"MUG": (10, 0)})
    rt = w.engine.channels["web"]
    first = order("A", line("1", "WEB-MUG", 2))
    shipped = order("A", line("1", "WEB-MUG", 2, fulfilled=2), status=FULFILLED)
    report = import_orders(w.ledger, rt.intake, [first, first, shipped], at=w.clock.now())
    assert (report.imported, report.unchanged, report.failed) == (2, 1, [])
    assert stock_of(w, "MUG")["WH"] == (8, 0), "sold 2, nothing reserved any more"
    with w.ledger.read() as conn:
        assert len(conn.execute(select(O.c.id)).all()) == 1
        assert len(conn.execute(select(OL.c.id)).all()) == 1
        assert len(conn.execute(select(M.c.id).where(M.c.kind == "sale")).all()) == 1


async def test_a_bad_order_fails_alone_and_holds_the_cursor(
    tmp_path: Path, ledger_url: str, bulk_calls: list[str]
) -> None:
    w = await started(tmp_path, ledger_url, {"MUG": (10, 0), "TEE": (5, 0)})
    rt = w.engine.channels["web"]
    now = w.clock.now()
    page = [
        order("GOOD-1", line("1", "WEB-MUG", 1)),
        order("BAD", line("1", "TEE", 2, fulfilled=2, cancelled=1)),  # more handled than ordered
        order("DUP-LINES", line("1", "TEE", 1), line("1", "TEE", 1)),  # one line id twice
        order("GOOD-2", line("1", "TEE", 1), line("2", "MYSTERY", 1)),
    ]
    report = import_orders(w.ledger, rt.intake, page, at=now, cursor_to=now)
    assert report.imported == 2
    assert [external_id for external_id, _ in report.failed] == ["BAD", "DUP-LINES"]
    assert "exceed the ordered quantity" in report.failed[0][1]
    assert bulk_calls == ["ok"], "the good ones took the bulk path, the bad ones went one by one"
    assert report.quarantined == 1
    assert cursor_of(w, "web") is None, "a failed order must be read again: the cursor stays"
    assert stock_of(w, "MUG")["WH"] == (10, 1)
    assert stock_of(w, "TEE")["WH"] == (5, 1)
    with w.ledger.tx() as tx:
        assert [(r.external_id, r.channel_sku) for r in tx.quarantined_lines()] == [("GOOD-2", "MYSTERY")]
    # once fixed upstream, the page imports and the cursor moves
    fixed = [page[0], order("BAD", line("1", "TEE", 2, fulfilled=1, cancelled=1), status=CLOSED), page[3]]
    again = import_orders(w.ledger, rt.intake, fixed, at=now, cursor_to=now)
    assert (again.imported, again.unchanged, again.failed) == (1, 2, [])
    assert cursor_of(w, "web") == now
    assert stock_of(w, "TEE")["WH"] == (4, 1)


async def test_redelivery_is_skipped_and_a_change_applies_its_difference(
    tmp_path: Path, ledger_url: str
) -> None:
    w = await started(tmp_path, ledger_url, {"MUG": (10, 0)})
    rt = w.engine.channels["web"]
    page = [order(f"O{i}", line("1", "WEB-MUG", 1)) for i in range(5)]
    assert import_orders(w.ledger, rt.intake, page, at=w.clock.now()).imported == 5
    again = import_orders(w.ledger, rt.intake, page, at=w.clock.now())
    assert (again.imported, again.unchanged, again.decreased) == (0, 5, set())
    assert stock_of(w, "MUG")["WH"] == (10, 5)
    page[2] = order("O2", line("1", "WEB-MUG", 1, fulfilled=1), status=FULFILLED)
    changed = import_orders(w.ledger, rt.intake, page, at=w.clock.now())
    assert (changed.imported, changed.unchanged) == (1, 4)
    assert stock_of(w, "MUG")["WH"] == (9, 4)


async def test_a_failing_bulk_path_falls_back_to_one_order_at_a_time(
    tmp_path: Path, ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await started(tmp_path, ledger_url, {"MUG": (10, 0)})
    rt = w.engine.channels["web"]
    calls: list[int] = []
    real = LedgerTx.touch_products

    def broken(self: LedgerTx, product_ids: Any) -> None:
        if not calls:  # the page's attempt fails; the orders applied one by one succeed
            calls.append(1)
            raise RuntimeError("the database went away for a moment")
        real(self, product_ids)

    monkeypatch.setattr(LedgerTx, "touch_products", broken)
    page = [order("A", line("1", "WEB-MUG", 2)), order("B", line("1", "WEB-MUG", 1, fulfilled=1))]
    report = import_orders(w.ledger, rt.intake, page, at=w.clock.now(), cursor_to=w.clock.now())
    assert calls == [1]
    assert (report.imported, report.failed) == (2, [])
    assert stock_of(w, "MUG")["WH"] == (9, 2), "nothing half-applied by the failed bulk attempt"
    with w.ledger.read() as conn:
        assert len(conn.execute(select(O.c.id)).all()) == 2
        assert len(conn.execute(select(R.c.id)).all()) == 1
    assert cursor_of(w, "web") is not None


def random_page(rng: random.Random, start: int, size: int) -> list[Order]:
    skus = ["WEB-MUG", "TEE", "CAP", "MYSTERY"]
    page = []
    for i in range(start, start + size):
        lines = []
        for n in range(rng.randint(0, 3)):
            quantity = rng.randint(1, 4)
            fulfilled = rng.randint(0, quantity)
            cancelled = rng.randint(0, quantity - fulfilled)
            restocked = rng.randint(0, fulfilled)
            lines.append(
                line(
                    str(n),
                    rng.choice(skus),
                    quantity,
                    fulfilled=fulfilled,
                    cancelled=cancelled,
                    restocked=restocked,
                )
            )
        status = rng.choice([OPEN, OPEN, FULFILLED, CANCELLED, CLOSED])
        kw: dict[str, Any] = {}
        if rng.random() < 0.2:
            kw["location"] = "STORE"
        if rng.random() < 0.2:
            kw["return_location"] = rng.choice(["STORE", "NOWHERE"])
        page.append(order(f"R{i}", *lines, status=status, **kw))
    if size > 3:  # a repeat and a change of an order inside the page
        page.append(page[0])
        first = page[1]
        page.append(Order(first.external_id, CANCELLED, first.updated_at, first.lines))
    return page


def snapshot(w: World) -> dict[str, Any]:
    """The ledger by natural keys (ids and version numbers differ between the two paths)."""
    with w.ledger.read() as conn:
        skus = {r.id: r.sku for r in conn.execute(select(P.c.id, P.c.sku))}
        codes = {lid: row.code for lid, row in w.ledger.locations(conn).items()}
        orders = {r.id: r.external_id for r in conn.execute(select(O.c.id, O.c.external_id))}
        lines = {
            r.id: (orders[r.order_id], r.line_id)
            for r in conn.execute(select(OL.c.id, OL.c.order_id, OL.c.line_id))
        }
        return {
            "stock": sorted(
                (skus[r.product_id], codes[r.location_id], r.on_hand, r.reserved)
                for r in conn.execute(select(S))
            ),
            "orders": sorted(
                (r.external_id, r.status, r.digest, r.location_id) for r in conn.execute(select(O))
            ),
            "lines": sorted(
                (
                    lines[r.id],
                    r.channel_sku,
                    skus.get(r.product_id),
                    codes.get(r.location_id),
                    r.quantity,
                    r.fulfilled,
                    r.cancelled,
                    r.restocked,
                    r.applied_fulfilled,
                    r.applied_restocked,
                    bool(r.quarantined),
                    r.quarantine_reason,
                )
                for r in conn.execute(select(OL))
            ),
            "reservations": sorted(
                (lines[r.order_line_id], skus[r.product_id], codes[r.location_id], r.quantity)
                for r in conn.execute(select(R))
            ),
            "movements": sorted(
                (r.idempotency_key, skus[r.product_id], codes[r.location_id], r.kind, r.quantity, r.reference)
                for r in conn.execute(select(M).where(M.c.idempotency_key.like("order:%")))
            ),
            "touched": sorted(skus[r.id] for r in conn.execute(select(P.c.id).where(P.c.version > 3))),
            "dirty": sorted(
                (r.channel_id, skus[r.product_id])
                for r in conn.execute(select(LI).where(LI.c.dirty.is_(True)))
            ),
        }


def report_view(report: IntakeReport) -> tuple[Any, ...]:
    return (report.imported, report.unchanged, report.quarantined, report.failed, sorted(report.decreased))


@pytest.fixture
def twin_url(ledger_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty ledger on the same backend as ``ledger_url``."""
    if not ledger_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'twin.db'}"
        return
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


async def test_bulk_and_one_by_one_intake_leave_the_same_ledger(
    tmp_path: Path, ledger_url: str, twin_url: str, monkeypatch: pytest.MonkeyPatch, bulk_calls: list[str]
) -> None:
    catalogue = {"MUG": (3, 2), "TEE": (1, 4), "CAP": (0, 0)}
    (tmp_path / "bulk").mkdir()
    (tmp_path / "careful").mkdir()
    bulk = await started(tmp_path / "bulk", ledger_url, catalogue)
    careful = await started(tmp_path / "careful", twin_url, catalogue)
    rng = random.Random(7)
    pages = [random_page(rng, n * 20, 20) for n in range(4)]
    pages.append(pages[1])  # a re-delivered page
    pages.append([*pages[2][:5], *random_page(rng, 500, 5)])
    reports: dict[bool, list[tuple[Any, ...]]] = {}
    for w, one_by_one in ((bulk, False), (careful, True)):
        with w.ledger.engine.begin() as conn:  # the same starting point: every version at 3, clean
            conn.execute(update(P).values(version=3))
            conn.execute(update(LI).values(dirty=False))
        with monkeypatch.context() as patch:
            if one_by_one:
                patch.setattr(intake, "PAGE_AT_ONCE", False)
            reports[one_by_one] = [
                report_view(import_orders(w.ledger, w.engine.channels["web"].intake, page, at=w.clock.now()))
                for page in pages
            ]
    assert set(bulk_calls) == {"ok"}, "every page of the bulk world took the bulk path"
    assert reports[False] == reports[True]
    assert sum(r[0] for r in reports[False]) > 50
    assert snapshot(bulk) == snapshot(careful)
    await bulk.engine.aclose()
    await careful.engine.aclose()


# ------------------------------------------------------------------------------------------ planning

MAPPING = """\
sku_aliases:
  MUG: WEB-MUG
price:
  markup_percent: "10"
  rounding: ".99"
tags:
  clearance: {quantity: {out_of_stock_below: 3}, price: {markup_percent: "-20"}}
  fragile: {exclude: true}
skus:
  TEE-7: {quantity: {max_quantity: 2}, price: {override: "9.99"}}
drops:
  - skus: [DROP-OPEN]
    windows: [{start: "2025-12-31T00:00:00+00:00", end: "2026-01-02T00:00:00+00:00"}]
  - skus: [DROP-SHUT]
    exclusive: false
    windows: [{start: "2026-02-01T00:00:00+00:00", end: "2026-02-02T00:00:00+00:00"}]
"""

POLICY = {
    "buffered": "",
    "priority": "allocation: {policy: priority, low_stock_threshold: 6}\n",
    "split": "allocation: {policy: split}\n",
    "adaptive": "allocation: {policy: adaptive, adaptive: {risk: 0.2, max_units: 3}}\n",
}
SPLIT_RULES = """\
quantity: {buffer_percent: "12.5", max_quantity: 9, out_of_stock_below: 2}
"""


PLAIN_MAPPING = """\
price:
  markup_percent: "10"
  rounding: ".99"
"""
"""Channel-wide rules only: no SKU or tag named, so the plan reads lean chunks (``PlanQueries.lean``)."""


def plan_world(folder: Path, url: str, policy: str, named: bool = True) -> Engine:
    from enginekit import CONFIG

    config = CONFIG.format(url=url)
    mapping = MAPPING if named else PLAIN_MAPPING
    if policy == "split":  # every channel-wide rule on the fast path, the shares ring-fenced
        config = config.replace("{buffer_units: 1}", "{buffer_units: 1, share: 60}")
        config = config.replace(
            "    sources: [STORE]\n", "    sources: [STORE]\n    allocation: {share: 40}\n"
        )
        mapping = SPLIT_RULES + mapping
    (folder / "web.yaml").write_text(mapping)
    path = folder / "omnisync.yaml"
    path.write_text(config + POLICY[policy])
    loaded = load_config(path, env=ENV)
    return Engine(loaded, Ledger(make_engine(loaded.ledger_url())), clock=VirtualClock())


async def seeded(
    folder: Path, url: str, policy: str = "buffered", skus: int = 40, *, named: bool = True
) -> Engine:
    engine = plan_world(folder, url, policy, named)
    engine.migrate_and_seed()
    rng = random.Random(3)
    now = engine.clock.now()
    names = ["MUG", "DROP-OPEN", "DROP-SHUT", *(f"TEE-{i}" for i in range(skus))]
    with engine.ledger.tx() as tx:
        for n, sku in enumerate(names):
            tags = rng.choice([(), (), ("clearance",), ("fragile",), ("clearance", "other")])
            price = Decimal(rng.choice(["10", "12.50", "0", "99.95"]))
            tx.upsert_product(sku, title=sku, price=price, tags=tags, active=n % 9 != 4)
            for code in ("WH", "STORE"):
                if rng.random() < 0.85:
                    tx.record_movement(sku, code, "receipt", rng.randint(0, 12), f"seed:{sku}:{code}", at=now)
    await engine.start(prepare=False)
    channel_ids = [rt.channel_id for rt in engine.channels.values()]
    with engine.ledger.engine.begin() as conn:
        for pid in range(1, len(names) + 1):  # what each channel last acknowledged, all sorts
            for cid in channel_ids:
                conn.execute(
                    update(LI)
                    .where(LI.c.product_id == pid, LI.c.channel_id == cid)
                    .values(
                        acked_quantity=rng.choice([None, 0, 3, 7]),
                        acked_price=rng.choice([None, Decimal("10.99"), Decimal("11"), Decimal("13.99")]),
                        acked_available=rng.choice([None, True, False]),
                        acked_preorder=rng.choice([None, None, None, "", "3@2026-03-20", "5@"]),
                        ids=rng.choice([{}, {"id": f"x{pid}c{cid}"}]),
                        dirty=rng.random() < 0.5,
                        missing=rng.random() < 0.05,
                    )
                )
    if policy == "adaptive":
        recent_sales(engine, rng, len(names))
    return engine


def recent_sales(engine: Engine, rng: random.Random, products: int) -> None:
    """Orders imported over the last hours on both channels, at both locations, and acknowledged
    push runs after them: velocities and latencies for the adaptive policy to hold units by."""
    now = engine.clock.now()
    channel_ids = {name: rt.channel_id for name, rt in engine.channels.items()}
    with engine.ledger.read() as conn:
        locations = {row.code: lid for lid, row in engine.ledger.locations(conn).items()}
    with engine.ledger.engine.begin() as conn:
        for n in range(240):
            channel = rng.choice(sorted(channel_ids))
            at = now - timedelta(seconds=rng.uniform(0, 2 * 3600))
            order_id = conn.execute(
                O.insert()
                .values(
                    channel_id=channel_ids[channel],
                    external_id=f"sold-{n}",
                    status="open",
                    digest="x",
                    updated_at=at,
                    imported_at=at,
                )
                .returning(O.c.id)
            ).scalar_one()
            quantity = rng.randint(1, 3)
            conn.execute(
                OL.insert().values(
                    order_id=order_id,
                    line_id="1",
                    channel_sku="x",
                    product_id=rng.randint(1, products * 2 // 3),  # two thirds of the catalogue sell
                    location_id=locations[rng.choice(["WH", "STORE"])],
                    quantity=quantity,
                    cancelled=rng.choice([0, 0, quantity]),
                )
            )
        for name in channel_ids:
            for k in range(12):
                started = now - timedelta(seconds=3000 - 250 * k)
                conn.execute(
                    SR.insert().values(
                        channel=name,
                        kind=rng.choice(["push", "cycle", "pull"]),
                        started_at=started,
                        finished_at=started + timedelta(seconds=rng.uniform(1, 400)),
                        ok=rng.random() < 0.8,
                    )
                )


def reference_plan(engine: Engine, channel: str, *, dirty_only: bool = False) -> list[PlannedItem]:
    """The plan as the engine made it before the fast path: a ListingRow, a SkuState and
    ``TargetCalculator.targets`` per pair (under the adaptive policy, a dirty plan also plans every
    pair of the products that sold lately: their buffers move with time)."""
    rt = engine.channels[channel]
    with engine.ledger.read() as conn:
        paces = engine.read_paces(conn)
        sold = set() if paces is None else set(paces.sold_per_hour)
        listings = [
            li
            for li in engine.ledger.listings(conn, rt.channel_id)
            if not dirty_only or li.dirty or li.product_id in sold
        ]
        codes = {lid: row.code for lid, row in engine.ledger.locations(conn).items()}
        stock = engine.ledger.stock_for(conn, [li.product_id for li in listings])
    out = []
    for li in listings:
        if li.missing:
            continue
        per_location = {
            codes[lid]: LocationStock(codes[lid], on_hand, reserved)
            for lid, (on_hand, reserved) in stock.get(li.product_id, {}).items()
        }
        with engine.ledger.read() as conn:
            paces = engine.read_paces(conn, [li.product_id])
        pace = None if paces is None else paces.of(li.product_id)
        state = SkuState(li.sku, li.tags, li.price, li.currency, li.active, per_location, pace)
        item = diff(li, engine.calculator.targets(state, engine.clock.now())[channel])
        if item is not None:
            out.append(item)
    return out


@pytest.mark.parametrize(
    ("policy", "named"),
    [
        *((policy, True) for policy in ("buffered", "priority", "split", "adaptive")),
        # no SKU or tag named: lean chunks, SKUs and tags read for the pairs explained or built
        *((policy, False) for policy in ("buffered", "split", "adaptive")),
    ],
)
async def test_the_fast_plan_is_the_explained_plan(
    tmp_path: Path, ledger_url: str, policy: str, named: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omnisync.engine.chunk_planner import ChunkPlanner

    fast_chunks: list[int] = []
    column_plan = ChunkPlanner._plan_fast

    lean: set[bool] = set()

    def counted(planner: ChunkPlanner, columns: Any, dirty_only: bool, out: Any) -> None:
        fast_chunks.append(columns.size)
        lean.add(columns.skus is None)
        column_plan(planner, columns, dirty_only, out)

    monkeypatch.setattr(ChunkPlanner, "_plan_fast", counted)
    engine = await seeded(tmp_path, ledger_url, policy, named=named)
    held: list[int] = []
    for channel in engine.channels:
        fast = engine.plan(channel, all_pairs=True)
        assert view(fast) == view(reference_plan(engine, channel))
        assert view(engine.plan(channel)) == view(reference_plan(engine, channel, dirty_only=True))
        for item in fast:  # and the explanation, built on demand, tells the same numbers
            target = item.target
            assert target.channel == channel
            if item.quantity is not None:
                assert target.allocation.offered == item.quantity
                assert target.allocation.steps
            if item.price is not None:
                assert target.price is not None
                assert target.price.price == item.price
            held += [held_units(target.allocation.steps)] if policy == "adaptive" else []
    if policy == "adaptive":  # the world sells enough for the policy to hold units back, not everywhere
        assert 0 in held
        assert max(held) >= 1
    # every policy that allocates each channel on its own plans column by column (under the adaptive
    # one, the SKUs that did not sell lately); priority compares channels, SKU by SKU
    assert bool(fast_chunks) == (policy != "priority")
    assert lean <= {not named}, "lean chunks exactly when no mapping names a SKU or a tag"
    await engine.aclose()


def held_units(steps: Sequence[Step]) -> int:
    """Units the adaptive buffer step took off (0 when the step is absent: an excluded or inactive SKU)."""
    for before, step in itertools.pairwise(steps):
        if step.rule == "adaptive buffer":
            return before.value - step.value
    return 0


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_reading, "PLAN_CHUNK", 7)  # many chunks: paging and the reading thread


@pytest.mark.parametrize(("named", "keyed"), [(True, True), (False, True), (False, False)])
async def test_channels_planned_together_and_in_chunks_match(
    tmp_path: Path,
    ledger_url: str,
    small_chunks: None,
    named: bool,
    keyed: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not keyed:  # product ids too large to read with their channel or location as one number
        monkeypatch.setattr(plan_rows, "KEYED_BELOW", 0)
    engine = await seeded(tmp_path, ledger_url, named=named)
    names = list(engine.channels)
    for all_pairs in (True, False):
        together: dict[str, list[PlannedItem]] = {name: [] for name in names}
        settled: dict[str, list[tuple[int, int]]] = {name: [] for name in names}
        chunks = 0
        for chunk in engine.iter_plan_channels(names, all_pairs=all_pairs):
            chunks += 1
            for name, (changes, unchanged) in chunk.items():
                together[name] += changes
                settled[name] += unchanged
        assert chunks > 1
        for name in names:
            assert view(together[name]) == view(reference_plan(engine, name, dirty_only=not all_pairs))
            alone = list(engine.iter_plan(name, all_pairs=all_pairs))
            assert view([i for changes, _ in alone for i in changes]) == view(together[name])
            assert sorted(u for _, unchanged in alone for u in unchanged) == sorted(settled[name])
    # most of the catalogue dirty: one pass over every product, the clean pairs left out
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan_reading, "DIRTY_SCAN_THRESHOLD", 0)
        for name in names:
            scanned = [i for changes, _ in engine.iter_plan(name) for i in changes]
            assert view(scanned) == view(reference_plan(engine, name, dirty_only=True))
    # a given set of products, more of them than one chunk holds
    some = list(range(1, 30, 2))
    planned = [i for changes, _ in engine.iter_plan("pos", product_ids=some) for i in changes]
    expected = [i for i in reference_plan(engine, "pos") if i.product_id in some]
    assert view(planned) == view(expected)
    await engine.aclose()


@pytest.mark.parametrize("lean", [True, False])
async def test_the_planning_read_gives_its_integer_columns_as_arrays(
    tmp_path: Path, ledger_url: str, lean: bool
) -> None:
    """The first chunk and the next ones (two statements), lean or not: every integer column of
    ``PlanChunk`` is an int64 array, never a list of values decoded one by one."""
    import numpy as np

    engine = await seeded(tmp_path, ledger_url)
    channel_ids = tuple(rt.channel_id for rt in engine.channels.values())
    with engine.ledger.read() as conn:
        location_ids = tuple(engine.ledger.locations(conn))
        queries = plan_rows.PlanQueries(
            engine.ledger.engine.dialect, channel_ids, location_ids, by_ids=False, lean=lean
        )
        first = queries.read(conn, limit=7)
        second = queries.read(conn, after_product_id=int(first.products[0].max()), limit=7)
        chosen = plan_rows.PlanQueries(
            engine.ledger.engine.dialect, channel_ids, location_ids, by_ids=True, lean=lean
        ).read(conn, product_ids=[2, 3, 5])
    for chunk in (first, second, chosen):
        assert len(chunk)
        assert (chunk.products[1] is None) == lean
        columns = [chunk.products[k] for k in (0, 5, 6)] + list(chunk.stock)
        columns += [chunk.listings[k] for k in (0, 1, 2, 3, 6)]
        assert all(isinstance(c, np.ndarray) and c.dtype == np.int64 for c in columns)
    await engine.aclose()


async def test_an_abandoned_plan_stops_its_reader(
    tmp_path: Path, ledger_url: str, small_chunks: None
) -> None:
    engine = await seeded(tmp_path, ledger_url)
    plan = engine.iter_plan_channels(list(engine.channels), all_pairs=True)
    next(plan)
    assert not gc.isenabled(), "no cyclic collection in the middle of a plan"
    plan.close()  # joins the thread that was reading ahead
    assert gc.isenabled(), "the collector is back once the plan is closed"
    assert view(engine.plan("web")) == view(reference_plan(engine, "web", dirty_only=True))
    await engine.aclose()


# ------------------------------------------------------------------------------------------ arithmetic

numbers = st.integers(min_value=0, max_value=60)


@settings(max_examples=300, deadline=None)
@given(
    stock=st.lists(st.one_of(st.none(), st.tuples(numbers, numbers)), min_size=0, max_size=3),
    kept=st.lists(st.integers(min_value=0, max_value=5), min_size=3, max_size=3),
    share=st.integers(min_value=0, max_value=100),
    buffer_units=st.integers(min_value=0, max_value=5),
    buffer_percent=st.sampled_from([Decimal(0), Decimal(5), Decimal("12.5"), Decimal(30)]),
    cap=st.one_of(st.none(), st.integers(min_value=0, max_value=40)),
    below=st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
)
def test_the_numbers_only_arithmetic_is_the_explained_arithmetic(
    stock: list[tuple[int, int] | None],
    kept: list[int],
    share: int,
    buffer_units: int,
    buffer_percent: Decimal,
    cap: int | None,
    below: int | None,
) -> None:
    sources = tuple(f"L{i}" for i in range(len(stock)))
    rules = QuantityRules(
        share=share,
        buffer_units=buffer_units,
        buffer_percent=buffer_percent,
        max_quantity=cap,
        out_of_stock_below=below,
        source_buffers={code: kept[i] for i, code in enumerate(sources)},
    )
    records = {
        code: LocationStock(code, numbers[0], numbers[1])
        for code, numbers in zip(sources, stock, strict=True)
        if numbers is not None
    }
    explained = allocate_channel(records, ChannelInput("web", sources, rules))
    pool = channel_pool(stock, kept[: len(stock)])
    assert pool == explained.pool
    assert offered_for_pool(pool, rules) == explained.offered


async def test_the_bulk_path_stores_values_as_core_would(tmp_path: Path, ledger_url: str) -> None:
    """Values written by the bulk path go through the column types (aware UTC in, aware UTC out)."""
    w = await started(tmp_path, ledger_url, {"MUG": (5, 0)})
    at = w.clock.now() + timedelta(hours=1)
    placed = Order("T", FULFILLED, at - timedelta(minutes=5), (line("1", "WEB-MUG", 1, fulfilled=1),))
    import_orders(w.ledger, w.engine.channels["web"].intake, [placed], at=at)
    with w.ledger.read() as conn:
        row = conn.execute(select(O.c.updated_at, O.c.imported_at)).one()
        sale = conn.execute(select(M.c.created_at, M.c.quantity).where(M.c.kind == "sale")).one()
        quarantined = conn.execute(select(OL.c.quarantined)).scalar_one()
    assert (row.updated_at, row.imported_at) == (placed.updated_at, at)
    assert (sale.created_at, sale.quantity) == (at, -1)
    assert quarantined is False
    await w.engine.aclose()
