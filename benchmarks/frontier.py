"""Why no buffer policy both oversells nothing and loses no more sales than no buffer: the oversold
units of a scenario, event by event, against the last-unit sales that came without a race.

    python benchmarks/frontier.py --scenario scenarios/flash-sale.yaml --seeds 3 --json

Each seed runs the scenario with no buffer on the online channels (the ``buffered-0`` variant of
``simulate --compare``; ``--policy adaptive`` or another variant instead) and keeps its ledger; the
ledger then says, per SKU and location (sale lines ordered by when they were placed, receipts and
returns by when they were journalled):

* every **short line** (intake found fewer units at its location than it sold: ``order_line.oversold``;
  a restock may cover it later, so these are more than the simulation's oversold units, measured at
  the end), with the sale that took the last unit before it: the two channels, the seconds between
  the two sales, and whether it is a **race** (the two sales closer than ``--lag`` seconds: the second
  channel still showed a unit the first had sold, before the pull and push that would have taken it
  off; the same channel too, where the platform does not lower its own count when it sells);
* every **last-unit sale**: a sale that took the free units (received less sold) to zero or below;
  those followed by another sale within the lag are the races, the others **sold the last unit with
  no race**.

A policy that must oversell nothing has to hide the last unit wherever a race would follow. Placed
before the sale, it cannot know which last units a race will follow (the same SKU, stock and
velocity lead to both), so it hides the last unit in both cases; in every race-free case that turns
away the shopper who bought it (a lost sale: the ledger held the unit). ``hidden_cost`` is that lower
bound, per seed: the race-free last-unit sales made online. Against it, ``buffered-0`` loses
``lost_sales`` shoppers in all. Dominating buffered-0 and buffered-1 at once needs 0 oversold at no
more than buffered-0's lost sales: possible only where ``hidden_cost`` is 0.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from omnisync.simulate.policies import variants
from omnisync.simulate.scenario import load_scenario
from omnisync.simulate.single import run_one


@dataclass(frozen=True)
class Sale:
    at: float
    """Seconds since the epoch when the order was placed."""
    channel: str
    units: int
    oversold: int


@dataclass(frozen=True)
class Oversold:
    sku: str
    location: str
    units: int
    channel: str
    after: str | None
    """The channel of the sale before it (None: none before it here)."""
    gap_s: float | None
    race: bool


@dataclass(frozen=True)
class Place:
    """What one SKU at one location went through: its sales in order and its units in."""

    sku: str
    location: str
    sales: tuple[Sale, ...]
    arrivals: tuple[tuple[float, int], ...]
    """(when, units) of receipts, returns and transfers in."""


def oversold_lines(place: Place, lag_s: float) -> list[Oversold]:
    """Each oversold sale with the sale just before it at this place."""
    out = []
    for n, sale in enumerate(place.sales):
        if not sale.oversold:
            continue
        before = place.sales[n - 1] if n else None
        gap = None if before is None else sale.at - before.at
        out.append(
            Oversold(
                place.sku,
                place.location,
                sale.oversold,
                sale.channel,
                None if before is None else before.channel,
                gap,
                gap is not None and gap < lag_s,
            )
        )
    return out


def last_unit_sales(place: Place, lag_s: float) -> tuple[int, int]:
    """(last-unit sales followed by another channel's sale within the lag, those with none)."""
    events = sorted(
        [(at, units, None) for at, units in place.arrivals] + [(s.at, -s.units, s) for s in place.sales],
        key=lambda e: (e[0], e[1] < 0),
    )
    free = 0
    raced = calm = 0
    for at, delta, sale in events:
        before, free = free, free + delta
        if sale is None or not (before > 0 >= free):
            continue
        follows = [s for s in place.sales if s is not sale and at <= s.at < at + lag_s]
        if follows:
            raced += 1
        else:
            calm += 1 if sale.channel != "pos" else 0  # a walk-in sale is never hidden by a buffer
    return raced, calm


def places(db: Path) -> list[Place]:
    """Every (SKU, location) that sold, read from a kept simulation ledger."""

    def ts(value: str) -> float:
        return datetime.fromisoformat(value).timestamp()

    with sqlite3.connect(db) as conn:
        sales: dict[tuple[str, str], list[Sale]] = defaultdict(list)
        q = """
            SELECT p.sku, l.code, o.placed_at, c.name, ol.quantity - ol.cancelled, ol.oversold
            FROM order_line ol JOIN sales_order o ON o.id = ol.order_id
            JOIN product p ON p.id = ol.product_id JOIN location l ON l.id = ol.location_id
            JOIN channel c ON c.id = o.channel_id
            WHERE ol.quantity - ol.cancelled > 0
        """
        for sku, code, placed, channel, units, oversold in conn.execute(q):
            sales[(sku, code)].append(Sale(ts(placed), channel, int(units), int(oversold or 0)))
        arrivals: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
        q = """
            SELECT p.sku, l.code, m.created_at, m.quantity FROM movement m
            JOIN product p ON p.id = m.product_id JOIN location l ON l.id = m.location_id
            WHERE m.quantity > 0 AND m.bucket IS NULL AND m.kind IN ('receipt', 'return', 'transfer_in',
                'adjustment')
        """
        for sku, code, at, units in conn.execute(q):
            arrivals[(sku, code)].append((ts(at), int(units)))
    return [
        Place(sku, code, tuple(sorted(found, key=lambda s: s.at)), tuple(sorted(arrivals[(sku, code)])))
        for (sku, code), found in sorted(sales.items())
    ]


def analyse(found: Iterable[Place], lag_s: float) -> dict[str, object]:
    all_places = list(found)
    oversold = [o for p in all_places for o in oversold_lines(p, lag_s)]
    raced = calm = 0
    for p in all_places:
        r, c = last_unit_sales(p, lag_s)
        raced, calm = raced + r, calm + c
    gaps = sorted(o.gap_s for o in oversold if o.gap_s is not None)
    return {
        "short_units": sum(o.units for o in oversold),
        "short_in_races": sum(o.units for o in oversold if o.race),
        "gaps_s": [round(g, 1) for g in gaps],
        "short": [asdict(o) for o in oversold],
        "last_unit_sales_raced": raced,
        "last_unit_sales_without_race_online": calm,
        "hidden_cost": calm,
    }


def run(
    scenario_path: Path, seeds: Sequence[int], lag_s: float, policy: str = "buffered-0"
) -> dict[str, object]:
    found = variants(load_scenario(scenario_path))
    if policy not in found:
        raise SystemExit(f"--policy: {policy!r} is not one of {', '.join(found)}")
    scenario = found[policy]
    rows = []
    with tempfile.TemporaryDirectory(prefix="omnisync-frontier-") as tmp:
        for seed in seeds:
            folder = Path(tmp) / str(seed)
            result = run_one(scenario, seed, folder)
            totals = result["totals"]
            row = {
                "seed": seed,
                "lost_sales": totals["lost_sales"],
                "lost_sales_units": totals["lost_sales_units"],
            }
            row |= analyse(places(folder / "ledger.db"), lag_s)
            row["oversold_units"] = totals["oversold_units"]
            rows.append(row)
    return {
        "scenario": scenario.name,
        "policy": policy,
        "lag_s": lag_s,
        "seeds": rows,
        "oversold_units": sum(int(r["oversold_units"]) for r in rows),
        "short_units": sum(int(r["short_units"]) for r in rows),
        "short_in_races": sum(int(r["short_in_races"]) for r in rows),
        "lost_sales": sum(int(r["lost_sales"]) for r in rows),
        "hidden_cost": sum(int(r["hidden_cost"]) for r in rows),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=Path("scenarios/flash-sale.yaml"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--lag", type=float, default=120.0, help="seconds within which two sales of a last unit race"
    )
    parser.add_argument(
        "--policy", default="buffered-0", help="the variant of simulate --compare to run (e.g. adaptive)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = run(args.scenario, list(range(args.seed, args.seed + args.seeds)), args.lag, args.policy)
    if not args.json:
        out = {k: v for k, v in out.items() if k != "seeds"} | {
            "per_seed": [{k: v for k, v in r.items() if k != "short"} for r in out["seeds"]]  # type: ignore[attr-defined]
        }
    print(json.dumps(out, indent=None if args.json else 2))
