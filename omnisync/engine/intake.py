"""Orders -> ledger, effectively once. One path for polled and webhook orders.

Each order line carries cumulative numbers (quantity, fulfilled, cancelled, restocked). The ledger
stores what it has applied so far per line and applies only the difference, as compensating
entries: reservation to the open units, sale movements for newly fulfilled units, return movements
for newly restocked units. A re-delivered unchanged order is skipped by its digest; a changed one
applies exactly its change. A line whose SKU is unknown is quarantined, never dropped; one bad
order rolls back alone and never blocks the others.

Intake works per page. One query finds which of the page's orders the ledger already holds (and
their digests). New orders that pass validation take a bulk path: SKUs resolved with one query, lines
routed against one stock read with a running tally (so two orders of a page route as if imported one
after the other), then orders, lines, reservations and movements inserted a statement each, stock
deltas applied with one executemany, one version bump per touched product and one dirty marking per
page. Changed orders, repeats of an order inside the page and anything validation is unsure of go
one by one, each in its own savepoint; if the bulk path fails, its orders go that way too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog

from omnisync.ledger import queries
from omnisync.ledger.orders import CHANNEL_SKU_MAX, EXTERNAL_ID_MAX, LINE_ID_MAX
from omnisync.ledger.repository import Ledger, LedgerTx
from omnisync.ledger.stock import order_movement_key
from omnisync.sdk.models import Decrements, Order, OrderLine, OrderStatus

from . import listing_state

log = structlog.get_logger("omnisync.intake")


@dataclass
class IntakeReport:
    imported: int = 0
    """Orders new or changed."""
    unchanged: int = 0
    """Re-deliveries skipped by digest."""
    quarantined: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(external id, error) of orders that could not be applied."""
    decreased: set[str] = field(default_factory=set)
    """Master SKUs whose available stock went down (to expedite pushes elsewhere)."""

    def merge(self, other: IntakeReport) -> None:
        self.imported += other.imported
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.failed.extend(other.failed)
        self.decreased |= other.decreased


@dataclass(frozen=True)
class ChannelIntake:
    """What intake needs to know about the channel the orders came from."""

    name: str
    channel_id: int
    sources: tuple[str, ...]
    resolve_sku: Callable[[str], str | None]
    """Channel SKU -> master SKU (mapping aliases), None when unknown."""
    decrements: Decrements = Decrements.NEVER
    """When the platform lowers its own quantity: never | on_order | on_fulfilment (Connector.decrements)."""
    reflected_before: Mapping[int, datetime] = field(default_factory=dict)
    """Product id -> when its acknowledged quantity was last read live (``listing.observed_at``).
    Orders placed before then are already in that reading, so importing them must not move the
    acknowledged value again (a double count would hide a channel showing too much)."""

    def shift(self, order: Order, line: OrderLine, before: LineBefore | None, product_id: int) -> int:
        """Units the acknowledged value of ``product_id`` moves by for this line (see
        :func:`omnisync.engine.listing_state.imported`)."""
        read_at = self.reflected_before.get(product_id)
        return listing_state.imported(self.decrements, order, line, before, read_at)


@dataclass(frozen=True)
class LineBefore:
    """The numbers of an order line as the ledger last applied them (for :func:`listing_state.own_shift`)."""

    quantity: int
    fulfilled: int
    cancelled: int
    restocked: int


def order_digest(order: Order) -> str:
    body = {
        "status": order.status.value,
        "location": order.location,
        "return_location": order.return_location,
        "lines": [
            [ln.line_id, ln.channel_sku, ln.quantity, ln.fulfilled, ln.cancelled, ln.restocked]
            for ln in sorted(order.lines, key=lambda x: x.line_id)
        ],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def open_units(order: Order, line: OrderLine) -> int:
    """Units the line still holds: ordered, not fulfilled, not cancelled (0 once the order is cancelled)."""
    if order.status is OrderStatus.CANCELLED:
        return 0
    return max(0, line.quantity - line.fulfilled - line.cancelled)


def import_orders(
    ledger: Ledger,
    channel: ChannelIntake,
    orders: Sequence[Order],
    *,
    at: datetime,
    cursor_to: datetime | None = None,
) -> IntakeReport:
    """Apply a page of orders in one transaction; the cursor moves in the same transaction."""
    report = IntakeReport()
    with ledger.tx() as tx:
        if channel.decrements != Decrements.NEVER and orders:
            channel = replace(channel, reflected_before=_read_times(tx, channel, orders))
        _import_page(tx, channel, orders, at, report)
        # A failed order must be read again: the cursor only moves when every order was applied.
        if cursor_to is not None and not report.failed:
            tx.set_cursor(channel.channel_id, cursor_to, at)
    return report


def _read_times(tx: LedgerTx, channel: ChannelIntake, orders: Sequence[Order]) -> dict[int, datetime]:
    """When the page's pairs were last read live (persisted, so it holds across a restart)."""
    masters = {channel.resolve_sku(line.channel_sku) for order in orders for line in order.lines}
    ids = tx.ledger.find_product_ids(tx.conn, [m for m in masters if m])
    return tx.observed_at(channel.channel_id, ids.values())


def _import_page(
    tx: LedgerTx, channel: ChannelIntake, orders: Sequence[Order], at: datetime, report: IntakeReport
) -> None:
    stored = tx.order_digests(channel.channel_id, [o.external_id for o in orders])
    changed: list[Order] = []
    fresh: list[tuple[Order, str]] = []
    later: list[Order] = []
    seen: set[str] = set()
    for order in orders:
        if order.external_id in seen:  # a repeat inside the page: after the first is in
            later.append(order)
            continue
        seen.add(order.external_id)
        digest = order_digest(order)
        existing = stored.get(order.external_id)
        if existing is None:
            if _bulk_ready(order):
                fresh.append((order, digest))
            else:
                later.append(order)
        elif existing[1] == digest:
            report.unchanged += 1
        else:
            changed.append(order)
    _one_by_one(tx, channel, changed, at, report)
    if fresh:
        part = IntakeReport()
        try:
            with tx.conn.begin_nested():
                _import_new(tx, channel, fresh, at, part)
        except Exception as exc:  # the page's new orders go one by one: the bad one fails alone
            log.warning("orders.bulk_failed", channel=channel.name, orders=len(fresh), error=str(exc))
            _one_by_one(tx, channel, [order for order, _ in fresh], at, report)
        else:
            report.merge(part)
    _one_by_one(tx, channel, later, at, report)


def _one_by_one(
    tx: LedgerTx, channel: ChannelIntake, orders: Sequence[Order], at: datetime, report: IntakeReport
) -> None:
    for order in orders:
        try:
            with tx.conn.begin_nested():
                _import_one(tx, channel, order, at, report)
        except Exception as exc:  # one bad order never blocks the others
            report.failed.append((order.external_id, str(exc)))
            log.warning("order.failed", channel=channel.name, order=order.external_id, error=str(exc))


def _bulk_ready(order: Order) -> bool:
    """Whether a new order can take the bulk path; the others go one by one, where whatever is wrong
    with them fails them alone, exactly as it always did."""
    if order.updated_at.tzinfo is None or len(order.external_id) > EXTERNAL_ID_MAX:
        return False
    line_ids: set[str] = set()
    for line in order.lines:
        try:
            _check_line(line)
        except ValueError:
            return False
        if line.line_id in line_ids:
            return False
        line_ids.add(line.line_id)
        if len(line.line_id) > LINE_ID_MAX or len(line.channel_sku) > CHANNEL_SKU_MAX:
            return False
    return True


def _import_new(
    tx: LedgerTx,
    channel: ChannelIntake,
    orders: Sequence[tuple[Order, str]],
    at: datetime,
    report: IntakeReport,
) -> None:
    """New, validated orders of one page, in a handful of statements (see the module docstring)."""
    ledger, conn = tx.ledger, tx.conn
    sources = [ledger.location_id(conn, code) for code in channel.sources]
    masters = {
        line.channel_sku: channel.resolve_sku(line.channel_sku) for order, _ in orders for line in order.lines
    }
    product_ids = ledger.find_product_ids(conn, [m for m in masters.values() if m])
    stock = ledger.stock_for(conn, list(product_ids.values()))
    existing = {(pid, lid) for pid, per_location in stock.items() for lid in per_location}
    tally: dict[int, dict[int, tuple[int, int]]] = {pid: dict(v) for pid, v in stock.items()}

    order_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    reservations: list[tuple[str, str, int, int, int]] = []
    """(external id, line id, product id, location id, quantity)"""
    movements: list[dict[str, Any]] = []
    moved: dict[str, tuple[int, int, int, str]] = {}
    """idempotency key -> (product id, location id, quantity, master SKU)"""
    deltas: dict[tuple[int, int], tuple[int, int]] = {}
    touched: set[int] = set()
    decreased: set[str] = set()
    quarantined: list[tuple[str, str]] = []
    taken: dict[int, int] = {}

    def add(pid: int, lid: int, on_hand: int, reserved: int) -> None:
        oh, rs = tally.setdefault(pid, {}).get(lid, (0, 0))
        tally[pid][lid] = (oh + on_hand, rs + reserved)
        doh, drs = deltas.get((pid, lid), (0, 0))
        deltas[(pid, lid)] = (doh + on_hand, drs + reserved)

    for order, digest in orders:
        location_id = _known_location(tx, order.location)
        order_rows.append(
            {
                "channel_id": channel.channel_id,
                "external_id": order.external_id,
                "status": order.status.value,
                "digest": digest,
                "location_id": location_id,
                "updated_at": order.updated_at,
                "imported_at": at,
            }
        )
        for line in order.lines:
            row: dict[str, Any] = {
                "external_id": order.external_id,
                "line_id": line.line_id,
                "channel_sku": line.channel_sku,
                "product_id": None,
                "location_id": None,
                "quantity": line.quantity,
                "fulfilled": line.fulfilled,
                "cancelled": line.cancelled,
                "restocked": line.restocked,
                "applied_fulfilled": 0,
                "applied_restocked": 0,
                "quarantined": False,
                "quarantine_reason": None,
            }
            line_rows.append(row)
            master = masters[line.channel_sku]
            product_id = product_ids.get(master) if master else None
            if product_id is None or master is None:
                row["quarantined"] = True
                row["quarantine_reason"] = f"unknown SKU {line.channel_sku!r} on channel {channel.name}"
                quarantined.append((order.external_id, line.channel_sku))
                continue
            shift = channel.shift(order, line, None, product_id)
            if shift:
                taken[product_id] = taken.get(product_id, 0) + shift
            held = open_units(order, line)
            line_location = location_id or choose_location(
                tally.get(product_id, {}), sources, held or line.quantity
            )
            row.update(
                product_id=product_id,
                location_id=line_location,
                applied_fulfilled=line.fulfilled,
                applied_restocked=line.restocked,
            )
            key = order_movement_key(channel.name, order.external_id, line.line_id)
            if held > 0:
                reservations.append((order.external_id, line.line_id, product_id, line_location, held))
                add(product_id, line_location, 0, held)
                touched.add(product_id)
                decreased.add(master)
            steps = [("sale", -line.fulfilled, line_location, f"{key}:sale:0->{line.fulfilled}")]
            if line.restocked:
                where = _known_location(tx, order.return_location) or line_location
                steps.append(("return", line.restocked, where, f"{key}:return:0->{line.restocked}"))
            for kind, quantity, where, idempotency_key in steps:
                if not quantity:
                    continue
                movements.append(
                    {
                        "product_id": product_id,
                        "location_id": where,
                        "kind": kind,
                        "quantity": quantity,
                        "idempotency_key": idempotency_key,
                        "reference": order.external_id,
                        "note": None,
                        "created_at": at,
                    }
                )
                moved[idempotency_key] = (product_id, where, quantity, master)
                # routing of the page's next orders sees this movement (the journal decides below
                # whether it really applies)
                tally_oh, tally_rs = tally.setdefault(product_id, {}).get(where, (0, 0))
                tally[product_id][where] = (tally_oh + quantity, tally_rs)
            if line.fulfilled:
                decreased.add(master)

    order_ids = tx.insert_orders(order_rows)
    for row in line_rows:
        row["order_id"] = order_ids[row.pop("external_id")]
    line_pks = tx.insert_order_lines_bulk(line_rows)
    tx.insert_reservations(
        [
            {
                "order_line_id": line_pks[(order_ids[external_id], line_id)],
                "product_id": pid,
                "location_id": lid,
                "quantity": quantity,
            }
            for external_id, line_id, pid, lid, quantity in reservations
        ]
    )
    for idempotency_key in tx.insert_movements(movements):
        pid, lid, quantity, _ = moved[idempotency_key]
        doh, drs = deltas.get((pid, lid), (0, 0))
        deltas[(pid, lid)] = (doh + quantity, drs)
        touched.add(pid)
    tx.apply_stock(deltas, existing)
    tx.touch_products(touched)
    tx.shift(channel.channel_id, listing_state.Shifted(taken))
    report.imported += len(orders)
    report.quarantined += len(quarantined)
    report.decreased |= decreased
    for external_id, channel_sku in quarantined:
        log.warning("order.line_quarantined", channel=channel.name, order=external_id, sku=channel_sku)


def _import_one(
    tx: LedgerTx, channel: ChannelIntake, order: Order, at: datetime, report: IntakeReport
) -> None:
    digest = order_digest(order)
    existing = tx.order_digest(channel.channel_id, order.external_id)
    if existing is not None and existing[1] == digest:
        report.unchanged += 1
        return
    location_id = _known_location(tx, order.location)
    order_id = tx.save_order(
        channel.channel_id,
        order.external_id,
        status=order.status.value,
        digest=digest,
        location_id=location_id,
        updated_at=order.updated_at,
        at=at,
    )
    stored = tx.order_lines(order_id) if existing is not None else {}
    for line in order.lines:
        _check_line(line)
        row = stored.get(line.line_id)
        reported = {
            "quantity": line.quantity,
            "fulfilled": line.fulfilled,
            "cancelled": line.cancelled,
            "restocked": line.restocked,
        }
        if row is None:
            master = channel.resolve_sku(line.channel_sku)
            product_id = tx.ledger.find_product_id(tx.conn, master) if master else None
            if product_id is None:
                tx.insert_order_line(
                    order_id,
                    line.line_id,
                    channel_sku=line.channel_sku,
                    quarantined=True,
                    quarantine_reason=f"unknown SKU {line.channel_sku!r} on channel {channel.name}",
                    **reported,
                )
                report.quarantined += 1
                log.warning(
                    "order.line_quarantined",
                    channel=channel.name,
                    order=order.external_id,
                    sku=line.channel_sku,
                )
                continue
            line_location = location_id or route(
                tx, product_id, channel.sources, open_units(order, line) or line.quantity
            )
            line_pk = tx.insert_order_line(
                order_id,
                line.line_id,
                channel_sku=line.channel_sku,
                product_id=product_id,
                location_id=line_location,
                **reported,
            )
            state = _LineState(line_pk, product_id, line_location, 0, 0)
        elif row.quarantined:
            tx.update_order_line(row.id, **reported)
            continue
        else:
            tx.update_order_line(row.id, **reported)
            state = _LineState(
                row.id, row.product_id, row.location_id, row.applied_fulfilled, row.applied_restocked
            )
        before = (
            None
            if row is None
            else LineBefore(row.quantity, state.applied_fulfilled, row.cancelled, state.applied_restocked)
        )
        shift = channel.shift(order, line, before, state.product_id)
        if shift:
            tx.shift(channel.channel_id, listing_state.Shifted({state.product_id: shift}))
        apply_line(tx, channel.name, order, line, state, at, report)
    report.imported += 1


@dataclass
class _LineState:
    line_pk: int
    product_id: int
    location_id: int
    applied_fulfilled: int
    applied_restocked: int


def _check_line(line: OrderLine) -> None:
    numbers = (line.quantity, line.fulfilled, line.cancelled, line.restocked)
    if any(n < 0 for n in numbers):
        raise ValueError(f"line {line.line_id}: negative quantities {numbers}")
    if line.fulfilled + line.cancelled > line.quantity:
        raise ValueError(f"line {line.line_id}: fulfilled + cancelled exceed the ordered quantity")


def _known_location(tx: LedgerTx, code: str | None) -> int | None:
    if not code:
        return None
    try:
        return tx.ledger.location_id(tx.conn, code)
    except ValueError:
        return None


def route(tx: LedgerTx, product_id: int, sources: Sequence[str], quantity: int) -> int:
    """The channel's sources in priority order; the first with enough available units wins."""
    ids = [tx.ledger.location_id(tx.conn, code) for code in sources]
    stock = tx.ledger.stock_for(tx.conn, [product_id]).get(product_id, {})
    return choose_location(stock, ids, quantity)


def choose_location(stock: Mapping[int, tuple[int, int]], sources: Sequence[int], quantity: int) -> int:
    """Routing over one SKU's (on_hand, reserved) per location id: the first source with enough
    available units, else the one with the most."""
    for lid in sources:
        on_hand, reserved = stock.get(lid, (0, 0))
        if on_hand - reserved >= quantity:
            return lid
    return max(sources, key=lambda lid: stock.get(lid, (0, 0))[0] - stock.get(lid, (0, 0))[1])


def apply_line(
    tx: LedgerTx,
    channel: str,
    order: Order,
    line: OrderLine,
    state: Any,
    at: datetime,
    report: IntakeReport,
) -> None:
    """Bring the ledger to the line's reported numbers, applying only the difference."""
    key = order_movement_key(channel, order.external_id, line.line_id)
    reserved_delta = tx.set_reservation(
        state.line_pk, state.product_id, state.location_id, open_units(order, line)
    )
    sold = line.fulfilled - state.applied_fulfilled
    if sold:
        tx.record_movement_ids(
            state.product_id,
            state.location_id,
            "sale",
            -sold,
            f"{key}:sale:{state.applied_fulfilled}->{line.fulfilled}",
            at=at,
            reference=order.external_id,
        )
    restocked = line.restocked - state.applied_restocked
    if restocked:
        where = _known_location(tx, order.return_location) or state.location_id
        tx.record_movement_ids(
            state.product_id,
            where,
            "return",
            restocked,
            f"{key}:return:{state.applied_restocked}->{line.restocked}",
            at=at,
            reference=order.external_id,
        )
    tx.update_order_line(state.line_pk, applied_fulfilled=line.fulfilled, applied_restocked=line.restocked)
    if reserved_delta > 0 or (sold > 0 and reserved_delta > -sold):
        report.decreased.add(queries.sku_of(tx.conn, state.product_id))


def retry_quarantined(ledger: Ledger, channels: dict[str, ChannelIntake], *, at: datetime) -> tuple[int, int]:
    """Import quarantined lines whose SKU is now known. Returns (imported, still quarantined)."""
    done = still = 0
    with ledger.tx() as tx:
        for row in tx.quarantined_lines():
            channel = channels.get(row.channel)
            master = channel.resolve_sku(row.channel_sku) if channel else None
            product_id = tx.ledger.find_product_id(tx.conn, master) if master else None
            if channel is None or product_id is None:
                still += 1
                continue
            order = Order(
                external_id=row.external_id,
                status=OrderStatus(row.status),
                updated_at=at,
                lines=(),
            )
            line = OrderLine(
                row.line_id, row.channel_sku, row.quantity, row.fulfilled, row.cancelled, row.restocked
            )
            location_id = route(tx, product_id, channel.sources, open_units(order, line) or line.quantity)
            tx.update_order_line(
                row.id,
                product_id=product_id,
                location_id=location_id,
                quarantined=False,
                quarantine_reason=None,
            )
            apply_line(
                tx,
                channel.name,
                order,
                line,
                _LineState(row.id, product_id, location_id, 0, 0),
                at,
                IntakeReport(),
            )
            done += 1
    return done, still
