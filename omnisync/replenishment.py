"""When to reorder a SKU at a location, and how much: pure rules, no I/O.

The inputs are the units sold per day (oldest first, today last), the stock on hand, the stock already
on order, and the supplier's terms. The method, step by step:

1. **Velocity** is a weighted mean of the daily units, each day weighted ``0.5 ** (age / half_life)``
   (age 0 = the most recent day), so a SKU that has just started selling fast is seen as fast
   within days, while one quiet day does not zero a steady seller. Seasonality is left out on
   purpose: a year-ago window would need a year of history per SKU, and the recent-weighted mean
   already follows a season as it arrives; a merchant who knows a peak is coming raises
   ``service_level`` or ``review_days`` for it.
2. **Demand variability** is the standard deviation of the daily units under the same weights.
3. **Safety stock** = ``z × σ_daily × √lead_time``, where ``z`` is the standard normal quantile of the
   service level (0.95 → 1.645): the stock that covers lead-time demand that many times out of 100,
   assuming days are independent.
4. **Reorder point** = ``velocity × lead_time + safety stock``, rounded up to whole units.
5. **Position** = on hand + incoming (stock already on order counts, so it is never ordered twice).
   At or below the reorder point the SKU is ordered up to ``reorder point + velocity × review_days``
   (the demand until the next look); above it nothing is ordered.
6. The quantity is raised to the **minimum order quantity**, then up to a whole number of **packs**.

**Days of cover** is on hand ÷ velocity (``None`` when nothing sells: cover is unbounded).
Every result carries its steps, each a rule and a one-line detail, as the allocation rules do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist


@dataclass(frozen=True)
class SupplierTerms:
    lead_time_days: float
    moq: int = 1
    pack: int = 1

    def __post_init__(self) -> None:
        if self.lead_time_days < 0:
            raise ValueError(f"lead_time_days must be ≥ 0, got {self.lead_time_days}")
        if self.moq < 1 or self.pack < 1:
            raise ValueError(f"moq and pack must be ≥ 1, got moq={self.moq} pack={self.pack}")


@dataclass(frozen=True)
class Policy:
    service_level: float = 0.95
    half_life_days: float = 7.0
    review_days: float = 7.0

    def __post_init__(self) -> None:
        if not 0.5 <= self.service_level < 1:
            raise ValueError(f"service_level must be in [0.5, 1), got {self.service_level}")
        if self.half_life_days <= 0 or self.review_days < 0:
            raise ValueError("half_life_days must be > 0 and review_days ≥ 0")


@dataclass(frozen=True)
class Step:
    rule: str
    detail: str


@dataclass(frozen=True)
class Demand:
    """The recent-weighted mean and standard deviation of units sold per day over ``days`` days."""

    velocity: float
    sigma: float
    days: int


@dataclass(frozen=True)
class Suggestion:
    velocity: float
    days_of_cover: float | None
    safety_stock: int
    reorder_point: int
    position: int
    quantity: int
    seen: Demand
    terms: SupplierTerms
    policy: Policy
    on_hand: int
    incoming: int
    safety_units: float
    """The safety stock before rounding up."""

    @property
    def reorder_now(self) -> bool:
        return self.quantity > 0

    @property
    def steps(self) -> tuple[Step, ...]:
        """Each rule and its one-line detail (written when asked: a list of 100k SKUs reads few)."""
        v, ss, rop, position = self.velocity, self.safety_units, self.reorder_point, self.position
        terms, policy, sigma = self.terms, self.policy, self.seen.sigma
        steps = [
            Step(
                "velocity", f"{v:.2f}/day over {self.seen.days} days (half-life {policy.half_life_days:g} d)"
            ),
            Step(
                "safety stock",
                f"z({policy.service_level:g}) × σ {sigma:.2f} × √{terms.lead_time_days:g} d = {ss:.1f}",
            ),
            Step("reorder point", f"{v:.2f} × {terms.lead_time_days:g} d + {ss:.1f} → {rop}"),
            Step("position", f"on hand {self.on_hand} + incoming {self.incoming} = {position}"),
        ]
        if self.quantity <= 0:
            steps.append(
                Step("no order", f"position {position} > reorder point {rop}" if v > 0 else "no sales")
            )
        else:
            target = rop + v * policy.review_days
            steps.append(
                Step(
                    "order",
                    f"up to {target:.1f} (+{policy.review_days:g} d of demand): need {target - position:.1f}"
                    f" → {self.quantity} (MOQ {terms.moq}, pack {terms.pack})",
                )
            )
        return tuple(steps)


def day_weight(age: int, half_life_days: float) -> float:
    """How much a day ``age`` days back weighs (today: 1; one half-life back: ½)."""
    return float(0.5 ** (age / half_life_days))


def demand(sales_by_age: Mapping[int, int], days: int, half_life_days: float) -> Demand:
    """Demand from the days that sold (age in days -> units; age 0 = the most recent day) over a
    window of ``days`` days, the others selling nothing. Only the days that sold are visited, so a
    year of sparse history costs what it sold."""
    first = second = 0.0
    for age, units in sales_by_age.items():
        if 0 <= age < days and units:
            w = day_weight(age, half_life_days)
            first += w * units
            second += w * units * units
    return demand_from_sums(first, second, days, half_life_days)


@lru_cache(maxsize=64)
def _total_weight(days: int, half_life_days: float) -> float:
    """Σ of the weights of a window of ``days`` days (a geometric series)."""
    ratio = 0.5 ** (1 / half_life_days)
    return float((1 - ratio**days) / (1 - ratio))


def demand_from_sums(first: float, second: float, days: int, half_life_days: float) -> Demand:
    """Demand from Σ weight × units and Σ weight × units² over the days of the window (the sums a
    database can make: :func:`day_weight` per day)."""
    if days <= 0:
        return Demand(0.0, 0.0, 0)
    total = _total_weight(days, half_life_days)
    mean = first / total
    var = second / total - mean * mean
    # E[u²] − mean² cancels to rounding noise for steady demand: that noise is no variability
    if days < 2 or var <= 1e-9 * max(1.0, second / total):
        var = 0.0
    return Demand(mean, math.sqrt(var), days)


def daily_demand(daily_units: Sequence[int], half_life_days: float) -> Demand:
    """:func:`demand` of a dense series (oldest first, today last)."""
    n = len(daily_units)
    return demand({n - 1 - i: u for i, u in enumerate(daily_units)}, n, half_life_days)


def weighted_velocity(daily_units: Sequence[int], half_life_days: float) -> float:
    """Units per day, recent days weighted more (see the module text); 0 without history."""
    return daily_demand(daily_units, half_life_days).velocity


def weighted_stddev(daily_units: Sequence[int], half_life_days: float) -> float:
    """Standard deviation of units per day under the same weights as the velocity."""
    return daily_demand(daily_units, half_life_days).sigma


@lru_cache(maxsize=64)
def z_score(service_level: float) -> float:
    """The standard normal quantile of the service level (0.95 -> 1.645)."""
    return NormalDist().inv_cdf(service_level)


def safety_stock(sigma_daily: float, lead_time_days: float, service_level: float) -> float:
    return z_score(service_level) * sigma_daily * math.sqrt(lead_time_days)


def days_of_cover(on_hand: int, velocity: float) -> float | None:
    if velocity <= 0:
        return None
    return max(on_hand, 0) / velocity


def order_quantity(need: float, moq: int, pack: int) -> int:
    """The smallest orderable quantity ≥ need: at least the MOQ, a whole number of packs; 0 if no need."""
    if need <= 0:
        return 0
    qty = max(math.ceil(need - 1e-9), moq)
    return math.ceil(qty / pack) * pack


def at_reorder_point(position: int, reorder_point: int) -> bool:
    """Time to order: the position (on hand + incoming) has come down to the reorder point."""
    return position <= reorder_point


def suggest(
    daily_units: Sequence[int],
    on_hand: int,
    incoming: int,
    terms: SupplierTerms,
    policy: Policy = Policy(),
) -> Suggestion:
    """What to order now for one SKU at one location (see the module text for the method)."""
    return suggest_for(daily_demand(daily_units, policy.half_life_days), on_hand, incoming, terms, policy)


def suggest_for(
    seen: Demand, on_hand: int, incoming: int, terms: SupplierTerms, policy: Policy = Policy()
) -> Suggestion:
    """:func:`suggest` from a demand already summed (:func:`demand`)."""
    v, sigma = seen.velocity, seen.sigma
    ss = safety_stock(sigma, terms.lead_time_days, policy.service_level)
    rop = math.ceil(v * terms.lead_time_days + ss - 1e-9)
    position = on_hand + incoming
    cover = days_of_cover(on_hand, v)
    if v <= 0 or not at_reorder_point(position, rop):
        qty = 0
    else:
        qty = order_quantity(rop + v * policy.review_days - position, terms.moq, terms.pack)
    return Suggestion(
        velocity=v,
        days_of_cover=cover,
        safety_stock=math.ceil(ss - 1e-9),
        reorder_point=rop,
        position=position,
        quantity=qty,
        seen=seen,
        terms=terms,
        policy=policy,
        on_hand=on_hand,
        incoming=incoming,
        safety_units=ss,
    )
