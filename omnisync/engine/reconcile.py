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
        """Read the channel's live state, report drift, pull its orders, re-plan and push every pair.

        The live read comes before the pull (as in the stale path: a sale made before the read is in
        it and, after the pull, in the ledger, without moving the acknowledged value twice). The
        read and the push hold the channel's plan lock with no push in flight; the pull between them
        holds only the pull lane, so the channel's pushes go on while a backlog is pulled.
        """

        async def work(rt: ChannelRuntime, report: CycleReport) -> None:
            async with rt.gate.lock:
                await rt.wait_idle()  # a pipelined channel's pushes in flight settle first
                with self.ledger.read() as conn:
                    listings = [
                        li for li in self.ledger.listings(conn, rt.channel_id) if not li.missing and li.ids
                    ]
                report.drift = await self._observe(rt, listings)
                # the read may hold sales not imported yet: until the pull below (or another that
                # starts after the read) succeeds, no push may raise the channel over them
                rt.health.read_live()
            if report.drift:
                log.warning("reconcile.drift", channel=channel, pairs=report.drift)
            rt.external_read = False  # the pull reads the channel's own locations in full
            report.orders = await self.pull(channel)
            async with rt.gate.lock:
                await rt.wait_idle()
                with self.ledger.tx() as tx:
                    tx.mark_all_dirty(rt.channel_id)
                report.push = await self.push(channel, all_pairs=True)
            rt.health.last_reconcile_at = self.clock.now()
            rt.health.drift_corrected += report.drift

        return await self._run(channel, "reconcile", work, lane="reconcile", exclusive=False, admit=admit)
