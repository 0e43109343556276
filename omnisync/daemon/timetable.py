"""When the scheduler's jobs fire: APScheduler (3.x) in the daemon, the same triggers on an injected
clock in the simulation.

Both take the scheduler's jobs as (id, trigger, coroutine function, arguments) and run each with one
instance at a time, coalesced: a job still running when it is due again is skipped. That is normal
(a push waiting for a slow channel outlasts its interval), so it is counted per job (:meth:`skipped`,
shown on the status page and in /status) and logged once per job at debug, never as a warning every
tick. Every APScheduler call of omnisync lives in this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from omnisync.clock import Clock

Job = Callable[..., Awaitable[None]]

log = structlog.get_logger("omnisync.daemon")
APS_LOGGER = "omnisync.apscheduler"
"""The logger APScheduler is given: its own, less the warning of a skipped overlapping run."""


class _NoOverlapWarning(logging.Filter):
    """Drops APScheduler's 'skipped: maximum number of running instances reached' warning: the
    timetable counts those runs instead (:meth:`ApsTimetable.skipped`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in str(record.msg)


def _counted(skipped: Counter[str], job_id: str) -> None:
    """One more run of ``job_id`` skipped because the last one was still running; said once at debug."""
    skipped[job_id] += 1
    if skipped[job_id] == 1:
        log.debug("timetable.run_skipped", job=job_id, why="still running when due again; counted on /status")


class Timetable(Protocol):
    def every(self, job_id: str, seconds: float, job: Job, *args: Any) -> None:
        """Run ``job(*args)`` every ``seconds``, the first time one interval after start."""

    def cron(self, job_id: str, expression: str, job: Job, *args: Any) -> None:
        """Run ``job(*args)`` at the times of a five-field crontab ``expression``."""

    def start(self) -> None: ...

    def shutdown(self) -> None:
        """Stop firing (jobs running go on; the scheduler waits for them)."""

    def jobs(self) -> dict[str, str]:
        """Job id -> trigger description."""

    def skipped(self) -> dict[str, int]:
        """Job id -> runs skipped because the job was still running when due (coalesced)."""


class ApsTimetable:
    """APScheduler's asyncio scheduler, on the running event loop and the system clock."""

    def __init__(self, misfire_grace_s: float = 30.0) -> None:
        logger = logging.getLogger(APS_LOGGER)
        if not any(isinstance(f, _NoOverlapWarning) for f in logger.filters):
            logger.addFilter(_NoOverlapWarning())
        self._skipped: Counter[str] = Counter()
        self._aps = AsyncIOScheduler(
            event_loop=asyncio.get_running_loop(),
            logger=logger,
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": max(1, int(misfire_grace_s)),
            },
        )
        self._aps.add_listener(self._overlapped, EVENT_JOB_MAX_INSTANCES)

    def _overlapped(self, event: JobSubmissionEvent) -> None:
        _counted(self._skipped, event.job_id)

    def every(self, job_id: str, seconds: float, job: Job, *args: Any) -> None:
        self._aps.add_job(job, IntervalTrigger(seconds=seconds), args, id=job_id)

    def cron(self, job_id: str, expression: str, job: Job, *args: Any) -> None:
        self._aps.add_job(job, CronTrigger.from_crontab(expression), args, id=job_id)

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        self._aps.shutdown(wait=False)

    def jobs(self) -> dict[str, str]:
        return {job.id: str(job.trigger) for job in self._aps.get_jobs()}

    def skipped(self) -> dict[str, int]:
        return dict(self._skipped)


class ClockTimetable:
    """APScheduler's triggers fired on an injected :class:`~omnisync.clock.Clock` (the simulation's
    virtual clock): one task per job sleeps until the trigger's next fire time."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._jobs: dict[str, tuple[BaseTrigger, Job, tuple[Any, ...]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._skipped: Counter[str] = Counter()

    def every(self, job_id: str, seconds: float, job: Job, *args: Any) -> None:
        start = self.clock.now() + timedelta(seconds=seconds)
        self._jobs[job_id] = (IntervalTrigger(seconds=seconds, start_date=start, timezone=UTC), job, args)

    def cron(self, job_id: str, expression: str, job: Job, *args: Any) -> None:
        self._jobs[job_id] = (CronTrigger.from_crontab(expression, timezone=UTC), job, args)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._fire(job_id)) for job_id in self._jobs]

    def shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    def jobs(self) -> dict[str, str]:
        return {job_id: str(trigger) for job_id, (trigger, _, _) in self._jobs.items()}

    def skipped(self) -> dict[str, int]:
        return dict(self._skipped)

    async def _fire(self, job_id: str) -> None:
        trigger, job, args = self._jobs[job_id]
        previous: datetime | None = None
        while True:
            now = self.clock.now()
            due = trigger.get_next_fire_time(previous, now)
            if due is None:
                return
            wait = (due - now).total_seconds()
            if wait > 0:
                await self.clock.sleep(wait)
            previous = due
            running = self._running.get(job_id)
            if running is not None and not running.done():
                _counted(self._skipped, job_id)  # one instance at a time, coalesced
                continue
            task = asyncio.get_running_loop().create_task(_quiet(job(*args)))
            self._running[job_id] = task


async def _quiet(work: Awaitable[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await work
