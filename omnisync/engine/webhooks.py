"""Webhooks: verify and remember events at once, import the orders they carry after the answer;
and the retry of quarantined order lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omnisync.sdk.models import WebhookEvent, WebhookKind

from .intake import IntakeReport, import_orders, retry_quarantined
from .setup import EngineSetup


class Webhooks(EngineSetup):
    def retry_quarantined(self) -> tuple[int, int]:
        return retry_quarantined(
            self.ledger, {n: rt.intake for n, rt in self.channels.items()}, at=self.clock.now()
        )

    async def handle_webhook(
        self, channel: str, headers: Mapping[str, str], body: bytes, url: str | None = None
    ) -> tuple[int, bool]:
        """Verify and take in a webhook at once. Returns (new events, whether a pull is wanted)."""
        events = self.accept_webhook(channel, headers, body, url)
        await self.apply_webhook(channel, events)
        return len(events), wants_pull(events)

    def accept_webhook(
        self, channel: str, headers: Mapping[str, str], body: bytes, url: str | None = None
    ) -> list[WebhookEvent]:
        """Verify a webhook (the connector raises on a bad signature) and keep its events not seen
        before. Quick and free of channel locks, so the platform gets its answer within its deadline;
        :meth:`apply_webhook` does the work after the answer."""
        rt = self.channels[channel]
        events = rt.connector.parse_webhook(headers, body, url)
        with self.ledger.tx() as tx:
            return [e for e in events if tx.remember_webhook(rt.channel_id, e.event_id, self.clock.now())]

    async def apply_webhook(self, channel: str, events: Sequence[WebhookEvent]) -> IntakeReport:
        """Import the orders the events carry (the pull the webhook asks for would find them too; the
        payload only gets them into the ledger sooner).

        No channel lock is taken: an import is one transaction, and a pull in flight (which may be
        waiting on the platform's budget) must not hold back the decrease. A live read racing the
        import is settled by ``listing.observed_at`` (see listing_state.in_last_read).
        """
        rt = self.channels[channel]
        orders = [e.order for e in events if e.order is not None]
        if not orders:
            return IntakeReport()
        report = import_orders(self.ledger, rt.intake, orders, at=self.clock.now())
        rt.health.orders_imported += report.imported
        return report


def wants_pull(events: Sequence[WebhookEvent]) -> bool:
    """Whether these webhook events ask for a pull of their channel (orders or inventory changed)."""
    return any(e.kind in (WebhookKind.ORDER, WebhookKind.INVENTORY) for e in events)
