"""One simulation run, measured: the body of :func:`omnisync.simulate.run_one`."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

from .measures import measure
from .report import result
from .run import Simulation, quiet_logs
from .scenario import Scenario


async def run_async(scenario: Scenario, seed: int, folder: Path | None = None) -> dict[str, Any]:
    """One run, measured. The ledger and config go to ``folder`` (a temporary folder by default)."""
    with quiet_logs():
        if folder is not None:
            return await _run_in(scenario, seed, folder)
        with tempfile.TemporaryDirectory(prefix="omnisync-sim-", dir=_scratch()) as tmp:
            return await _run_in(scenario, seed, Path(tmp))


def _scratch() -> str | None:
    """A memory-backed folder where there is one: the ledger's fsyncs are not what is measured."""
    shm = Path("/dev/shm")  # noqa: S108 - a scratch ledger deleted after the run, made by mkdtemp
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


async def _run_in(scenario: Scenario, seed: int, folder: Path) -> dict[str, Any]:
    sim = Simulation(scenario, seed, folder)
    state = await sim.run()
    try:
        return result(state, measure(sim.ledger, state))
    finally:
        sim.ledger.engine.dispose()


def run_one(scenario: Scenario, seed: int, folder: Path | None = None) -> dict[str, Any]:
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run_async(scenario, seed, folder))


__all__ = ["run_async", "run_one"]
