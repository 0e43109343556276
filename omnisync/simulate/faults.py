"""The fault plan: which API faults hit which channel when, outages, engine kills. Drawn from the seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

from omnisync.testing.harness import Fault

from .scenario import Scenario


@dataclass(frozen=True)
class FaultEvent:
    at: float
    channel: str
    fault: Fault
    times: int


@dataclass(frozen=True)
class FaultPlan:
    api: list[FaultEvent]
    outages: list[tuple[str, float, float]]
    """(channel, start, end)."""
    kills: list[float]


def _poisson_times(rng: random.Random, per_hour: float, until: float) -> list[float]:
    out: list[float] = []
    if per_hour <= 0:
        return out
    t = rng.expovariate(per_hour / 3600.0)
    while t < until:
        out.append(t)
        t += rng.expovariate(per_hour / 3600.0)
    return out


def plan_faults(scenario: Scenario, rng: random.Random) -> FaultPlan:
    spec, until = scenario.faults, scenario.duration
    api: list[FaultEvent] = []
    for name in sorted(scenario.channels):
        for t in _poisson_times(rng, spec.server_errors_per_hour, until):
            api.append(FaultEvent(t, name, Fault.SERVER_ERROR, rng.randint(1, 3)))
        for t in _poisson_times(rng, spec.timeouts_per_hour, until):
            api.append(FaultEvent(t, name, Fault.TIMEOUT, 1))
        for t in _poisson_times(rng, spec.throttle_bursts_per_hour, until):
            api.append(FaultEvent(t, name, Fault.THROTTLE, rng.randint(*spec.throttle_burst)))
    outages: list[tuple[str, float, float]] = []
    if spec.outage is not None:
        channel, start, length = spec.outage
        outages.append((channel, start, start + length))
    if spec.outage_random:
        channel = rng.choice(sorted(scenario.channels))
        start = rng.uniform(0.1 * until, max(0.1 * until, 0.9 * until - spec.outage_length))
        outages.append((channel, start, start + spec.outage_length))
    kills = sorted(rng.uniform(0.1 * until, 0.9 * until) for _ in range(spec.kills))
    api.sort(key=lambda e: (e.at, e.channel))
    return FaultPlan(api, outages, kills)
