"""Run records: each cycle or reconcile of a channel recorded in the ledger, timed and counted, its
failure kept to that channel (rule 6)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from omnisync.sdk.errors import OmnisyncError

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


class RunRecorder(EngineSetup):
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
