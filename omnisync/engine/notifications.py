"""Queued notifications (Amazon's through SQS): parsed, the orders they name read alone and taken in
through the one intake, the quantities they report compared with what the channel acknowledged.

Effectively once: a notification id already remembered is skipped; ids are remembered only after what
the notification brought is committed, and the queue's message is deleted only after that (the
daemon's consumer, :mod:`omnisync.daemon.queue`). A failure leaves the message on the queue, to be
received again once its visibility timeout ends; the order's digest makes a second import a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from omnisync.sdk.errors import OmnisyncError, UnsupportedOperation
from omnisync.sdk.models import Order, WebhookEvent, WebhookKind

from .intake import IntakeReport, import_orders
from .setup import EngineSetup

log = structlog.get_logger("omnisync.notifications")


@dataclass
class Received:
    """A batch of queued messages, parsed."""

    events: dict[str, list[WebhookEvent]] = field(default_factory=dict)
    """Message id -> its events not seen before."""
    unparsable: dict[str, str] = field(default_factory=dict)
    """Message id -> why it could not be parsed (the dead-letter path)."""
    duplicates: int = 0


@dataclass
class NotificationReport:
    intake: IntakeReport = field(default_factory=IntakeReport)
    done: set[str] = field(default_factory=set)
    """Event ids whose work is committed (their messages may be deleted)."""
    recheck: set[int] = field(default_factory=set)
    """Products whose reported quantity disagreed with the acknowledged one."""


class QueuedNotifications(EngineSetup):
    def parse_notifications(self, channel: str, messages: Mapping[str, str]) -> Received:
        """Parse message bodies (message id -> body) and leave out the events seen before."""
        rt = self.channels[channel]
        received = Received()
        parsed: dict[str, list[WebhookEvent]] = {}
        for message_id, body in messages.items():
            try:
                parsed[message_id] = rt.connector.parse_notification(body)
            except (OmnisyncError, ValueError) as exc:
                received.unparsable[message_id] = str(exc)
        with self.ledger.read() as conn:
            seen = self.ledger.seen_webhooks(
                conn, rt.channel_id, [e.event_id for events in parsed.values() for e in events]
            )
        for message_id, events in parsed.items():
            fresh = [e for e in events if e.event_id not in seen]
            received.duplicates += len(events) - len(fresh)
            received.events[message_id] = fresh
        return received

    async def apply_notifications(self, channel: str, events: Sequence[WebhookEvent]) -> NotificationReport:
        """Take in what the events bring: orders they carry or name (read alone), then quantities.

        Orders come first, so a quantity reported after a sale compares with the value the sale's
        import moved. An event whose order could not be read or applied is not ``done``.
        """
        rt = self.channels[channel]
        report = NotificationReport()
        orders: list[Order] = [e.order for e in events if e.order is not None]
        named = list(dict.fromkeys(e.order_id for e in events if e.order is None and e.order_id))
        failed: set[str] = set()
        if named:
            try:
                page = await rt.connector.read_orders(named)
            except UnsupportedOperation:  # the next pull reads them
                page = None
            if page is not None:
                orders += page.orders
                failed |= {external_id for external_id, _ in page.failed}
        if orders:
            report.intake = import_orders(self.ledger, rt.intake, orders, at=self.clock.now())
            rt.health.orders_imported += report.intake.imported
            failed |= {external_id for external_id, _ in report.intake.failed}
        report.recheck = self._disagreeing(channel, [e for e in events if e.kind is WebhookKind.INVENTORY])
        for event in events:
            external_id = event.order.external_id if event.order is not None else event.order_id
            if external_id is None or external_id not in failed:
                report.done.add(event.event_id)
        rt.recheck |= report.recheck  # the next push reads them live first (ChannelCycle.push)
        with self.ledger.tx() as tx:
            for event_id in sorted(report.done):
                tx.remember_webhook(rt.channel_id, event_id, self.clock.now())
        return report

    def _disagreeing(self, channel: str, events: Sequence[WebhookEvent]) -> set[int]:
        """Products whose reported quantity is not the one the channel last acknowledged."""
        reported = {e.channel_sku: e.quantity for e in events if e.channel_sku and e.quantity is not None}
        if not reported:
            return set()
        rt = self.channels[channel]
        with self.ledger.read() as conn:
            listings = self.ledger.listings(conn, rt.channel_id, channel_skus=list(reported))
        out = {li.product_id for li in listings if li.acked_quantity != reported[li.channel_sku]}
        if out:
            log.info("notification.quantity_differs", channel=channel, pairs=len(out))
        return out
