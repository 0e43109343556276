"""Reconcile: read a channel's live state, report drift, re-plan and push every pair."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from .channel import ChannelRuntime
from .cycle import ChannelCycle
from .runs import CycleReport

log = structlog.get_logger("omnisync.engine")


class Reconciler(ChannelCycle):
    async def reconcile(self, channel: str, *, admit: Callable[[], bool] | None = None) -> CycleReport:
        """Read the channel's live state, report drift, re-plan and push every pair."""

        async def work(rt: ChannelRuntime, report: CycleReport) -> None:
            with self.ledger.read() as conn:
                listings = [
                    li for li in self.ledger.listings(conn, rt.channel_id) if not li.missing and li.ids
                ]
            # the live read before the pull: see _resolve_stale
            report.drift, report.orders = await self._observe_then_pull(rt, listings)
            if report.drift:
                log.warning("reconcile.drift", channel=channel, pairs=report.drift)
            with self.ledger.tx() as tx:
                tx.mark_all_dirty(rt.channel_id)
            report.push = await self.push(channel, all_pairs=True)
            rt.health.last_reconcile_at = self.clock.now()
            rt.health.drift_corrected += report.drift

        return await self._run(channel, "reconcile", work, lane="reconcile", admit=admit)
