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
  channels during the latency window, the time until this channel's next completed push that started
  after the sale was in the ledger (a push run, a pull-and-push cycle or a reconcile, recorded in
  ``sync_run`` when it is acknowledged). A sale whose push has not come yet counts the time it has
  waited so far, so an outage shows as a long latency at once. The latency is the mean of those times:
  how long, on average, the channel still shows units another channel has sold.
* **Unseen time** per channel, in seconds: how long ago its orders were last read in full (the end of
  its last successful order pull). A sale it made since may not be in the ledger yet: during an
  outage of its API this grows by the minute, and so does the stock the other channels hold back
  against its sales.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Pace", "Paces", "SalesWindows", "measure_paces", "sync_latency", "velocity"]


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
    sales: Sequence[datetime], pushes: Sequence[tuple[datetime, datetime]], now: datetime
) -> float | None:
    """The mean time in seconds from each sale entering the ledger (``sales``: import times of the
    other channels' orders) to this channel's next completed push started at or after it (``pushes``:
    (started, finished) of its acknowledged pushes). A sale no push has followed yet counts
    ``now − sale``. None without sales: nothing was measured."""
    if not sales:
        return None
    ordered = sorted(pushes)
    starts = [started for started, _ in ordered]
    # the earliest finish among the pushes started at or after each start (pipelined pushes overlap)
    first_done: list[datetime] = [finished for _, finished in ordered]
    for i in range(len(first_done) - 2, -1, -1):
        first_done[i] = min(first_done[i], first_done[i + 1])
    total = 0.0
    for sale in sales:
        at = bisect.bisect_left(starts, sale)
        done = first_done[at] if at < len(starts) else now
        total += max(0.0, (done - sale).total_seconds())
    return total / len(sales)


@dataclass(frozen=True)
class Paces:
    """Every product's :class:`Pace` at one instant: the channels' latencies, and the velocities of
    the products that sold lately (any other product's pace has no sales)."""

    latency_s: Mapping[str, float]
    unseen_s: Mapping[str, float]
    sold_per_hour: Mapping[int, Mapping[tuple[str, str], float]]

    def of(self, product_id: int) -> Pace:
        return Pace(self.sold_per_hour.get(product_id, {}), self.latency_s, self.unseen_s)


def measure_paces(
    units: Mapping[int, Mapping[tuple[str, str], Sequence[int]]],
    windows: SalesWindows,
    sales: Sequence[tuple[str, datetime]],
    pushes: Mapping[str, Sequence[tuple[datetime, datetime]]],
    last_read: Mapping[str, datetime],
    assumed_latency_s: Mapping[str, float],
    now: datetime,
    read_since: datetime,
) -> Paces:
    """Velocities from the units sold per window (:func:`velocity`) and, for each channel of
    ``assumed_latency_s``, its :func:`sync_latency` over the other channels' ``sales`` and its own
    ``pushes`` (a channel with nothing measured keeps its assumed latency, its push interval), and
    its unseen time: since ``last_read`` (its last full order pull), or since ``read_since`` (the
    start of the records searched) when it has none."""
    latency: dict[str, float] = {}
    unseen: dict[str, float] = {}
    for channel, assumed in assumed_latency_s.items():
        measured = sync_latency([at for name, at in sales if name != channel], pushes.get(channel, ()), now)
        latency[channel] = assumed if measured is None else measured
        unseen[channel] = max(0.0, (now - last_read.get(channel, read_since)).total_seconds())
    sold = {
        pid: {key: velocity(counts, windows) for key, counts in per.items()} for pid, per in units.items()
    }
    return Paces(latency, unseen, sold)
