"""Run records: each cycle or reconcile of a channel recorded in the ledger, timed and counted, its
failure kept to that channel (rule 6)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from omnisync.sdk.errors import OmnisyncError

from .channel import ChannelRuntime
from .gate import Lane
from .intake import IntakeReport
from .pusher import PushReport
from .setup import EngineSetup

log = structlog.get_logger("omnisync.engine")


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


NOT_ADMITTED = "not admitted"
"""``CycleReport.skipped`` of a run its caller no longer wanted once the lane was free."""


class RunRecorder(EngineSetup):
    async def _run(
        self,
        channel: str,
        kind: str,
        work: Any,
        *,
        lane: Lane,
        exclusive: bool = True,
        admit: Callable[[], bool] | None = None,
    ) -> CycleReport:
        """Run ``work`` in the channel's ``lane`` (and, ``exclusive``, under its plan lock once no
        push is in flight), recorded as a run. ``admit`` is asked once the lane is free: False skips
        the run (a scheduler stopping, a lease lost while it waited)."""
        rt = self.channels[channel]
        async with rt.gate.enter(lane):
            return await self._recorded(rt, kind, work, exclusive=exclusive, admit=admit)

    async def _recorded(
        self, rt: ChannelRuntime, kind: str, work: Any, *, exclusive: bool, admit: Callable[[], bool] | None
    ) -> CycleReport:
        channel = rt.name
        report = CycleReport(channel)
        if admit is not None and not admit():
            report.skipped = NOT_ADMITTED
            return report
        now = self.clock.now()
        if rt.health.breaker_open(now):
            report.ok, report.skipped = False, f"paused until {rt.health.open_until:%H:%M:%S} after errors"
            return report
        async with rt.gate.lock if exclusive else contextlib.nullcontext():
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
                    {
                        "finished_at": self.clock.now(),
                        "ok": report.ok,
                        "orders_imported": report.orders.imported,
                        "lines_quarantined": report.orders.quarantined,
                        "items_planned": report.push.planned,
                        "items_pushed": report.push.pushed,
                        "accepted": report.push.accepted,
                        "rejected": report.push.rejected,
                        "retried": report.push.retry,
                        "drift": report.drift,
                        "api_calls": report.api_calls,
                        "throttled": report.throttled,
                        "error": report.error,
                    },
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
