"""The daemon's scheduler: what runs when, on the channels' gates.

Per enabled channel: a pull job (``schedule.pull_every``), a push job (``push_every``), a full
reconcile (``reconcile_every`` and/or ``reconcile_cron``) and, for a channel that manages listings,
the listing job (``listings_every``, in its own lane of the channel's gate), each one instance at a
time, coalesced (:mod:`.timetable`: APScheduler in the daemon, the same triggers on the virtual clock in the
simulation, which drives this class as production does). On top of the timetable, work is expedited:

* a pull that lowered available stock (``IntakeReport.decreased``) pushes every *other* channel at
  once instead of waiting for its interval — an order on the web store or a floor sale at the POS
  reaches the marketplace in seconds; one that lowered it through a kit (``knock_on``) pushes its own
  channel too, whose count of a kit's components (or of a component's kits) did not move with the sale;
* a webhook that wants a pull pulls its channel at once (then the rule above).

Polling and reconcile stay on as the safety net: a lost webhook costs latency, never correctness.

With ``alerts:`` configured, one more job evaluates the alert conditions every ``alerts.every``
(:class:`omnisync.alerts.service.AlertService`); it reads the ledger and the channels' states, and
hands the sending to the service's own tasks, so no cycle ever waits on a notifier.

Cycles run as tasks this module tracks, shielded from cancellation, so a shutdown lets the batch in
flight finish (APScheduler 3's asyncio executor cancels running jobs on shutdown). At most one run
of a kind per channel is queued behind the one running: a burst of webhooks costs one extra pull.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from omnisync.config import DaemonConfig
from omnisync.engine.gate import Lane
from omnisync.engine.runs import NOT_ADMITTED
from omnisync.engine.runtime import CycleReport, Engine
from omnisync.logging import redact_text
from omnisync.sdk.models import Capability, WebhookEvent

from .lease import LeaseKeeper
from .timetable import ApsTimetable, Timetable

if TYPE_CHECKING:
    from omnisync.alerts.service import AlertService

log = structlog.get_logger("omnisync.daemon")

KINDS = ("pull", "push", "reconcile")


@dataclass
class ChannelActivity:
    """What the daemon did with one channel, for /status, /readyz and /metrics."""

    cycles: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(kind, ok | failed | skipped) -> count."""
    last_kind: str | None = None
    last_at: datetime | None = None
    last_ok: bool | None = None
    last_error: str | None = None
    last_skipped: str | None = None
    expedited: int = 0
    webhooks: int = 0
    dirty_since: datetime | None = None
    """When this daemon first saw a ledger decrease not yet pushed to this channel (push lag)."""


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        daemon: DaemonConfig,
        *,
        leases: LeaseKeeper | None = None,
        misfire_grace_s: float = 30.0,
        timetable: Timetable | None = None,
        alerts: AlertService | None = None,
    ) -> None:
        self.engine = engine
        self.alerts = alerts
        self.daemon = daemon
        self.leases = leases
        self.misfire_grace_s = misfire_grace_s
        self.activity: dict[str, ChannelActivity] = {name: ChannelActivity() for name in engine.channels}
        self._listed: set[str] = set()
        """Channels whose listing job has planned every listing once since start."""
        self.running = False
        self.runs_in_flight = 0
        self.before_run: Callable[[str, str], None] | None = None
        """Called as a run of (kind, channel) is asked for (the simulation's kills aim at them)."""
        self._given = timetable
        self._timetable: Timetable | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._requested: dict[str, int] = {}

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self, *, kickoff: bool = True) -> None:
        """Add the jobs and start the timetable (inside the running event loop)."""
        if self.running:
            return
        timetable = self._given or ApsTimetable(self.misfire_grace_s)
        for name, rt in self.engine.channels.items():
            sched = self.engine.config.channels[name].schedule
            rate = rt.connector.limits.pull_orders.rate
            if rt.connector.supports(Capability.PULL_ORDERS) and rate > 0 and sched.pull_every * rate < 1:
                # the pulls then run as often as the budget allows, not as often as configured
                log.info(
                    "schedule.pull_faster_than_budget",
                    channel=name,
                    pull_every_s=sched.pull_every,
                    sustained_every_s=round(1 / rate, 1),
                )
            timetable.every(f"pull:{name}", sched.pull_every, self._job, "pull", name)
            timetable.every(f"push:{name}", sched.push_every, self._job, "push", name)
            if sched.reconcile_every:
                timetable.every(f"reconcile:{name}", sched.reconcile_every, self._job, "reconcile", name)
            if sched.reconcile_cron:
                timetable.cron(f"reconcile-cron:{name}", sched.reconcile_cron, self._job, "reconcile", name)
            if sched.listings_every and self.engine.manages_listings(name):
                timetable.every(f"listings:{name}", sched.listings_every, self._job, "listings", name)
        if self.alerts is not None:
            timetable.every("alerts", self.alerts.every_s, self._evaluate_alerts)
            self.alerts.start()
        if self.leases is not None:
            timetable.every("leases", self.leases.renew_every, self._renew_leases)
            self._apply_leases(*self.leases.tick(), kickoff=False)
        timetable.start()
        self._timetable = timetable
        self.running = True
        log.info("scheduler.started", channels=list(self.engine.channels), jobs=len(timetable.jobs()))
        if kickoff:
            self.spawn(self.kickoff(list(self.engine.channels)))

    def jobs(self) -> dict[str, str]:
        """Job id -> trigger description (for tests and ``omnisync run --verbose``)."""
        return {} if self._timetable is None else self._timetable.jobs()

    def runs_skipped(self, channel: str) -> dict[str, int]:
        """Kind of work -> the channel's scheduled runs skipped because the last was still running."""
        skipped = {} if self._timetable is None else self._timetable.skipped()
        return {job.split(":")[0]: n for job, n in skipped.items() if job.endswith(f":{channel}") and n}

    async def shutdown(self) -> None:
        """Stop the timetable, let every cycle in flight finish, then hand the leases back."""
        self._stop_timetable()
        with self.engine.winding():  # a backlog pull stops after its page; the next start resumes it
            await self.drain()
        for rt in self.engine.channels.values():  # a cycle started outside this module, too
            async with rt.gate.lock, rt.gate.enter("pull"):
                await rt.wait_idle()
        if self.alerts is not None:
            await self.alerts.aclose()
        if self.leases is not None:
            self.leases.release()
        log.info("scheduler.stopped")

    def _stop_timetable(self) -> None:
        self.running = False
        if self._timetable is not None:
            self._timetable.shutdown()
            self._timetable = None

    async def kill(self) -> None:
        """Die as a killed process does: nothing more fires, every run is cancelled where it stands,
        no lease is handed back (the simulation's kills)."""
        self._stop_timetable()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until no task of this scheduler runs (tasks may spawn tasks: loop until quiet)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("scheduler.task_failed", error=repr(task.exception()))

    # -- jobs ---------------------------------------------------------------------------------------
    async def _job(self, kind: str, channel: str) -> None:
        run = {"pull": self.pull, "push": self.push, "reconcile": self.reconcile, "listings": self.listings}[
            kind
        ]
        # Shielded: APScheduler cancels running jobs on shutdown; the batch in flight must finish
        # (drain() waits for it). Failures are logged by _task_done, not again by APScheduler.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(self.spawn(run(channel)))

    async def _evaluate_alerts(self) -> None:
        if self.alerts is None or not self.running:
            return
        try:
            await self.alerts.evaluate()
        except Exception:  # the ledger unreachable, a bug: logged, and the next evaluation tries again
            log.exception("alerts.evaluate_failed")

    async def _renew_leases(self) -> None:
        if self.leases is not None and self.running:
            self._apply_leases(*self.leases.tick())

    def _apply_leases(self, gained: list[str], lost: list[str], *, kickoff: bool = True) -> None:
        if gained and kickoff and self.running:
            # Taking a channel over: its cursor and dirty pairs are in the ledger; catch up at once.
            self.spawn(self.kickoff(gained))

    def may_work(self, channel: str) -> bool:
        return (
            self.running
            and channel in self.engine.channels
            and (self.leases is None or self.leases.holds(channel))
        )

    async def _gated(self, kind: Lane, channel: str) -> CycleReport | None:
        """Run a ``kind`` of work unless a run of this kind already waits in the channel's gate (behind the
        runs in its lane: one, or a pipelined channel's pushes in flight). The engine enters the lane
        and asks ``may_work`` once it is free."""
        gate = self.engine.channels[channel].gate
        ticket = gate.queue(kind)
        if ticket is None:
            return None
        if self.before_run is not None:
            self.before_run(kind, channel)
        self.runs_in_flight += 1
        try:
            admit = partial(self.may_work, channel)
            if kind == "reconcile":
                report = await self.engine.reconcile(channel, admit=admit)
            elif kind == "listings":
                # the first run plans every listing (a template may have changed), the next the dirty
                first = channel not in self._listed
                report, _ = await self.engine.push_listings(channel, dirty_only=not first, admit=admit)
                if report.ok and not report.skipped:
                    self._listed.add(channel)
            else:
                report = await self.engine.cycle(
                    channel, pull=kind == "pull", push=kind == "push", admit=admit
                )
        except Exception as exc:  # a connector bug must not go unnoticed: the channel fails
            self.engine.channels[channel].health.failed(exc, self.engine.clock.now())
            log.exception(f"{kind}.crashed", channel=channel)
            report = CycleReport(channel, ok=False, error=f"{type(exc).__name__}: {exc}")
        finally:
            self.runs_in_flight -= 1
            gate.unqueue(kind, ticket)
        if report.skipped == NOT_ADMITTED:
            return None
        self._record(kind, report)
        return report

    def _record(self, kind: str, report: CycleReport) -> None:
        act = self.activity.setdefault(report.channel, ChannelActivity())
        outcome = "skipped" if report.skipped else ("ok" if report.ok else "failed")
        act.cycles[(kind, outcome)] += 1
        act.last_kind, act.last_at = kind, self.engine.clock.now()
        act.last_ok, act.last_error, act.last_skipped = report.ok, report.error, report.skipped

    # -- the work -----------------------------------------------------------------------------------
    async def kickoff(self, channels: list[str]) -> None:
        """Pull every channel first (each plan then sees every sale), then push them."""
        await asyncio.gather(*(self.pull(c, expedite=False) for c in channels))
        await asyncio.gather(*(self.push(c) for c in channels))

    async def pull(self, channel: str, *, expedite: bool = True, force_expedite: bool = False) -> None:
        report = await self._gated("pull", channel)
        if report is None or not report.ok:
            return
        if report.orders.decreased or force_expedite:
            self._decreased(channel, expedite=expedite)
        if report.orders.knock_on and expedite and self.daemon.expedite_decreases and self.may_work(channel):
            # a kit sold here lowered its components, listed here too (or a component, its kits):
            # the channel counted only what it sold, so it is pushed at once as well
            self.spawn(self.push(channel))

    def _decreased(self, source: str, *, expedite: bool) -> None:
        now = self.engine.clock.now()
        for other in self.engine.channels:
            if other == source:
                continue
            act = self.activity.setdefault(other, ChannelActivity())
            act.dirty_since = act.dirty_since or now
            if expedite and self.daemon.expedite_decreases and self.may_work(other):
                act.expedited += 1
                self.spawn(self.push(other))

    async def push(self, channel: str) -> None:
        started = self.engine.clock.now()
        report = await self._gated("push", channel)
        if report is not None and report.ok and not report.push.deferred:
            self._pushed(channel, started)
        if report is not None and report.push.again and self.may_work(channel):
            self.spawn(self.push(channel))  # pairs that changed while this push carried them
        if report is not None and report.push.wants_pull and self.may_work(channel):
            self.spawn(self.pull(channel))  # a stale push read live: the held increases wait for it

    def _pushed(self, channel: str, started: datetime) -> None:
        act = self.activity.setdefault(channel, ChannelActivity())
        if act.dirty_since is not None and act.dirty_since <= started:
            lag = (self.engine.clock.now() - act.dirty_since).total_seconds()
            self.engine.channels[channel].health.push_lag_s = round(max(0.0, lag), 3)
            act.dirty_since = None

    async def listings(self, channel: str) -> None:
        """The listing job: its own lane, so stock and price pushes never wait behind it."""
        await self._gated("listings", channel)

    async def reconcile(self, channel: str) -> None:
        started = self.engine.clock.now()
        report = await self._gated("reconcile", channel)
        if report is None or not report.ok:
            return
        self._pushed(channel, started)
        if report.orders.decreased:
            self._decreased(channel, expedite=True)

    def request_pull(self, channel: str, *, fresh: int = 1) -> bool:
        """A webhook said the channel changed: pull it now (then expedite pushes elsewhere).

        ``fresh`` new events mean the ledger may already hold the webhook's order (imported from its
        payload), so the other channels are pushed even when the pull itself finds nothing new.
        """
        act = self.activity.setdefault(channel, ChannelActivity())
        act.webhooks += 1
        if self.running and fresh:
            # The webhook's order is already in the ledger (imported from its payload): push the
            # other channels now rather than after the pull, which may be slow (Shopify's cost bucket).
            self._decreased(channel, expedite=True)
        if not self.may_work(channel):
            return False
        if channel in self._requested:  # a pull is asked for and has not started: it will cover this
            self._requested[channel] += fresh
            return True
        self._requested[channel] = fresh
        self.spawn(self._requested_pull(channel))
        return True

    async def webhook_accepted(self, channel: str, events: Sequence[WebhookEvent]) -> None:
        """What follows a webhook's answer: import the orders it carries, then pull its channel (and
        push the others) when it asks for it or brought anything new."""
        if not events:
            return
        try:
            await self.engine.apply_webhook(channel, events)
        except Exception as exc:  # the pull the webhook asks for reads the order again
            log.warning("webhook.import_failed", channel=channel, error=redact_text(str(exc)))
        self.request_pull(channel, fresh=len(events))

    async def notifications_received(self, channel: str, events: Sequence[WebhookEvent]) -> set[str]:
        """What follows queued notifications: the orders they name read alone and imported (not a
        pull of the channel), the other channels pushed when stock went down, and this channel pushed
        when a quantity it reported needs a live read. Returns the event ids whose work is committed."""
        act = self.activity.setdefault(channel, ChannelActivity())
        act.webhooks += len(events)
        if not events:
            return set()
        report = await self.engine.apply_notifications(channel, events)
        if report.intake.decreased and self.running:
            self._decreased(channel, expedite=True)
        if report.recheck and self.may_work(channel):
            self.spawn(self.push(channel))
        return report.done

    async def _requested_pull(self, channel: str) -> None:
        self._requested.pop(channel, 0)
        await self.pull(channel)


__all__ = ["KINDS", "ChannelActivity", "Scheduler"]
