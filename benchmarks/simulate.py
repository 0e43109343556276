"""The oversell simulation over many seeds: the issue-8 targets, as JSON.

    python benchmarks/simulate.py --seeds 100 --json                      # trading-day, all faults
    python benchmarks/simulate.py --scenario scenarios/split-fenced.yaml --seeds 100 --json
    python benchmarks/simulate.py --compare --seeds 10 --json             # the policy table
    python benchmarks/simulate.py --scenario scenarios/flash-sale.yaml --compare --seeds 10 \
        --policies buffered-0,buffered-1,buffered-2,buffered-3,adaptive --json

Seeds run in ``--jobs`` worker processes (default 2). Prints the summed figures per channel, the
failed seeds with the first violation, and the targets: 0 lost or duplicated orders, 0 conservation
violations, 0 drift after reconcile, 0 lost updates on Shopify and the POS.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from omnisync.simulate import load_scenario
from omnisync.simulate.batch import aggregate, compare_policies, run_seeds
from omnisync.simulate.report import render_policies

ROOT = Path(__file__).resolve().parents[1]


def targets(summary: dict[str, object]) -> dict[str, object]:
    totals = summary["totals"]
    channels = summary["channels"]
    assert isinstance(totals, dict)
    assert isinstance(channels, dict)
    strict = [n for n in channels if n in ("shopify", "pos")]
    return {
        "lost_or_duplicated_orders": totals["orders_missing"]
        + totals["orders_unexpected"]
        + totals["orders_misapplied"],
        "conservation_violations": totals["conservation_violations"],
        "drift_after_reconcile": totals["drift"],
        "lost_updates_shopify_pos": sum(channels[n]["lost_update_units"] for n in strict),
        "oversold_shopify_pos": sum(channels[n]["oversold_units"] for n in strict),
        "lost_updates_other": {n: ch["lost_update_units"] for n, ch in channels.items() if n not in strict},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "trading-day.yaml"))
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--compare", action="store_true", help="the policy table instead")
    parser.add_argument(
        "--policies", help="with --compare: only these variants, comma-separated (e.g. buffered-0,adaptive)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    started = time.perf_counter()
    if args.compare:
        only = args.policies.split(",") if args.policies else None
        rows = compare_policies(scenario, seeds, args.jobs, only)
        out: dict[str, object] = {"scenario": scenario.name, "seeds": len(seeds), "policies": rows}
        text = render_policies(rows)
    else:
        summary = aggregate(run_seeds(scenario, seeds, args.jobs))
        out = {"scenario": scenario.name, **summary, "targets": targets(summary)}
        text = json.dumps(out["targets"], indent=2)
    out["wall_s"] = round(time.perf_counter() - started, 1)
    out["jobs"] = args.jobs
    print(json.dumps(out, indent=2) if args.json else f"{text}\nwall_s {out['wall_s']}")


if __name__ == "__main__":
    main()
