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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .scenario import Scenario, load_scenario, small_scenario
    from .single import run_async, run_one

_HOME = {
    "Scenario": "scenario",
    "load_scenario": "scenario",
    "small_scenario": "scenario",
    "run_async": "single",
    "run_one": "single",
}
"""Loaded on first use, so that ``omnisync --help`` (which lists ``simulate``) stays light."""


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)


__all__ = ["Scenario", "load_scenario", "run_async", "run_one", "small_scenario"]
