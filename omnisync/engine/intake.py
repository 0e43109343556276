"""Orders -> ledger, effectively once. One path for polled and webhook orders.

A page is imported in one transaction, as decide -> apply: the ledger is read once for what it holds
of the page (:meth:`~omnisync.ledger.intake.IntakeWrites.intake_view`), the pure rules of
:mod:`omnisync.engine.intake_rules` turn the page into its changes, and one ledger call applies them
(:meth:`~omnisync.ledger.intake.IntakeWrites.apply_intake`). Re-delivered orders whose digest is
unchanged are counted and never read further. An order that breaks a rule fails alone in the
decision; if applying the page fails in the database, its transaction is rolled back and its orders
are decided and applied again one at a time, each in its own savepoint, so the bad one fails alone
and never blocks the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from omnisync.ledger.intake_rows import IntakeChanges
from omnisync.ledger.repository import Ledger, LedgerTx
from omnisync.sdk.models import Decrements, Order

from .intake_rules import (
    ChannelIntake,
    Decision,
    QuarantinedLine,
    decide,
    order_digest,
    page_codes,
    page_skus,
    retry,
    rounds,
    triage,
)
from .planner import paused_gc

__all__ = ["ChannelIntake", "IntakeReport", "import_orders", "retry_quarantined"]

log = structlog.get_logger("omnisync.intake")

PAGE_AT_ONCE = True
"""Apply a page's changes in one call (False: one order at a time, as after a failed page)."""


@dataclass
class IntakeReport:
    imported: int = 0
    """Orders new or changed."""
    unchanged: int = 0
    """Re-deliveries skipped by digest."""
    stale: int = 0
    """Versions older than the one applied (a webhook delivered late), skipped: applying one would
    take back what the newer version did."""
    quarantined: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(external id, error) of orders that could not be applied."""
    decreased: set[str] = field(default_factory=set)
    """Master SKUs whose available stock went down (to expedite pushes elsewhere)."""
    incomplete: bool = False
    """The pull stopped before the end of its window (the engine winding down)."""
    knock_on: set[str] = field(default_factory=set)
    """Master SKUs whose available stock went down through a kit (its components when a kit sold,
    a component sold alone): the channel's own listings of their kits and components move too."""

    def merge(self, other: IntakeReport) -> None:
        self.imported += other.imported
        self.unchanged += other.unchanged
        self.stale += other.stale
        self.quarantined += other.quarantined
        self.failed.extend(other.failed)
        self.decreased |= other.decreased
        self.knock_on |= other.knock_on
        self.incomplete = self.incomplete or other.incomplete

    def applied(self, decision: Decision) -> None:
        self.imported += len(decision.orders)
        self.quarantined += len(decision.quarantined)
        self.decreased |= decision.decreased
        self.knock_on |= decision.knock_on


def import_orders(
    ledger: Ledger,
    channel: ChannelIntake,
    orders: Sequence[Order],
    *,
    at: datetime,
    cursor_to: datetime | None = None,
) -> IntakeReport:
    """Apply a page of orders in one transaction; the cursor moves in the same transaction.

    The page's changes are applied at once, without a savepoint; if that fails in the database the
    transaction is rolled back and the page imported again one order at a time, each order in a
    savepoint of its own, so the bad one fails alone. No cyclic garbage collection runs inside a
    page: its rows are acyclic, and the collections they would trigger cost a tenth of the page.
    """
    with paused_gc():
        if PAGE_AT_ONCE:
            try:
                return _import_page(ledger, channel, orders, at, cursor_to, at_once=True)
            except _PageFailed as failed:
                log.warning(
                    "orders.bulk_failed",
                    channel=channel.name,
                    orders=len(orders),
                    error=str(failed.__cause__),
                )
        return _import_page(ledger, channel, orders, at, cursor_to, at_once=False)


class _PageFailed(Exception):
    """Applying a page's changes at once failed in the database (the cause is chained)."""


def _import_page(
    ledger: Ledger,
    channel: ChannelIntake,
    orders: Sequence[Order],
    at: datetime,
    cursor_to: datetime | None,
    *,
    at_once: bool,
) -> IntakeReport:
    report = IntakeReport()
    quarantined: list[tuple[str, str]] = []
    with ledger.tx() as tx:
        for batch in rounds(orders):
            quarantined += _import_round(tx, channel, batch, at, report, at_once=at_once)
        # A failed order must be read again: the cursor only moves when every order was applied.
        if cursor_to is not None and not report.failed:
            tx.set_cursor(channel.channel_id, cursor_to, at)
    for external_id, channel_sku in quarantined:
        log.warning("order.line_quarantined", channel=channel.name, order=external_id, sku=channel_sku)
    return report


def _import_round(
    tx: LedgerTx,
    channel: ChannelIntake,
    orders: Sequence[Order],
    at: datetime,
    report: IntakeReport,
    *,
    at_once: bool,
) -> list[tuple[str, str]]:
    """Orders of a page, each appearing once. Returns the lines quarantined. ``at_once``: the round's
    changes in one call, a failure raising :class:`_PageFailed` (the whole page is then rolled back)."""
    decision = _decide(tx, channel, orders, at, report)
    if not decision.orders:
        report.failed.extend(decision.failed)
        return []
    if at_once:
        try:
            _apply_page(tx, decision.changes)
        except Exception as exc:
            raise _PageFailed from exc
        report.failed.extend(decision.failed)
        report.applied(decision)
        return decision.quarantined
    failed = dict(decision.failed)
    work = {order.external_id for order in decision.orders}
    quarantined: list[tuple[str, str]] = []
    for order in orders:
        if order.external_id in failed:
            report.failed.append((order.external_id, failed[order.external_id]))
            continue
        if order.external_id not in work:  # unchanged, counted already
            continue
        try:
            with tx.conn.begin_nested():
                alone = _decide(tx, channel, [order], at, report)
                tx.apply_intake(alone.changes)
        except Exception as exc:  # one bad order never blocks the others
            report.failed.append((order.external_id, str(exc)))
            log.warning("order.failed", channel=channel.name, order=order.external_id, error=str(exc))
        else:
            report.applied(alone)
            quarantined += alone.quarantined
    return quarantined


def _decide(
    tx: LedgerTx, channel: ChannelIntake, orders: Sequence[Order], at: datetime, report: IntakeReport
) -> Decision:
    """Read what the ledger holds for ``orders`` and decide; unchanged re-deliveries are counted in
    ``report`` and left out."""
    digests = {order.external_id: order_digest(order) for order in orders}
    stored = tx.order_digests(channel.channel_id, digests)
    work, unchanged, stale = triage(orders, digests, stored)
    report.unchanged += unchanged
    report.stale += len(stale)
    for order in stale:
        log.info("order.stale_version", channel=channel.name, order=order.external_id)
    held = {o.external_id: stored[o.external_id] for o in work if o.external_id in stored}
    view = tx.intake_view(
        channel.channel_id,
        held,
        page_skus(channel, work),
        page_codes(channel, work),
        read_times=channel.decrements != Decrements.NEVER and bool(work),
    )
    return decide(channel, work, view, at=at, digests=digests)


def _apply_page(tx: LedgerTx, changes: IntakeChanges) -> None:
    tx.apply_intake(changes)


def retry_quarantined(
    ledger: Ledger, channels: Mapping[str, ChannelIntake], *, at: datetime
) -> tuple[int, int]:
    """Import quarantined lines whose SKU is now known. Returns (imported, still quarantined)."""
    with ledger.tx() as tx:
        rows = tx.quarantined_lines()
        lines = [
            QuarantinedLine(
                pk=int(r.id),
                channel=str(r.channel),
                external_id=str(r.external_id),
                status=str(r.status),
                line_id=str(r.line_id),
                channel_sku=str(r.channel_sku),
                quantity=int(r.quantity),
                fulfilled=int(r.fulfilled),
                cancelled=int(r.cancelled),
                restocked=int(r.restocked),
                unit_price=r.unit_price,
                refunded=int(r.refunded),
            )
            for r in rows
        ]
        skus = {
            master
            for line in lines
            if (ch := channels.get(line.channel)) is not None and (master := ch.resolve_sku(line.channel_sku))
        }
        codes = {code for ch in channels.values() for code in ch.sources}
        view = tx.intake_view(0, {}, skus, codes, read_times=False)
        changes, done = retry(channels, lines, view, at=at)
        tx.apply_intake(changes)
    return done, len(lines) - done
