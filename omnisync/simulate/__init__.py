"""The oversell simulation and chaos harness (issue 8).

A deterministic trading period — seeded ``random.Random`` streams, the virtual clock, the emulators
in-process — run against the real engine and connectors, with faults injected, and measured::

    from omnisync.simulate import run_one, small_scenario
    result = run_one(small_scenario(), seed=7)      # plain data, see report.result
    assert result["ok"], result["first_violation"]

Modules: :mod:`.scenario` (the model, YAML), :mod:`.arrivals` (catalogue and shoppers),
:mod:`.faults` (the fault plan), :mod:`.channels` (one adapter per emulator), :mod:`.transport`
(latency, outages, observing pushes), :mod:`.run` (the run loop), :mod:`.measures` (measures and
invariants), :mod:`.policies` (comparison), :mod:`.report` (JSON and tables), :mod:`.cli`.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

from .measures import measure
from .report import result
from .run import Simulation, quiet_logs
from .scenario import Scenario, load_scenario, small_scenario


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


__all__ = ["Scenario", "load_scenario", "run_async", "run_one", "small_scenario"]
