"""The shoppers' script: who comes when, to which channel, for what, all drawn from the seed up front.

Nothing here reads a clock or a channel, so one seed always gives the same script. The shoppers come
in waves, one per ``wave_s`` of trading time; the run (:mod:`.trading`) lets a wave in only once the
daemon has caught up with the one before it, so every shopper sees what the ledger decided, not
whatever push happened to land first. That, and the script's fixed length, is what makes the demo's
counts the same from the same seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Arrival:
    """One shopper: at ``at`` seconds of trading, on ``channel``, for ``sku``."""

    at: float
    channel: str
    sku: str
    wants_two: bool
    """Buys two if the channel shows plenty (4 or more), else one."""

    def units(self, shown: int) -> int:
        """How many the shopper buys when the channel shows ``shown`` (0: sold out, they leave)."""
        if shown < 1:
            return 0
        return 2 if self.wants_two and shown >= 4 else 1


def shopper_script(
    rng: random.Random,
    channels: Sequence[tuple[str, float]],
    skus: Sequence[str],
    seconds: float,
    orders_per_s: float,
) -> list[Arrival]:
    """Arrivals as a Poisson stream of ``orders_per_s`` over ``seconds``; ``channels`` are (name,
    weight) pairs, each shopper picks one by weight and a SKU uniformly."""
    names = [name for name, _ in channels]
    weights = [weight for _, weight in channels]
    out: list[Arrival] = []
    at = rng.expovariate(orders_per_s)
    while at < seconds:
        name = rng.choices(names, weights)[0]
        out.append(Arrival(at, name, rng.choice(skus), rng.random() < 0.25))
        at += rng.expovariate(orders_per_s)
    return out


def waves(script: Sequence[Arrival], seconds: float, wave_s: float) -> list[list[Arrival]]:
    """The script cut into waves of ``wave_s`` seconds (wave k: arrivals in [k·wave_s, (k+1)·wave_s));
    a quiet stretch is an empty wave, so wave k always starts at k·wave_s of trading."""
    count = max(1, math.ceil(seconds / wave_s))
    out: list[list[Arrival]] = [[] for _ in range(count)]
    for arrival in script:
        out[min(count - 1, int(arrival.at // wave_s))].append(arrival)
    return out
