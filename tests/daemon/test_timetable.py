"""The scheduler's jobs fired on an injected clock: on time, one instance at a time, stopped on shutdown."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from omnisync.clock import VirtualClock
from omnisync.daemon.timetable import ApsTimetable, ClockTimetable


async def test_interval_jobs_fire_on_the_virtual_clock_one_instance_at_a_time() -> None:
    clock = VirtualClock()
    table = ClockTimetable(clock)
    fired: list[tuple[str, float]] = []

    async def quick(name: str) -> None:
        fired.append((name, clock.monotonic()))

    async def slow(name: str) -> None:
        fired.append((name, clock.monotonic()))
        await clock.sleep(25)  # still running when due again at 20 and 30: those are skipped

    table.every("quick", 10, quick, "quick")
    table.every("slow", 10, slow, "slow")
    table.start()
    await clock.sleep(45)
    table.shutdown()
    assert [t for name, t in fired if name == "quick"] == [10, 20, 30, 40]
    assert [t for name, t in fired if name == "slow"] == [10, 40]
    assert table.skipped() == {"slow": 2}, "the runs due while it still ran, counted"
    assert table.jobs().keys() == {"quick", "slow"}
    await clock.sleep(30)
    assert len(fired) == 6, "nothing fires after shutdown"


async def test_cron_jobs_fire_at_their_times_on_the_virtual_clock() -> None:
    clock = VirtualClock()  # 2026-01-01 00:00 UTC
    table = ClockTimetable(clock)
    fired: list[float] = []

    async def job() -> None:
        fired.append(clock.monotonic())

    table.cron("nightly", "30 2 * * *", job)
    table.start()
    await clock.sleep(2 * 86400)
    table.shutdown()
    await asyncio.sleep(0)
    assert fired == [2.5 * 3600, 86400 + 2.5 * 3600]


async def test_apscheduler_skips_an_overlapping_run_quietly_and_counts_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """APScheduler warned 'maximum number of running instances reached' at every tick of a job still
    running; the timetable counts the skipped run instead (shown on /status), nothing at warning."""
    table = ApsTimetable()

    async def job() -> None:
        pass

    table.every("push:web", 60, job)
    table.start()
    try:
        aps = table._aps
        aps._executors["default"]._instances["push:web"] = 1  # its last run is still going
        aps.modify_job("push:web", next_run_time=datetime.now(UTC) - timedelta(seconds=1))
        with caplog.at_level(logging.DEBUG):
            aps._process_jobs()  # what APScheduler does when the job is due
            aps.modify_job("push:web", next_run_time=datetime.now(UTC) - timedelta(seconds=1))
            aps._process_jobs()
        assert table.skipped() == {"push:web": 2}
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    finally:
        table.shutdown()
