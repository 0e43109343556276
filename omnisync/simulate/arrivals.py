"""Shoppers and the merchant's day, drawn from the seed before the run starts.

Arrivals per (channel, SKU) are Poisson processes: popular SKUs at ``popular_per_hour``, slow sellers
at ``slow_per_hour``, scaled by the channel's weight; a drop's SKUs draw shoppers on the drop's
channel inside its window only (and none elsewhere when the drop is exclusive). Each arrival carries
its own fate (units, fulfil delay, whether it is cancelled or returned), drawn up front, so that every
policy compared on a seed meets exactly the same shoppers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from .scenario import Scenario


@dataclass(frozen=True)
class Product:
    sku: str
    price: Decimal
    popular: bool
    stock: dict[str, int]
    """Location -> units received at the start."""


@dataclass(frozen=True)
class Arrival:
    at: float
    channel: str
    sku: str
    units: int
    fulfil_after: float
    cancel_after: float | None
    return_after: float | None
    return_units: int
    pickup: bool = False
    """Ordered ahead for click-and-collect at the store (a walk-in POS's shopper)."""
    return_at: str | None = None
    """Where a return comes back, when not where it was sold."""
    damaged: bool = False
    """The return comes back damaged (refunded without restock, received as damaged)."""


def catalogue(scenario: Scenario, rng: random.Random) -> list[Product]:
    spec = scenario.catalogue
    popular = max(0, round(spec.skus * spec.popular_fraction))
    out = []
    for n in range(spec.skus):
        stock = {loc: rng.randint(lo, hi) for loc, (lo, hi) in sorted(spec.stock.items())}
        price = Decimal(rng.randint(5, 80)) + Decimal("0.99")
        out.append(Product(f"SKU-{n + 1:04d}", price, n < popular, stock))
    return out


def _units(rng: random.Random, most: int) -> int:
    units = 1
    while units < most and rng.random() < 0.25:
        units += 1
    return units


def _open_hours(scenario: Scenario, channel: str, sku: str) -> tuple[float, float] | None:
    """When shoppers come for ``sku`` on ``channel``: a drop's SKU only inside its window on its
    channel (and, exclusive, never on the others); any other SKU all day. None: never."""
    for drop in scenario.drops:
        if sku in drop.skus:
            if channel == drop.channel:
                return drop.start, min(drop.end, scenario.duration)
            if drop.exclusive:
                return None
    return 0.0, scenario.duration


def arrivals(scenario: Scenario, products: list[Product], rng: random.Random) -> list[Arrival]:
    spec, life = scenario.catalogue, scenario.lifecycle
    out: list[Arrival] = []
    for name in sorted(scenario.channels):
        ch = scenario.channels[name]
        for product in products:
            per_hour = (spec.popular_per_hour if product.popular else spec.slow_per_hour) * ch.weight
            hours = _open_hours(scenario, name, product.sku)
            if per_hour <= 0 or hours is None:
                continue
            opens, closes = hours
            t = opens + rng.expovariate(per_hour / 3600.0)
            while t < closes:
                units = _units(rng, spec.max_units_per_order)
                fulfil = rng.uniform(*life.fulfil_after)
                cancel = rng.uniform(*life.cancel_after) if rng.random() < life.cancel_probability else None
                ret = rng.uniform(*life.return_after) if rng.random() < life.return_probability else None
                back = rng.randint(1, units)
                # drawn only where the scenario has them, so older scenarios keep their shoppers
                pickup = bool(ch.pickup) and rng.random() < ch.pickup
                elsewhere = (
                    ret is not None and bool(life.return_elsewhere) and rng.random() < life.return_elsewhere
                )
                damaged = (
                    ret is not None and bool(life.damaged_returns) and rng.random() < life.damaged_returns
                )
                where = life.return_location if elsewhere else None
                out.append(
                    Arrival(t, name, product.sku, units, fulfil, cancel, ret, back, pickup, where, damaged)
                )
                t += rng.expovariate(per_hour / 3600.0)
    out.sort(key=lambda a: (a.at, a.channel, a.sku))
    return out
