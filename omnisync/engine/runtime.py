"""The engine: orchestrates intake, planning and pushing per channel, each channel isolated.

A cycle for one channel is pull orders -> plan its dirty pairs -> push. A stale compare-and-set
answer pulls that channel's orders, reads the live values, re-plans and retries once. A full
reconcile reads the channel's live quantities, reports drift and re-plans every pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog

from omnisync.allocation import LocationStock, QuantityRules, get_policy
from omnisync.clock import Clock, SystemClock
from omnisync.config import ChannelConfig, LoadedConfig
from omnisync.drops import next_edge
from omnisync.http import CallStats
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger, ListingRow, PlanDecoder
from omnisync.mapping import ChannelMapping, MappingFile
from omnisync.pricing import PriceRules
from omnisync.sdk.errors import OmnisyncError
from omnisync.sdk.models import Capability, InventoryRef, OrderCursor, WebhookEvent, WebhookKind
from omnisync.sdk.registry import load_connector
from omnisync.sdk.runtime import instantiate
from omnisync.yamlsource import load_yaml, validate

from . import listing_state
from .channel import ChannelRuntime
from .intake import ChannelIntake, IntakeReport, import_orders, retry_quarantined
from .planner import ChannelRules, ChunkPlan, PlannedItem, RowPlanner, SkuState, Target, TargetCalculator
from .pusher import PushReport, hold_increases, push_items, replay_outbox

log = structlog.get_logger("omnisync.engine")
STALE_ROUNDS = 2
PLAN_CHUNK = 5000
DIRTY_SCAN_THRESHOLD = 100_000
"""Dirty pairs above which a dirty-only plan reads every product instead of the dirty index."""


@dataclass
class CycleReport:
    channel: str
    ok: bool = True
    skipped: str | None = None
    orders: IntakeReport = field(default_factory=IntakeReport)
    push: PushReport = field(default_factory=PushReport)
    drift: int = 0
    error: str | None = None
    api_calls: int = 0
    throttled: int = 0
    duration_s: float = 0.0


def channel_rules(name: str, config: ChannelConfig, mapping: ChannelMapping) -> ChannelRules:
    a = config.allocation
    quantity = QuantityRules(
        share=a.share,
        buffer_units=a.buffer_units,
        buffer_percent=a.buffer_percent,
        max_quantity=a.max_quantity,
        out_of_stock_below=a.out_of_stock_below,
        source_buffers=dict(config.source_buffers),
        priority=a.priority,
    )
    p = config.pricing
    price = PriceRules(
        markup_percent=p.markup_percent,
        fixed_add=p.fixed_add,
        currency=p.currency,
        rate=p.rate,
        rounding=p.rounding,
        floor=p.floor,
        ceiling=p.ceiling,
    )
    return ChannelRules(name, tuple(config.sources), quantity, price, mapping, config.push_prices)


def load_mapping(loaded: LoadedConfig, name: str, config: ChannelConfig) -> ChannelMapping:
    if not config.mapping:
        return ChannelMapping(name, MappingFile())
    path = loaded.resolve(config.mapping)
    doc = load_yaml(path)
    try:
        return ChannelMapping(name, validate(doc, MappingFile), source=path.name)
    except ValueError as exc:
        raise doc.error((), str(exc)) from None


class Engine:
    def __init__(
        self,
        loaded: LoadedConfig,
        ledger: Ledger,
        *,
        clock: Clock | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.ledger = ledger
        self.clock = clock or SystemClock()
        self.transports = dict(transports or {})
        self.worker_id = worker_id
        self.channels: dict[str, ChannelRuntime] = {}
        self.mappings: dict[str, ChannelMapping] = {}
        policy_cfg = self.config.allocation
        options: dict[str, Any] = (
            {"threshold": policy_cfg.low_stock_threshold} if policy_cfg.policy == "priority" else {}
        )
        self.policy = get_policy(policy_cfg.policy, **options)
        for name, ch in self.config.channels.items():
            if ch.enabled:
                self.mappings[name] = load_mapping(loaded, name, ch)
        self.calculator = TargetCalculator(
            [channel_rules(n, self.config.channels[n], m) for n, m in self.mappings.items()], self.policy
        )
        self._next_drop_edge = self.next_drop_edge()

    # -- drops: the planner turns window edges into pushes ---------------------------------------------
    def next_drop_edge(self) -> datetime | None:
        """The next instant a drop window opens or closes, on any channel (None: no drops)."""
        now = self.clock.now()
        edges = [
            edge
            for mapping in self.mappings.values()
            for rule in mapping.mapping.drops
            if (edge := next_edge(rule.schedule(mapping.channel), now)) is not None
        ]
        return min(edges, default=None)

    def mark_due_drops(self) -> int:
        """At a window edge, mark every drop SKU dirty on every channel. Returns the SKUs marked."""
        edge = self._next_drop_edge
        if edge is None or self.clock.now() < edge:
            return 0
        rules = [rule for mapping in self.mappings.values() for rule in mapping.mapping.drops]
        with self.ledger.read() as conn:
            pids = [p.id for p in self.ledger.products(conn) if any(r.matches(p.sku, p.tags) for r in rules)]
        with self.ledger.tx() as tx:
            tx.mark_products_dirty(pids)
        self._next_drop_edge = self.next_drop_edge()
        log.info("drop.edge", edge=edge.isoformat(), skus=len(pids))
        return len(pids)

    # -- set-up ---------------------------------------------------------------------------------------
    def migrate_and_seed(self) -> None:
        """Schema to head; locations and channels from the config exist in the ledger."""
        upgrade(self.ledger.engine)
        with self.ledger.tx() as tx:
            for loc in self.config.locations:
                tx.ensure_location(loc.code, loc.name, loc.kind)
            for name in self.mappings:
                tx.ensure_channel(name, self.config.channels[name].connector)

    async def start(self, *, prepare: bool = True) -> None:
        self.migrate_and_seed()
        for name in self.mappings:
            ch = self.config.channels[name]
            cls = load_connector(ch.connector)
            settings = self.loaded.channel_settings(name, cls.Settings)
            stats = CallStats()
            connector = instantiate(
                cls,
                settings,
                channel=name,
                clock=self.clock,
                transport=self.transports.get(name),
                locations=self.config.location_kinds(),
                stats=stats,
            )
            with self.ledger.read() as conn:
                channel_id = self.ledger.channel_id(conn, name)
            mapping = self.mappings[name]
            intake = ChannelIntake(name, channel_id, tuple(ch.sources), mapping.master_sku, cls.decrements)
            rt = ChannelRuntime(
                name, ch, connector, self.calculator.channels[name], channel_id, stats, intake
            )
            self.channels[name] = rt
            if prepare:
                try:
                    await connector.prepare()
                except OmnisyncError as exc:
                    rt.health.failed(exc, self.clock.now())
                    log.error("channel.prepare_failed", channel=name, error=str(exc))
        self.ensure_listings()

    def ensure_listings(self) -> None:
        with self.ledger.read() as conn:
            products = self.ledger.products(conn)
        with self.ledger.tx() as tx:
            for name, rt in self.channels.items():
                mapping = self.mappings[name]
                tx.ensure_listings(rt.channel_id, [(p.id, mapping.channel_sku(p.sku)) for p in products])

    async def aclose(self) -> None:
        for rt in self.channels.values():
            await rt.connector.aclose()

    # -- pure planning over ledger reads ----------------------------------------------------------------
    def iter_plan_channels(
        self,
        channels: Sequence[str],
        *,
        all_pairs: bool = False,
        product_ids: Sequence[int] | None = None,
    ) -> Iterator[ChunkPlan]:
        """Plan several channels in one pass: one ledger read per chunk of products serves them all.

        Yields, chunk by chunk, each channel's (changes, unchanged (product id, version)). Without
        ``all_pairs`` or ``product_ids`` only dirty pairs are planned.
        """
        names = list(dict.fromkeys(channels))
        channel_ids = [self.channels[name].channel_id for name in names]
        rules = self.calculator.channels
        # the stock the arithmetic reads: the planned channels' sources, or every channel's when the
        # policy compares channels
        drawing = names if self.calculator.independent else list(rules)
        codes: list[str] = []
        location_ids: list[int] = []
        with self.ledger.read() as conn:
            known = {row.code: lid for lid, row in self.ledger.locations(conn).items()}
            for code in dict.fromkeys(c for name in drawing for c in rules[name].sources):
                if code in known:  # a source the ledger does not know has no stock record: 0
                    codes.append(code)
                    location_ids.append(known[code])
            planner = RowPlanner(self.calculator, names, codes, PlanDecoder(conn.dialect), self.clock.now())
        dirty_only = not all_pairs and product_ids is None
        wanted = sorted(set(product_ids)) if product_ids is not None else []
        after: int | None = None
        by_ids = product_ids is not None
        if dirty_only:
            with self.ledger.read() as conn:
                dirty = sum(self.ledger.dirty_count(conn, cid) for cid in channel_ids)
                # a few dirty pairs are found through the dirty index; when most of the catalogue is
                # dirty (a price list imported), one pass over every product costs less
                if dirty <= DIRTY_SCAN_THRESHOLD:
                    by_ids, wanted = True, self.ledger.dirty_product_ids(conn, channel_ids)

        def read() -> tuple[list[Any], bool]:
            """The next chunk of rows, and whether more may follow."""
            nonlocal wanted, after
            with self.ledger.read() as conn:
                if by_ids:
                    chunk, wanted = wanted[:PLAN_CHUNK], wanted[PLAN_CHUNK:]
                    rows = self.ledger.plan_rows(conn, channel_ids, location_ids, product_ids=chunk)
                    return rows, bool(wanted)
                rows = self.ledger.plan_rows(
                    conn, channel_ids, location_ids, after_product_id=after, limit=PLAN_CHUNK
                )
                after = int(rows[-1][0]) if rows else after
                return rows, len(rows) == PLAN_CHUNK

        rows, more = read()
        if not more:
            if rows:
                yield planner.plan(rows, dirty_only=dirty_only)
            return
        # A large plan: one thread reads the next chunk while this one is planned and consumed (the
        # database driver works without the GIL). Each chunk is read in a transaction of its own, as
        # it always was; a chunk read ahead is as fresh as the ledger when it was read.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnisync-plan-read") as reader:
            while True:
                ahead = reader.submit(read) if more else None
                yield planner.plan(rows, dirty_only=dirty_only)
                if ahead is None:
                    return
                rows, more = ahead.result()

    def iter_plan(
        self, channel: str, *, all_pairs: bool = False, product_ids: Sequence[int] | None = None
    ) -> Iterator[tuple[list[PlannedItem], list[tuple[int, int]]]]:
        """Yield (changes, unchanged (product id, version)) chunk by chunk, reading the ledger lazily."""
        for chunk in self.iter_plan_channels([channel], all_pairs=all_pairs, product_ids=product_ids):
            yield chunk[channel]

    def plan(self, channel: str, *, all_pairs: bool = False) -> list[PlannedItem]:
        return [item for changes, _ in self.iter_plan(channel, all_pairs=all_pairs) for item in changes]

    def explain(self, sku: str) -> dict[str, tuple[Target, ListingRow | None]]:
        with self.ledger.read() as conn:
            pid = self.ledger.product_id(conn, sku)
            rows: dict[str, ListingRow | None] = {}
            for name, rt in self.channels.items():
                found = self.ledger.listings(conn, rt.channel_id, product_ids=[pid])
                rows[name] = found[0] if found else None
            product = self.ledger.products(conn, [sku])[0]
            codes = {lid: row.code for lid, row in self.ledger.locations(conn).items()}
            stock = self.ledger.stock_for(conn, [pid]).get(pid, {})
        state = SkuState(
            sku,
            product.tags,
            product.price,
            product.currency,
            product.active,
            {codes[lid]: LocationStock(codes[lid], oh, rs) for lid, (oh, rs) in stock.items()},
        )
        targets = self.calculator.targets(state, self.clock.now())
        return {name: (targets[name], rows.get(name)) for name in self.channels if name in targets}

    # -- I/O ------------------------------------------------------------------------------------------------
    async def pull(self, channel: str) -> IntakeReport:
        async with self.channels[channel].pull_lock:
            return await self._pull(channel)

    async def _pull(self, channel: str) -> IntakeReport:
        rt = self.channels[channel]
        if not rt.connector.supports(Capability.PULL_ORDERS):
            return IntakeReport()
        try:
            report = await self._pull_pages(rt)
        except BaseException:
            rt.health.orders_behind = True
            raise
        rt.health.orders_behind = bool(report.failed)
        return report

    async def _pull_pages(self, rt: ChannelRuntime) -> IntakeReport:
        channel = rt.name
        report = IntakeReport()
        now = self.clock.now()
        with self.ledger.read() as conn:
            since = self.ledger.cursor(conn, rt.channel_id)
        since = since or now - timedelta(seconds=rt.config.initial_lookback)
        cursor = OrderCursor(since - timedelta(seconds=rt.config.order_overlap))
        newest = since
        for _ in range(100_000):
            page = await rt.connector.pull_orders(cursor)
            for order in page.orders:
                newest = max(newest, order.updated_at)
            last = page.next_page_token is None
            report.failed.extend(page.failed)
            # The cursor moves with the last page only when no order of the window failed (to read
            # or to apply): a failed order is read again next time, never skipped.
            report.merge(
                import_orders(
                    self.ledger,
                    rt.intake,
                    page.orders,
                    at=self.clock.now(),
                    cursor_to=newest if last and not report.failed else None,
                )
            )
            if last:
                break
            if page.next_page_token == cursor.page_token:
                raise OmnisyncError("the channel returned the same page token twice", channel=channel)
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
        self.mark_due_drops()
        for changes, unchanged in self.iter_plan(channel, all_pairs=all_pairs, product_ids=product_ids):
            changes = self._sendable(rt, changes, unchanged, report)
            if changes:
                report.merge(await push_items(rt, self.ledger, changes, self.clock))
        return await self._pushed(rt, report)

    async def push_pipelined(self, channel: str) -> PushReport:
        """Push the channel's dirty pairs beside its pushes in flight (``ChannelRuntime.push_slots``).

        The plan is made under the channel's ``lock``, the sending outside it: a decrease does not
        wait for an earlier batch to settle on the platform. A pair in flight stays dirty and is
        counted ``deferred``; the push carrying it then reports ``again``, so its new value follows
        at once. Reconciles still wait until nothing is in flight (:meth:`_run`).
        """
        rt = self.channels[channel]
        report = PushReport()
        changes: list[PlannedItem] = []
        async with rt.push_gate:
            # a free slot and the push budget first: the plan then takes every pair dirty by now
            await rt.connector.context.budgets.ready("push_inventory")
            async with rt.lock:
                if not rt.in_flight:  # an outbox entry now is a push that never settled: a restart's
                    await replay_outbox(rt, self.ledger, self.clock)
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

    def _sendable(
        self,
        rt: ChannelRuntime,
        changes: list[PlannedItem],
        unchanged: Sequence[tuple[int, int]],
        report: PushReport,
    ) -> list[PlannedItem]:
        """Settle the unchanged pairs; of the changes, those to send now (not in flight, not held).

        Pairs in flight (a pipelined channel's other pushes) wait for their push to settle; the ones
        that changed since it was planned are ``deferred``, to follow it at once.
        """
        busy = rt.in_flight
        if busy:
            moved = {pid for pid, version in unchanged if pid in busy and version > busy[pid]}
            moved |= {
                i.product_id for i in changes if i.product_id in busy and i.version > busy[i.product_id]
            }
            rt.deferred |= moved
            report.deferred += len(moved)
            changes = [i for i in changes if i.product_id not in busy]
            unchanged = [u for u in unchanged if u[0] not in busy]
        if unchanged:
            with self.ledger.tx() as tx:
                for pid, version in unchanged:
                    tx.settle_unchanged(rt.channel_id, pid, version)
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
        """Compare-and-set lost: read live values, pull the channel's orders, re-plan, retry.

        The live read comes first: a sale made after it changes the channel again (the retried
        compare-and-set answers stale), and a sale made before it is in the read *and*, after the
        pull, in the ledger. Read after the pull, a sale in between would sit in the compare value
        but not in the target, and the retried push would overwrite it (a lost update).

        A sale already in the read does not move the acknowledged value again when it is imported
        (``listing.observed_at``); one placed within a few seconds of the read is taken to be in it,
        which at worst costs the second round. Erring this way never shows too much.
        """
        log.info("push.stale", channel=rt.name, items=len(stale))
        report = PushReport()
        for _ in range(STALE_ROUNDS):
            await self._observe_then_pull(rt, stale)
            retry = PushReport()
            for changes, _unchanged in self.iter_plan(rt.name, product_ids=[i.product_id for i in stale]):
                retry.merge(await push_items(rt, self.ledger, changes, self.clock))
            stale, retry.stale = retry.stale, []
            report.merge(retry)
            if not stale:
                break
        for item in stale:  # still racing: leave dirty for the next cycle
            log.info("push.stale_again", channel=rt.name, sku=item.sku)
        return report

    async def _observe_then_pull(
        self, rt: ChannelRuntime, items: Sequence[PlannedItem | ListingRow]
    ) -> tuple[int, IntakeReport]:
        """Read live quantities, then pull (after any pull in flight). An order the read already
        holds is imported without moving the acknowledged value again: the read time is kept in
        ``listing.observed_at`` (ChannelIntake.shifts), whichever import path brings the order."""
        async with rt.pull_lock:
            drift = await self._observe(rt, items)
            return drift, await self._pull(rt.name)

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

    async def reconcile(self, channel: str) -> CycleReport:
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

        return await self._run(channel, "reconcile", work)

    async def cycle(self, channel: str, *, pull: bool = True, push: bool = True) -> CycleReport:
        pipelined = self.channels[channel].push_slots > 1

        async def work(rt: ChannelRuntime, report: CycleReport) -> None:
            if pull:
                report.orders = await self.pull(channel)
            if push:
                report.push = await (self.push_pipelined(channel) if pipelined else self.push(channel))

        # A pull never waits for a push of the same channel, nor a push for a pull (a cost-paced order
        # pull would hold back the decrease another channel's sale calls for): pulls queue on the
        # channel's pull lock, pushes and reconciles on its lock. They meet in the ledger only, where
        # an import's shift and a push's acknowledgement compose (LedgerTx.acknowledge ``since``).
        return await self._run(channel, "cycle", work, exclusive=push and not pipelined)

    async def _run(self, channel: str, kind: str, work: Any, *, exclusive: bool = True) -> CycleReport:
        rt = self.channels[channel]
        report = CycleReport(channel)
        now = self.clock.now()
        if rt.health.breaker_open(now):
            report.ok, report.skipped = False, f"paused until {rt.health.open_until:%H:%M:%S} after errors"
            return report
        async with rt.lock if exclusive else contextlib.nullcontext():
            if exclusive:
                await rt.wait_idle()  # a pipelined channel's pushes in flight settle first
            started = time.perf_counter()
            calls0, thr0 = rt.stats.total_calls, rt.stats.total_throttled
            with self.ledger.tx() as tx:
                run_id = tx.start_run(channel, kind, now, self.worker_id)
            try:
                await work(rt, report)
                rt.health.succeeded()
            except (OmnisyncError, httpx.HTTPError, ValueError) as exc:
                report.ok, report.error = False, str(exc)
                rt.health.failed(exc, self.clock.now())
            except Exception as exc:  # a connector bug must not take the other channels down (rule 6)
                report.ok, report.error = False, f"unexpected {type(exc).__name__}: {exc}"
                rt.health.failed(exc, self.clock.now())
                log.exception("cycle.crashed", channel=channel)
            report.api_calls = rt.stats.total_calls - calls0
            report.throttled = rt.stats.total_throttled - thr0
            report.duration_s = round(time.perf_counter() - started, 4)
            with self.ledger.tx() as tx:
                tx.finish_run(
                    run_id,
                    finished_at=self.clock.now(),
                    ok=report.ok,
                    orders_imported=report.orders.imported,
                    lines_quarantined=report.orders.quarantined,
                    items_planned=report.push.planned,
                    items_pushed=report.push.pushed,
                    accepted=report.push.accepted,
                    rejected=report.push.rejected,
                    retried=report.push.retry,
                    drift=report.drift,
                    api_calls=report.api_calls,
                    throttled=report.throttled,
                    error=report.error,
                )
        log_fn = log.info if report.ok else log.error
        log_fn(
            f"{kind}.done",
            channel=channel,
            orders_imported=report.orders.imported,
            quarantined=report.orders.quarantined,
            items_pushed=report.push.pushed,
            accepted=report.push.accepted,
            rejected=report.push.rejected,
            drift=report.drift,
            api_calls=report.api_calls,
            throttled=report.throttled,
            duration_s=report.duration_s,
            error=report.error,
        )
        return report

    async def sync_once(self, channels: Sequence[str] | None = None) -> dict[str, CycleReport]:
        """Pull every channel first (so each plan sees every sale), then push; channels isolated."""
        names = list(channels or self.channels)
        pulled = await asyncio.gather(*(self.cycle(n, push=False) for n in names))
        pushed = await asyncio.gather(*(self.cycle(n, pull=False) for n in names))
        out: dict[str, CycleReport] = {}
        for first, second in zip(pulled, pushed, strict=True):
            second.orders = first.orders
            second.ok = first.ok and second.ok
            second.error = first.error or second.error
            second.api_calls += first.api_calls
            second.throttled += first.throttled
            out[first.channel] = second
        return out

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
        import is settled by ``listing.observed_at`` (see ChannelIntake.shifts).
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
