"""How fast a SKU sells and how late each channel hears of it: the adaptive policy's inputs. Pure.

The ledger holds the records (:mod:`omnisync.ledger.pace` reads them); these functions turn them into
the numbers :class:`~omnisync.allocation.AdaptivePolicy` multiplies:

* **Sales velocity** per (channel, SKU, location), in units per hour: the units of the order lines a
  channel's orders took there (ordered minus cancelled), counted by when the ledger imported them, over
  several trailing windows (by default the last 15 minutes, hour and day); the velocity is the highest
  of the windows' rates. The short window sees a SKU turn hot within minutes (a flash sale), the long
  one keeps a steady seller's rate through a quiet spell; taking the highest errs towards holding units
  back while the evidence is fresh.
* **Sync latency** per channel, in seconds: for every sale the ledger imported from the *other*
  channels during the latency window (the hour before its latest import), the time until this
  channel's next acknowledged push that started after the sale was in the ledger (a push run, a
  pull-and-push cycle or a reconcile, recorded in ``sync_run``). A sale no push has followed yet
  counts the time until the channel's latest failed push, if one came after it (so an outage shows
  as a long latency), else it is not measured yet. The latency is the mean of those times: how long,
  on average, the channel still shows units another channel has sold.
* **Unseen time** per channel, in seconds: how long its own sales may wait before the ledger sees
  them: half its pull interval (the mean age of its last read), and, while its pulls fail, the time
  from its last successful pull to its latest failed one. During an outage of its API this grows with
  every failed pull, and so does the stock the other channels hold back against its sales.

Every input is anchored at instants the ledger recorded (imports, runs), never at the clock: the
numbers move only when the ledger records something, so what a plan pushed and what ``explain`` says
later agree until the next import or run, as with every other rule.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Pace", "Paces", "SalesWindows", "Schedule", "measure_paces", "sync_latency", "velocity"]


@dataclass(frozen=True)
class Pace:
    """One SKU's pace: what the adaptive policy reads, gathered at the edge.

    ``sold_per_hour`` maps (channel, location) to the units per hour that channel's orders recently
    took at that location; ``latency_s`` maps each channel to its sync latency and ``unseen_s`` to
    the time since its orders were last read, in seconds.
    """

    sold_per_hour: Mapping[tuple[str, str], float] = field(default_factory=dict)
    latency_s: Mapping[str, float] = field(default_factory=dict)
    unseen_s: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SalesWindows:
    """The trailing windows a velocity is measured over, in seconds, shortest first."""

    seconds: tuple[float, ...] = (900.0, 3600.0, 86400.0)

    def __post_init__(self) -> None:
        if not self.seconds or any(s <= 0 for s in self.seconds):
            raise ValueError(f"velocity windows must be positive durations, got {self.seconds}")
        object.__setattr__(self, "seconds", tuple(sorted(self.seconds)))

    @property
    def longest(self) -> float:
        return self.seconds[-1]


def velocity(units: Sequence[int], windows: SalesWindows) -> float:
    """Units per hour from the units sold in each window (``units[i]`` within ``windows.seconds[i]``):
    the highest of the windows' rates."""
    if len(units) != len(windows.seconds):
        raise ValueError(f"{len(units)} counts for {len(windows.seconds)} windows")
    return max((max(0, n) * 3600.0 / s for n, s in zip(units, windows.seconds, strict=True)), default=0.0)


def sync_latency(
    sales: Sequence[datetime],
    pushes: Sequence[tuple[datetime, datetime]],
    failed_push: datetime | None = None,
) -> float | None:
    """The mean time in seconds from each sale entering the ledger (``sales``: import times of the
    other channels' orders) to this channel's next acknowledged push started at or after it
    (``pushes``: (started, finished)). A sale no push has followed counts the time to ``failed_push``
    (its latest failed push) when that came after it, else is left out. None: nothing measured."""
    ordered = sorted(pushes)
    starts = [started for started, _ in ordered]
    # the earliest finish among the pushes started at or after each start (pipelined pushes overlap)
    first_done: list[datetime] = [finished for _, finished in ordered]
    for i in range(len(first_done) - 2, -1, -1):
        first_done[i] = min(first_done[i], first_done[i + 1])
    waits: list[float] = []
    for sale in sales:
        at = bisect.bisect_left(starts, sale)
        if at < len(starts):
            waits.append(max(0.0, (first_done[at] - sale).total_seconds()))
        elif failed_push is not None and failed_push > sale:
            waits.append((failed_push - sale).total_seconds())
    return sum(waits) / len(waits) if waits else None


@dataclass(frozen=True)
class Paces:
    """Every product's :class:`Pace`: the channels' latencies and unseen times, and the velocities of
    the products that sold lately (any other product's pace has no sales)."""

    latency_s: Mapping[str, float]
    unseen_s: Mapping[str, float]
    sold_per_hour: Mapping[int, Mapping[tuple[str, str], float]]

    def of(self, product_id: int) -> Pace:
        return Pace(self.sold_per_hour.get(product_id, {}), self.latency_s, self.unseen_s)


@dataclass(frozen=True)
class Schedule:
    """A channel's configured intervals, in seconds: what is assumed until something is measured."""

    pull_every: float
    push_every: float


def measure_paces(
    units: Mapping[int, Mapping[tuple[str, str], Sequence[int]]],
    windows: SalesWindows,
    sales: Sequence[tuple[str, datetime]],
    pushes: Mapping[str, Sequence[tuple[datetime, datetime]]],
    last_read: Mapping[str, datetime],
    failed: tuple[Mapping[str, datetime], Mapping[str, datetime]],
    schedules: Mapping[str, Schedule],
) -> Paces:
    """For each channel of ``schedules``: its :func:`sync_latency` over the other channels' ``sales``,
    its ``pushes`` and latest failed push (its push interval while nothing is measured), and its
    unseen time (half its pull interval, plus the time from ``last_read``, its last successful pull,
    to its latest failed pull after it). Velocities from the units sold per window (:func:`velocity`).
    ``failed`` is (latest failed pull, latest failed push) per channel."""
    failed_pulls, failed_pushes = failed
    latency: dict[str, float] = {}
    unseen: dict[str, float] = {}
    for channel, schedule in schedules.items():
        others = [at for name, at in sales if name != channel]
        measured = sync_latency(others, pushes.get(channel, ()), failed_pushes.get(channel))
        latency[channel] = schedule.push_every if measured is None else measured
        read, failing = last_read.get(channel), failed_pulls.get(channel)
        dark = (failing - read).total_seconds() if read is not None and failing is not None else 0.0
        unseen[channel] = schedule.pull_every / 2 + max(0.0, dark)
    sold = {
        pid: {key: velocity(counts, windows) for key, counts in per.items()} for pid, per in units.items()
    }
    return Paces(latency, unseen, sold)
