"""The run loop: a trading period on the virtual clock with the real engine, connectors and emulators.

Three kinds of task share the clock: the trading loop (shoppers, the merchant's fulfilments,
cancellations, returns and restocks, faults, webhook deliveries, engine kills), the daemon's own
:class:`~omnisync.daemon.scheduler.Scheduler` with its timetable on the virtual clock (pull, push and
reconcile at the configured intervals, expedited as in production), and the engine's own waits
(latency, rate budgets, backoff). A kill cancels every run mid-cycle, drops the Engine and the
Scheduler and starts new ones on the same ledger file, as a supervisor restarts the daemon. After
trading the faults stop, the schedule runs for ``settle`` seconds, every channel is pulled and pushed
once and reconciled once, and the measures are taken (:mod:`.measures`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
import yaml

from omnisync import invariants, returns
from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.daemon.scheduler import KINDS, Scheduler
from omnisync.daemon.sqs import take_in
from omnisync.daemon.timetable import ClockTimetable
from omnisync.engine.runtime import Engine
from omnisync.kits import Component, kit_stock
from omnisync.ledger import kits as kit_rows
from omnisync.ledger import queries
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.sdk.errors import OmnisyncError
from omnisync.testing import catalogue_sync
from omnisync.testing.harness import Webhook

from .arrivals import Arrival, arrivals, catalogue
from .channels import CURRENCY, SimChannel, build_channel
from .faults import FaultEvent, plan_faults
from .scenario import DropSpec, PurchaseOrderSpec, Scenario
from .state import ChannelFigures, RunState, SimOrder
from .transport import SimTransport

EPSILON_S = 1e-6
VISIBILITY_TIMEOUT_S = 120.0
"""A queued notification not taken in is received again after this long (the Amazon default)."""
RETURNS = frozenset({"fake", "shopify", "square"})
"""Kinds whose emulator takes a return with restock (Amazon and Instagram refunds restock nothing)."""
NO_RESTOCK = frozenset({"shopify"})
"""Kinds whose refund can leave the unit off the shelf (Shopify's NO_RESTOCK), read so by the connector:
a damaged return there (the merchant receives it with ``returns receive --damaged``). Returns a channel
disposes of itself (Shopify's reverse fulfilment dispositions, Square's WASTE adjustments) are tested on
the connectors, not simulated."""


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Only errors from the engine while a simulation runs (thousands of cycles); restored after."""
    import logging

    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        yield
    finally:
        structlog.configure(**saved)


class Simulation:
    def __init__(self, scenario: Scenario, seed: int, folder: Path) -> None:
        self.scenario = scenario
        self.seed = seed
        self.folder = folder
        self.clock = VirtualClock()
        self.rng_wire = random.Random(f"{seed}:wire")
        self.rng_hooks = random.Random(f"{seed}:hooks")
        self.rng_kill = random.Random(f"{seed}:kill")
        self.products = catalogue(scenario, random.Random(f"{seed}:catalogue"))
        self.arrivals = arrivals(scenario, self.products, random.Random(f"{seed}:shoppers"))
        self.fault_plan = plan_faults(scenario, random.Random(f"{seed}:faults"))
        self.state = RunState(scenario, seed, self.products)
        self.state.kit_components = scenario.kit_components()
        self.skus = [p.sku for p in self.products]
        self.kits = {p.sku: p.components for p in self.products if p.components}
        self.channels: dict[str, SimChannel] = {}
        self.transports: dict[str, SimTransport] = {}
        for name, spec in scenario.channels.items():
            ch = build_channel(name, spec, self.clock)
            ch.on_webhook = lambda hook, n=name: self._emitted(n, hook)
            self.channels[name] = ch
            self.transports[name] = SimTransport(
                ch, self.clock, self.rng_wire, scenario.latency, self.skus, self._pushed
            )
            self.state.figures[name] = ChannelFigures(kind=spec.kind)
        self.env: dict[str, str] = {}
        self.path = self._write_config()
        self.ledger = Ledger(make_engine(load_config(self.path, env=self.env).ledger_url()))
        self.engine: Engine | None = None
        self.engines: list[Engine] = []
        self.scheduler: Scheduler | None = None
        self.schedulers: list[Scheduler] = []
        self.trading = True
        self.kill_armed = False
        self.events: list[tuple[float, int, str, Any]] = []
        self._seq = itertools.count()
        self.t0 = 0.0
        self.pending: dict[str, list[SimOrder]] = {n: [] for n in self.channels}
        self._channel_ids: dict[str, int] = {}
        self.catalogue_changed = False

    # -- set-up ------------------------------------------------------------------------------------
    def _write_config(self) -> Path:
        sc = self.scenario
        shares = _split_shares(sc)
        channels: dict[str, Any] = {}
        for name, spec in sc.channels.items():
            allocation: dict[str, Any] = {"buffer_units": spec.buffer_units, "priority": spec.priority}
            if spec.preorder_limit is not None:
                allocation["preorder_limit"] = spec.preorder_limit
            if sc.policy == "split":
                allocation["share"] = shares[name]
            channels[name] = {
                "connector": spec.kind,
                "sources": list(spec.sources),
                "source_buffers": dict(spec.source_buffers),
                "allocation": allocation,
                "push_prices": False,
                "share_components": spec.share_components,
                "schedule": {
                    "pull_every": spec.pull_every,
                    "push_every": spec.push_every,
                    "reconcile_every": spec.reconcile_every,
                },
                "order_overlap": 600,
                "initial_lookback": 86400,
                "settings": self.channels[name].config_entry(self.env),
            }
            drops = [d for d in sc.drops if d.channel == name]
            listing = catalogue_sync.TEMPLATES.get(spec.kind, {}) if sc.listing_sync else {}
            if drops or listing:
                channels[name]["mapping"] = self._write_mapping(name, drops, listing)
        config = {
            "ledger": {"url": f"sqlite:///{self.folder / 'ledger.db'}"},
            "currency": CURRENCY,
            "locations": [{"code": c, "name": c, "kind": k} for c, k in sc.locations.items()],
            "allocation": {
                "policy": sc.policy,
                "low_stock_threshold": sc.low_stock_threshold,
                "adaptive": sc.adaptive.model_dump(),
            },
            "channels": channels,
            "logging": {"level": "error"},
        }
        path = self.folder / "omnisync.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def _write_mapping(self, channel: str, drops: list[DropSpec], listing: dict[str, Any]) -> str:
        """The channel's mapping file: its drops, windows timed from the clock's start, and the
        listing template of the listing sync."""
        start = self.clock.now()
        rules = [
            {
                "skus": list(d.skus),
                "exclusive": d.exclusive,
                "windows": [
                    {
                        "start": (start + timedelta(seconds=d.start)).isoformat(),
                        "end": (start + timedelta(seconds=d.end)).isoformat(),
                    }
                ],
            }
            for d in drops
        ]
        path = self.folder / f"{channel}.mapping.yaml"
        mapping = {**({"drops": rules} if rules else {}), **listing}
        path.write_text(yaml.safe_dump(mapping, sort_keys=False))
        return path.name

    def _new_engine(self) -> Engine:
        loaded = load_config(self.path, env=self.env)
        ledger = Ledger(make_engine(loaded.ledger_url()))
        return Engine(loaded, ledger, clock=self.clock, transports=self.transports)

    def _seed(self, engine: Engine) -> None:
        engine.migrate_and_seed()
        now = self.clock.now()
        with self.ledger.tx() as tx:
            for p in self.products:
                tx.upsert_product(p.sku, title=p.sku, price=p.price, currency=CURRENCY)
                for loc, units in p.stock.items():
                    if units:
                        tx.record_movement(
                            p.sku,
                            loc,
                            "receipt",
                            units,
                            f"sim-seed:{p.sku}:{loc}",
                            at=now,
                            actor="simulation",
                        )
                        self.state.receipts[(p.sku, loc)] = units
            kits = self.kits
            if kits:
                named = {sku for parts in kits.values() for sku in parts} | set(kits)
                ids = self.ledger.find_product_ids(tx.conn, named)
                defined = {
                    kit: tuple(Component(sku, units) for sku, units in parts.items())
                    for kit, parts in kits.items()
                }
                tx.touch_products(kit_rows.define_kits(tx.conn, defined, ids))
            for po in self.scenario.purchase_orders:
                when = now + timedelta(seconds=po.expected)
                for sku in po.skus:
                    pid, lid = (
                        self.ledger.product_id(tx.conn, sku),
                        self.ledger.location_id(tx.conn, po.location),
                    )
                    tx.expect(po.reference, pid, lid, po.units, expected_at=when, at=now)
                    self.state.on_order[(po.reference, sku, po.location)] = po.units
            if self.scenario.listing_sync is not None:  # listed by the daemon's listing job
                self._put(tx, catalogue_sync.TOTE, now)
        for ch in self.channels.values():
            for p in self.products:
                ch.seed(p.sku, p.price)

    def _put(self, tx: Any, product: catalogue_sync.SyncProduct, now: Any) -> None:
        kinds = self.scenario.locations
        roles = {
            "WH": next((c for c, k in kinds.items() if k == "warehouse"), ""),
            "STORE": next((c for c, k in kinds.items() if k == "store"), ""),
        }
        got = catalogue_sync.put(tx, product, currency=CURRENCY, at=now, actor="simulation", locations=roles)
        for key, units in got.items():
            self.state.receipts[key] = self.state.receipts.get(key, 0) + units

    def _change_catalogue(self) -> None:
        """The listing sync's change: the scarf added with its stock, the tote discontinued; the
        daemon's listing job sends both, and the scarf's stock is measured from now on."""
        with self.ledger.tx() as tx:
            self._put(tx, catalogue_sync.SCARF, self.clock.now())
            catalogue_sync.discontinue(tx, catalogue_sync.TOTE)
        self._engine().ensure_listings()
        self.skus.extend(catalogue_sync.SCARF.skus)
        self.catalogue_changed = True

    async def _start_engine(self) -> Engine:
        engine = self._new_engine()
        await engine.start()
        self.engine = engine
        self.engines.append(engine)
        return engine

    def _t(self) -> float:
        return self.clock.monotonic() - self.t0

    def _at(self, t: float, kind: str, payload: Any) -> None:
        heapq.heappush(self.events, (t, next(self._seq), kind, payload))

    # -- the run -----------------------------------------------------------------------------------
    async def run(self) -> RunState:
        started = time.perf_counter()
        first = self._new_engine()
        self._seed(first)
        await first.start()
        self.engine = first
        self.engines.append(first)
        await first.sync_once()  # the opening push: every channel shows its stock
        with self.ledger.read() as conn:
            self._channel_ids = {n: self.ledger.channel_id(conn, n) for n in self.channels}
        self.t0 = self.clock.monotonic()
        for a in self.arrivals:
            self._at(a.at, "arrive", a)
        for fe in self.fault_plan.api:
            self._at(fe.at, "fault", fe)
        for channel, start, end in self.fault_plan.outages:
            self._at(start, "down", channel)
            self._at(end, "up", channel)
            self.state.outages.append((channel, start, end))
        for t in self.fault_plan.kills:
            self._at(t, "kill", None)
        if self.scenario.listing_sync is not None:
            self._at(self.scenario.listing_sync.at, "catalogue", None)
        every = self.scenario.lifecycle.restock_every
        for n in range(1, int(self.scenario.duration // every) + 1):
            self._at(n * every, "restock", n)
        for po in self.scenario.purchase_orders:
            if po.arrives is not None:
                self._at(po.arrives, "receive", po)
        self._start_scheduler(kickoff=False)  # the opening push is done
        await self._trade()
        await self._settle()
        self.state.virtual_s = round(self.clock.monotonic(), 1)
        self.state.wall_s = round(time.perf_counter() - started, 2)
        return self.state

    async def _trade(self) -> None:
        end = self.scenario.duration
        while self.events and self.events[0][0] < end:
            t, _, kind, payload = heapq.heappop(self.events)
            delay = t - self._t()
            if delay > EPSILON_S:
                await self.clock.sleep(delay)
            await self._handle(kind, payload)
        delay = end - self._t()
        if delay > 0:
            await self.clock.sleep(delay)

    async def _settle(self) -> None:
        self.trading = False
        self.events.clear()
        for name, ch in self.channels.items():
            ch.clear_faults()
            self.transports[name].down = False
        await self.clock.sleep(self.scenario.settle)
        await self._scheduled().shutdown()
        engine = self._engine()
        for name in self.channels:  # a breaker opened by the faults closes before the last pass
            until = engine.channels[name].health.open_until
            if until is not None and until > self.clock.now():
                await self.clock.sleep((until - self.clock.now()).total_seconds() + 1)
        await engine.sync_once()
        for name in self.channels:
            await engine.reconcile(name)
        await self.clock.sleep(120.0)  # asynchronous channel jobs (feeds, batches) finish
        self._collect_stats()
        from .measures import measure_drift

        self.state.drift = measure_drift(engine, self.channels, self.skus)
        if self.scenario.listing_sync is not None:
            creating = {n: ch.double.listing for n, ch in self.channels.items() if engine.manages_listings(n)}
            self.state.listings = invariants.listing_problems(
                catalogue_sync.expected(self.catalogue_changed), creating
            )
        for e in self.engines:
            await e.aclose()
            e.ledger.engine.dispose()

    def _engine(self) -> Engine:
        assert self.engine is not None
        return self.engine

    def _collect_stats(self) -> None:
        for name, fig in self.state.figures.items():
            fig.api_calls = sum(
                e.channels[name].stats.total_calls for e in self.engines if name in e.channels
            )
            fig.throttled = sum(
                e.channels[name].stats.total_throttled for e in self.engines if name in e.channels
            )
            wire = self.transports[name].stats
            fig.cycles_failed = sum(
                sched.activity[name].cycles[(kind, "failed")] for sched in self.schedulers for kind in KINDS
            )
            fig.requests, fig.refused_down, fig.lost_answers = (
                wire.requests,
                wire.refused_down,
                wire.lost_answers,
            )

    # -- events ------------------------------------------------------------------------------------
    async def _handle(self, kind: str, payload: Any) -> None:
        if kind == "arrive":
            self._arrive(payload)
        elif kind == "fulfil":
            self._fulfil(payload)
        elif kind == "cancel":
            self._cancel(payload)
        elif kind == "return":
            self._return(payload)
        elif kind == "restock":
            self._restock(int(payload))
        elif kind == "receive":
            self._receive(payload)
        elif kind == "fault":
            fe: FaultEvent = payload
            self.channels[fe.channel].inject(fe.fault, fe.times)
            self.state.faults_injected += fe.times
        elif kind == "down":
            self.transports[payload].down = True
        elif kind == "up":
            self.transports[payload].down = False
        elif kind == "kill":
            self.kill_armed = True
        elif kind == "hook":
            await self._deliver(*payload)
        elif kind == "catalogue":
            self._change_catalogue()

    def _arrive(self, a: Arrival) -> None:
        ch, fig = self.channels[a.channel], self.state.figures[a.channel]
        fig.shoppers += 1
        shown = ch.quantity(a.sku) or 0
        if shown < a.units:
            fig.turned_away += 1
            if self._stock_exists(a.channel, a.sku, a.units):
                fig.lost_sales += 1
                fig.lost_sales_units += a.units
            return
        offered, ahead = self._ledger_offer(a.channel, a.sku, preorder=True)
        walk_in = ch.spec.walk_in and not a.pickup
        try:
            oid = ch.buy(a.sku, a.units, walk_in=walk_in)
        except (ValueError, KeyError):
            fig.turned_away += 1
            return
        if offered is not None and offered < a.units:
            fig.accepted_over_ledger += a.units - max(0, offered)
        order = SimOrder(a.channel, oid, a.sku, a.units, self._t(), walk_in=walk_in, pickup=a.pickup)
        self.state.orders[(a.channel, oid)] = order
        self.state.pickups += a.pickup
        self.pending[a.channel].append(order)
        fig.orders += 1
        fig.units_sold += a.units
        if ahead and offered is not None:  # units beyond the stock on hand the ledger offered: preorders
            fig.preorder_units += min(ahead, max(0, a.units - (offered - ahead)))
        now = self._t()
        if order.walk_in:
            order.fulfilled = a.units
            if a.return_after is not None:
                self._at(now + a.return_after, "return", (order, a.return_units, a.return_at, a.damaged))
        elif a.cancel_after is not None and a.cancel_after < a.fulfil_after:
            self._at(now + a.cancel_after, "cancel", order)
        else:
            self._at(now + a.fulfil_after, "fulfil", (order, 0))
            if a.return_after is not None:
                back = (order, a.return_units, a.return_at, a.damaged)
                self._at(now + a.fulfil_after + a.return_after, "return", back)
        self._hook_for(order)

    def _fulfil(self, payload: tuple[SimOrder, int]) -> None:
        order, attempt = payload
        if order.cancelled or order.fulfilled:
            return
        if self.channels[order.channel].fulfil(order.external_id, order.sku):
            order.fulfilled = order.units
            self._hook_for(order)
        elif attempt < 5:  # e.g. Instagram ships only acknowledged orders: try again later
            self._at(self._t() + 900.0, "fulfil", (order, attempt + 1))

    def _cancel(self, order: SimOrder) -> None:
        if order.fulfilled or order.cancelled:
            return
        if self.channels[order.channel].cancel(order.external_id, order.sku):
            order.cancelled = True
            self._hook_for(order)

    def _return(self, payload: tuple[SimOrder, int, str | None, bool]) -> None:
        order, units, where, damaged = payload
        ch = self.channels[order.channel]
        if not order.fulfilled or order.restocked or ch.spec.kind not in RETURNS:
            return
        if damaged and ch.spec.kind in NO_RESTOCK:
            self._damaged_return(order, units, where)
            return
        back, elsewhere = ch.give_back(order.external_id, order.sku, units, location=where)
        if back is None:
            return
        self.state.returned_elsewhere += elsewhere
        if back:  # a separate return order (Square)
            ret = SimOrder(order.channel, back, order.sku, 0, self._t(), restocked=units, is_return=True)
            self.state.orders[(order.channel, back)] = ret
        else:
            order.restocked = units
            self._hook_for(order)

    def _damaged_return(self, order: SimOrder, units: int, where: str | None) -> None:
        """Refunded without a restock (the channel's NO_RESTOCK), then received by the merchant into the
        damaged bucket where it came back (``returns receive --damaged``)."""
        ch = self.channels[order.channel]
        back, _ = ch.give_back(order.external_id, order.sku, units, restock=False)
        if back is None:
            return
        order.refunded = True
        self._hook_for(order)
        loc = where or ch.spec.sources[0]
        # a kit comes back as its components (each kit unit times its quantity per kit)
        parts = self.kits.get(order.sku) or {order.sku: 1}
        with self.ledger.tx() as tx:
            for sku, per_kit in parts.items():
                for move in returns.received(0, units * per_kit, 0):
                    key = f"sim-return:{order.channel}:{order.external_id}:{move.part}"
                    key += "" if sku == order.sku else f":{sku}"
                    tx.record_movement(
                        sku, loc, move.kind, move.quantity, key, at=self.clock.now(), bucket=move.bucket,
                        reference=order.external_id, actor="simulation",
                    )  # fmt: skip
        for sku, per_kit in parts.items():
            self.state.damaged[(sku, loc)] = self.state.damaged.get((sku, loc), 0) + units * per_kit

    def _receive(self, po: PurchaseOrderSpec) -> None:
        """The goods of a purchase order come in: receipts against it (``stock receive --ref``)."""
        now = self.clock.now()
        with self.ledger.tx() as tx:
            for sku in po.skus:
                key = f"sim-po:{po.reference}:{sku}"
                if tx.receive(po.reference, sku, po.location, po.units, key, at=now, actor="simulation"):
                    self.state.receipts[(sku, po.location)] = (
                        self.state.receipts.get((sku, po.location), 0) + po.units
                    )
                    self.state.on_order[(po.reference, sku, po.location)] = 0

    def _restock(self, n: int) -> None:
        life = self.scenario.lifecycle
        rng = random.Random(f"{self.seed}:restock:{n}")
        loc, now = life.restock_location, self.clock.now()
        with self.ledger.read() as conn:
            lid = self.ledger.location_id(conn, loc)
            ids = {p.sku: self.ledger.product_id(conn, p.sku) for p in self.products}
            stock = self.ledger.stock_for(conn, list(ids.values()))
        with self.ledger.tx() as tx:
            for p in self.products:
                units = rng.randint(*life.restock_units)
                if p.components:  # a kit is restocked through its components
                    continue
                on_hand, reserved = stock.get(ids[p.sku], {}).get(lid, (0, 0))
                if on_hand - reserved >= life.restock_below:
                    continue
                tx.record_movement(
                    p.sku, loc, "receipt", units, f"sim-restock:{n}:{p.sku}", at=now, actor="simulation"
                )
                key = (p.sku, loc)
                self.state.receipts[key] = self.state.receipts.get(key, 0) + units

    # -- webhooks ----------------------------------------------------------------------------------
    def _hook_for(self, order: SimOrder) -> None:
        ch = self.channels[order.channel]
        if ch.spec.webhooks and ch.webhooks_enabled:
            hook = ch.webhook_for(order.external_id)
            if hook is not None:
                self._emitted(order.channel, hook)

    def _emitted(self, channel: str, hook: Webhook) -> None:
        """A notification leaves the platform: lost, late, reordered or duplicated on its way."""
        ch, fig, faults = self.channels[channel], self.state.figures[channel], self.scenario.faults
        if not self.trading or not ch.spec.webhooks:
            return
        rng = self.rng_hooks
        fig.webhooks_sent += 1
        if rng.random() < faults.webhook_lost:
            fig.webhooks_lost += 1
            return
        delay = rng.uniform(*self.scenario.webhook_delay)
        if ch.spec.walk_in:
            delay += self.scenario.pos_lag
        if rng.random() < faults.webhook_reordered:
            fig.webhooks_reordered += 1
            delay += rng.uniform(30.0, 300.0)
        self._at(self._t() + delay, "hook", (channel, hook))
        if rng.random() < faults.webhook_duplicated:
            fig.webhooks_duplicated += 1
            self._at(self._t() + delay + rng.uniform(1.0, 120.0), "hook", (channel, hook))

    async def _deliver(self, channel: str, hook: Webhook) -> None:
        fig, engine = self.state.figures[channel], self.engine
        down = self.transports[channel].down
        if (engine is None or down) and "notifications" in self.channels[channel].raw_settings:
            # a queue keeps the message: received once the daemon is back, or (the channel down, its
            # order unreadable) again after its visibility timeout
            if self.trading:
                self._at(self._t() + (VISIBILITY_TIMEOUT_S if down else 5.0), "hook", (channel, hook))
            return
        if engine is None or down:
            fig.webhooks_refused += 1  # the daemon is restarting: the platform's delivery fails
            return
        headers, body, url = hook
        if engine.channels[channel].connector.notification_queue() is not None:
            # a queued notification (Amazon's): what the daemon's queue consumer does with a message; one
            # not taken in (its order unreadable now) is received again after its visibility timeout
            fig.webhooks_delivered += 1
            message_id = f"m{next(self._seq)}"
            finished: list[str] = []
            try:
                received, finished = await take_in(self._scheduled(), channel, {message_id: body.decode()})
            except Exception:  # the consumer logs it and leaves the message on the queue
                received = None
            if message_id not in finished and self.trading and not (received and received.unparsable):
                self._at(self._t() + VISIBILITY_TIMEOUT_S, "hook", (channel, hook))
            return
        try:
            events = engine.accept_webhook(channel, headers, body, url)
        except (OmnisyncError, ValueError):
            fig.webhooks_refused += 1
            return
        fig.webhooks_delivered += 1
        await self._scheduled().webhook_accepted(channel, events)

    # -- the schedule ------------------------------------------------------------------------------
    def _start_scheduler(self, *, kickoff: bool) -> None:
        engine = self._engine()
        scheduler = Scheduler(engine, engine.config.daemon, timetable=ClockTimetable(self.clock))
        scheduler.before_run = self._before_run
        scheduler.start(kickoff=kickoff)
        self.scheduler = scheduler
        self.schedulers.append(scheduler)

    def _scheduled(self) -> Scheduler:
        assert self.scheduler is not None
        return self.scheduler

    def _before_run(self, kind: str, channel: str) -> None:
        if self.kill_armed:  # the kill lands within half a second of a run starting
            self.kill_armed = False
            asyncio.get_running_loop().create_task(self._kill(self.rng_kill.uniform(0.0, 0.5)))

    async def _kill(self, after: float) -> None:
        """The daemon dies mid-cycle: its tasks are cancelled, the Engine dropped, a new one started."""
        await self.clock.sleep(after)
        self.state.kills += 1
        scheduler = self._scheduled()
        if scheduler.runs_in_flight:
            self.state.kills_mid_cycle += 1
        await scheduler.kill()
        old, self.engine = self.engine, None
        assert old is not None
        old.ledger.engine.dispose()
        await self.clock.sleep(5.0)  # the supervisor restarts the process
        await self._start_engine()
        self._start_scheduler(kickoff=True)

    # -- what the channel shows against what the ledger knows -------------------------------------
    def _pending_units(self, channel: str, sku: str | None = None) -> dict[str, int]:
        """Units of the channel's accepted orders the ledger has not imported yet, per SKU."""
        pending = self.pending[channel]
        if pending:
            cid = self._channel_ids[channel]
            with self.ledger.read() as conn:
                known = queries.known_orders(conn, cid, [o.external_id for o in pending])
            pending[:] = [o for o in pending if o.external_id not in known]
        out: dict[str, int] = {}
        for o in pending:
            if not o.cancelled and (sku is None or o.sku == sku):
                out[o.sku] = out.get(o.sku, 0) + o.units
        return out

    def _ledger_offer(self, channel: str, sku: str, *, preorder: bool = False) -> Any:
        """What the ledger offers the channel (None: no engine, no target); with ``preorder``, and how
        many of those units are preorders: (offered, preorder units)."""
        engine = self.engine
        target = None if engine is None else engine.explain(sku).get(channel)
        if target is None:
            return (None, 0) if preorder else None
        allocation = target[0].allocation
        return (allocation.offered, allocation.preorder) if preorder else allocation.offered

    def _stock_exists(self, channel: str, sku: str, units: int) -> bool:
        sources = set(self.scenario.channels[channel].sources)
        components = self.kits.get(sku)
        with self.ledger.read() as conn:
            codes = {lid: row.code for lid, row in self.ledger.locations(conn).items()}
            if components:  # a kit: what its components allow at each source
                ids = self.ledger.find_product_ids(conn, components)
                parts = self.ledger.stock_for(conn, list(ids.values()))
                kits = kit_stock(list(components.items()), {c: parts.get(ids[c], {}) for c in components})
                stock = {lid: (k.kits, 0) for lid, k in kits.items()}
            else:
                pid = self.ledger.product_id(conn, sku)
                stock = self.ledger.stock_for(conn, [pid]).get(pid, {})
        free = sum(max(0, oh - rs) for lid, (oh, rs) in stock.items() if codes[lid] in sources)
        for other, spec in self.scenario.channels.items():
            if sources & set(spec.sources):
                free -= self._pending_units(other, sku).get(sku, 0)
        return free >= units

    def _pushed(self, channel: str, sku: str, before: int, after: int) -> None:
        """A request changed what the channel shows: did it overwrite a sale the ledger has not seen?"""
        pending = self._pending_units(channel, sku).get(sku, 0)
        if not pending or self.engine is None:
            return
        offered = self._ledger_offer(channel, sku)
        if offered is None:
            return
        right = max(0, offered - pending)
        if after > before and after > right:
            fig = self.state.figures[channel]
            fig.lost_updates += 1
            fig.lost_update_units += min(pending, after - right)


def _split_shares(sc: Scenario) -> dict[str, int]:
    """Explicit shares, else each channel's weight share of the busiest location it draws from."""
    shares: dict[str, int] = {}
    for name, spec in sc.channels.items():
        if spec.share is not None:
            shares[name] = spec.share
            continue
        best = 100
        for loc in spec.sources:
            drawing = [c for c in sc.channels.values() if loc in c.sources]
            total = sum(c.weight for c in drawing) or 1.0
            best = min(best, int(100 * spec.weight / total))
        shares[name] = best
    return shares


__all__ = ["Simulation", "quiet_logs"]
