"""The channel cycle: pull orders, plan, push (one at a time, or pipelined beside the pushes in
flight), and the stale path (a lost compare-and-set read live, pulled, re-planned, retried)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta

import structlog

from omnisync.ledger.repository import ListingRow
from omnisync.sdk.errors import OmnisyncError
from omnisync.sdk.models import Capability, InventoryRef, OrderCursor

from . import listing_state
from .channel import ChannelRuntime
from .external import ExternalStock
from .gate import Lane
from .intake import IntakeReport, import_orders
from .plan_reading import PlanReader
from .planner import PlannedItem
from .pusher import PushReport, hold_increases, push_items, replay_outbox
from .runs import CycleReport, RunRecorder

log = structlog.get_logger("omnisync.engine")

STALE_ROUNDS = 2


class ChannelCycle(PlanReader, RunRecorder, ExternalStock):
    async def pull(self, channel: str) -> IntakeReport:
        async with self.channels[channel].gate.enter("pull"):
            return await self._pull(channel)

    async def _pull(self, channel: str) -> IntakeReport:
        rt = self.channels[channel]
        if not rt.connector.supports(Capability.PULL_ORDERS):
            return IntakeReport()
        pull = rt.health.pull_started()
        try:
            report = await self._pull_pages(rt)
            # the stock the channel keeps itself, after its orders (their reservations are in)
            report.decreased |= await self.read_external_stock(rt)
        except BaseException:
            rt.health.orders_behind = True
            raise
        rt.health.pulled(pull, failed=bool(report.failed) or report.incomplete)
        return report

    async def _pull_pages(self, rt: ChannelRuntime) -> IntakeReport:
        """Read the channel's order window page by page, each page imported in one transaction.

        The cursor moves with the last page when no order of the window failed (to read or to apply):
        a failed order is read again next time, never skipped. A connector whose pages ascend by
        ``updated_at`` (``Capability.ORDERED_PULL``) has the cursor moved with every page, to the
        newest order of the pages so far, so a restart resumes there. Between pages the pull stops
        when the engine winds down (:meth:`wind_down`): the rest of the window is read next time.
        """
        channel = rt.name
        report = IntakeReport()
        now = self.clock.now()
        with self.ledger.read() as conn:
            since = self.ledger.cursor(conn, rt.channel_id)
        since = since or now - timedelta(seconds=rt.config.initial_lookback)
        cursor = OrderCursor(since - timedelta(seconds=rt.config.order_overlap))
        newest = since
        ordered = rt.connector.supports(Capability.ORDERED_PULL)
        for _ in range(100_000):
            page = await rt.connector.pull_orders(cursor)
            for order in page.orders:
                newest = max(newest, order.updated_at)
            last = page.next_page_token is None
            report.failed.extend(page.failed)
            checkpoint = (last or ordered) and not report.failed
            report.merge(
                import_orders(
                    self.ledger,
                    rt.intake,
                    page.orders,
                    at=self.clock.now(),
                    cursor_to=newest if checkpoint else None,
                )
            )
            if last:
                break
            if page.next_page_token == cursor.page_token:
                raise OmnisyncError("the channel returned the same page token twice", channel=channel)
            if self.winding_down:
                log.info("pull.stopped", channel=channel, reason="shutting down", imported=report.imported)
                report.incomplete = True
                break
            cursor = OrderCursor(cursor.updated_after, page.next_page_token)
        rt.health.last_pull_at = self.clock.now()
        rt.health.orders_imported += report.imported
        rt.health.quarantined += report.quarantined
        return report

    async def push(
        self, channel: str, *, all_pairs: bool = False, product_ids: Sequence[int] | None = None
    ) -> PushReport:
        """Plan and push the channel's pairs (dirty ones unless told otherwise), the caller holding
        the channel's ``lock`` and no other push in flight."""
        rt = self.channels[channel]
        report = PushReport()
        await replay_outbox(rt, self.ledger, self.clock)
        await self._recheck(rt, report)
        self.mark_due_drops()
        for planned, unchanged in self.iter_plan(channel, all_pairs=all_pairs, product_ids=product_ids):
            changes = self._sendable(rt, planned, unchanged, report)
            if changes:
                report.merge(await push_items(rt, self.ledger, changes, self.clock))
        return await self._pushed(rt, report)

    async def push_pipelined(self, channel: str) -> PushReport:
        """Push the channel's dirty pairs beside its pushes in flight (``ChannelRuntime.push_slots``).

        The plan is made under the gate's ``lock``, the sending outside it: a decrease does not
        wait for an earlier batch to settle on the platform. A pair in flight stays dirty and is
        counted ``deferred``; the push carrying it then reports ``again``, so its new value follows
        at once. Reconciles still wait until nothing is in flight (:meth:`_run`).
        """
        rt = self.channels[channel]
        report = PushReport()
        changes: list[PlannedItem] = []
        # the caller holds a slot of the gate's push lane (cycle); the push budget first: the plan
        # then takes every pair dirty by now
        await rt.connector.context.budgets.ready("push_inventory")
        async with rt.gate.lock:
            if not rt.in_flight:  # an outbox entry now is a push that never settled: a restart's
                await replay_outbox(rt, self.ledger, self.clock)
                await self._recheck(rt, report)
            self.mark_due_drops()
            for planned, unchanged in self.iter_plan(channel):
                changes += self._sendable(rt, planned, unchanged, report)
            mine = {item.product_id: item.version for item in changes}
            rt.take(mine)
        try:
            if changes:
                report.merge(await push_items(rt, self.ledger, changes, self.clock))
            await self._pushed(rt, report)
        finally:
            report.again = rt.release(mine)
        return report

    async def _recheck(self, rt: ChannelRuntime, report: PushReport) -> None:
        """Read live the pairs a notification reported other than acknowledged; as after any live read,
        increases then wait for a pull that starts after it (the report asks for one)."""
        if not rt.recheck:
            return
        pids, rt.recheck = sorted(rt.recheck), set()
        with self.ledger.read() as conn:
            rows = [li for li in self.ledger.listings(conn, rt.channel_id, product_ids=pids) if li.ids]
        try:
            rt.health.drift_corrected += await self._observe(rt, rows)
        except OmnisyncError:
            rt.recheck.update(pids)  # read again with the next push
            raise
        rt.health.read_live()
        report.wants_pull = True

    def _sendable(
        self,
        rt: ChannelRuntime,
        changes: Sequence[PlannedItem],
        unchanged: Sequence[tuple[int, int, int]],
        report: PushReport,
    ) -> Sequence[PlannedItem]:
        """Settle the unchanged pairs; of the changes, those to send now (not in flight, not held).

        Pairs in flight (a pipelined channel's other pushes) wait for their push to settle; the ones
        that changed since it was planned are ``deferred``, to follow it at once.
        """
        busy = rt.in_flight
        if busy:
            moved = {pid for pid, version, _ in unchanged if pid in busy and version > busy[pid]}
            moved |= {
                i.product_id for i in changes if i.product_id in busy and i.version > busy[i.product_id]
            }
            rt.deferred |= moved
            report.deferred += len(moved)
            changes = [i for i in changes if i.product_id not in busy]
            unchanged = [u for u in unchanged if u[0] not in busy]
        if unchanged:
            with self.ledger.tx() as tx:
                tx.settle_unchanged(rt.channel_id, unchanged)
        if changes and rt.holds_increases:
            changes, report.held = hold_increases(changes, report.held)
        return changes

    async def _pushed(self, rt: ChannelRuntime, report: PushReport) -> PushReport:
        """After the push: resolve compare-and-set losses, then the channel's counters."""
        if report.stale:
            report.merge(await self._resolve_stale(rt, report.stale))
            report.stale = []
        if report.held:
            log.info("push.increases_held", channel=rt.name, items=report.held, reason="orders not pulled")
        rt.health.last_push_at = self.clock.now()
        rt.health.items_pushed += report.pushed
        rt.health.items_accepted += report.accepted
        rt.health.items_rejected += report.rejected
        return report

    async def _resolve_stale(self, rt: ChannelRuntime, stale: Sequence[PlannedItem]) -> PushReport:
        """Compare-and-set lost: read the stale pairs live, re-plan them, retry; the pull comes after.

        The live read's values become the compare values. The channel's orders are not pulled here:
        a backlog paced by the platform's budget must not hold the push lane (a decrease another
        channel's sale calls for would wait behind it). Until a pull that starts after the read has
        caught up, the channel holds increases (``ChannelHealth.read_live``): the read may hold sales
        the ledger has not imported, and raising the channel over them would lose them. Decreases go
        at once; a lower value never shows too much. The report asks for that pull (``wants_pull``).

        A sale already in the read does not move the acknowledged value again when it is imported
        (``listing.observed_at``); one placed within a few seconds of the read is taken to be in it,
        which at worst costs another stale round. Erring this way never shows too much.
        """
        log.info("push.stale", channel=rt.name, items=len(stale))
        report = PushReport(wants_pull=True)
        for _ in range(STALE_ROUNDS):
            await self._observe(rt, stale)
            rt.health.read_live()
            retry = PushReport()
            for planned, _unchanged in self.iter_plan(rt.name, product_ids=[i.product_id for i in stale]):
                changes: Sequence[PlannedItem] = planned
                if rt.holds_increases:
                    changes, retry.held = hold_increases(changes, retry.held)
                if changes:
                    retry.merge(await push_items(rt, self.ledger, changes, self.clock))
            stale, retry.stale = retry.stale, []
            report.merge(retry)
            if not stale:
                break
        for item in stale:  # still racing: leave dirty for the next cycle
            log.info("push.stale_again", channel=rt.name, sku=item.sku)
        return report

    async def _observe(self, rt: ChannelRuntime, items: Sequence[PlannedItem | ListingRow]) -> int:
        """Read live quantities; they become the compare values. Returns the number that drifted."""
        if not rt.connector.supports(Capability.READ_INVENTORY):
            return 0
        drift = 0
        size = max(1, rt.connector.limits.read_inventory.max_batch)
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            refs = [InventoryRef(i.sku, i.channel_sku, i.ids, rt.rules.sources[0]) for i in chunk]
            read_at = self.clock.now()
            live = await rt.connector.read_inventory(refs)
            with self.ledger.tx() as tx:
                for item in chunk:
                    if item.sku not in live:
                        continue
                    value = live[item.sku]
                    acked = item.previous if isinstance(item, PlannedItem) else item.acked_quantity
                    if value != acked:
                        drift += 1
                    tx.observe(rt.channel_id, item.product_id, listing_state.observed(value, at=read_at))
        return drift

    async def cycle(
        self,
        channel: str,
        *,
        pull: bool = True,
        push: bool = True,
        admit: Callable[[], bool] | None = None,
    ) -> CycleReport:
        """Pull the channel's orders, then push its dirty pairs (either may be left out), as one run
        in the channel's gate: the pull lane for a pull alone, else the push lane (see
        :mod:`omnisync.engine.gate`). ``admit`` is asked once the lane is free."""
        pipelined = self.channels[channel].push_slots > 1
        lane: Lane = "push" if push else "pull"

        async def work(rt: ChannelRuntime, report: CycleReport) -> None:
            if pull:
                # a pull alone already holds the pull lane
                report.orders = await (self.pull(channel) if push else self._pull(channel))
            if push:
                report.push = await (self.push_pipelined(channel) if pipelined else self.push(channel))

        # They meet in the ledger only, where an import's shift and a push's acknowledgement compose
        # (listing_state.pushed ``since``).
        kind = "cycle" if pull and push else "pull" if pull else "push"
        return await self._run(channel, kind, work, lane=lane, exclusive=push and not pipelined, admit=admit)

    async def sync_once(
        self, channels: Sequence[str] | None = None, *, done: Callable[[str, CycleReport], None] | None = None
    ) -> dict[str, CycleReport]:
        """Pull every channel first (so each plan sees every sale), then push; channels isolated.
        ``done(stage, report)`` is told as each channel's pull and push ends (the CLI's progress)."""
        names = list(channels or self.channels)

        async def stage(name: str, *, pull: bool) -> CycleReport:
            report = await self.cycle(name, pull=pull, push=not pull)
            if done is not None:
                done("pull" if pull else "push", report)
            return report

        pulled = await asyncio.gather(*(stage(n, pull=True) for n in names))
        pushed = await asyncio.gather(*(stage(n, pull=False) for n in names))
        out: dict[str, CycleReport] = {}
        for first, second in zip(pulled, pushed, strict=True):
            second.orders = first.orders
            second.ok = first.ok and second.ok
            second.error = first.error or second.error
            second.api_calls += first.api_calls
            second.throttled += first.throttled
            out[first.channel] = second
        return out
