"""Many seeds, optionally across worker processes (each run is single-threaded and independent)."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .policies import pick_variants, summarise, variants
from .scenario import Scenario
from .single import run_one

NOTABLE = ("lost_update_units", "oversold_units", "drift")
"""Per-seed figures worth a look even when no invariant failed (to replay that seed)."""


def _one(args: tuple[Scenario, int]) -> dict[str, Any]:
    return run_one(*args)


def run_seeds(
    scenario: Scenario,
    seeds: Sequence[int],
    jobs: int = 1,
    done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Results in seed order; ``jobs`` > 1 spreads the seeds over that many processes. ``done`` is
    told each result as it is taken (the CLI's progress)."""
    return run_work([(scenario, seed) for seed in seeds], jobs, done)


def run_work(
    work: Sequence[tuple[Scenario, int]],
    jobs: int = 1,
    done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """One result per (scenario, seed), in order, over ``jobs`` processes."""
    results: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        if jobs <= 1 or len(work) <= 1:
            answers: Iterable[dict[str, Any]] = map(_one, work)
        else:
            pool = stack.enter_context(
                ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
            )
            answers = pool.map(_one, work)
        for result in answers:
            results.append(result)
            if done is not None:
                done(result)
    return results


def compare_policies(
    scenario: Scenario,
    seeds: Sequence[int],
    jobs: int = 1,
    only: Sequence[str] | None = None,
    done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Each policy variant (``only`` those named) on the same seeds; every (variant, seed) run shares
    one pool of ``jobs`` processes."""
    chosen = pick_variants(variants(scenario), only)
    work = [(sc, seed) for sc in chosen.values() for seed in seeds]
    results = run_work(work, jobs, done)
    n = len(seeds)
    return [summarise(name, results[i * n : (i + 1) * n]) for i, name in enumerate(chosen)]


def aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Sums over seeds, per channel and in total, and the first failing seed."""
    totals: dict[str, int] = {}
    channels: dict[str, dict[str, int]] = {}
    for r in results:
        for key, value in r["totals"].items():
            totals[key] = totals.get(key, 0) + int(value)
        for name, figures in r["channels"].items():
            into = channels.setdefault(name, {})
            for key, value in figures.items():
                if isinstance(value, int):
                    into[key] = into.get(key, 0) + value
    failed = [r for r in results if not r["ok"]]
    kits: dict[str, int] = {}
    for r in results:
        for key, value in r.get("kits", {}).items():
            kits[key] = kits.get(key, 0) + int(value)
    return {
        **({"kits": kits} if kits else {}),
        "seeds": len(results),
        "failed_seeds": [r["seed"] for r in failed],
        "first_violation": failed[0]["first_violation"] if failed else None,
        "totals": totals,
        "channels": channels,
        "notable_seeds": {
            r["seed"]: {
                name: {k: ch[k] for k in NOTABLE if ch[k]}
                for name, ch in r["channels"].items()
                if any(ch[k] for k in NOTABLE)
            }
            for r in results
            if any(ch[k] for ch in r["channels"].values() for k in NOTABLE)
        },
        "wall_s_per_seed": round(sum(r["wall_s"] for r in results) / max(1, len(results)), 2),
    }
