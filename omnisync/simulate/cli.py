"""``omnisync simulate [SCENARIO.yaml] --seed N [--seeds K] [--compare [--policies A,B]] [--jobs J]
[--json]``.

Wired into the main CLI with ``app.command("simulate")(simulate_command)``. Exit code 0 when every
invariant held on every seed, 1 when one failed (the first violation and its seed are printed),
2 for a bad scenario file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from .scenario import Scenario


def simulate_command(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario YAML (see scenarios/); the small built-in one if absent.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="First seed; the same seed gives the same run.")] = 1,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Run this many seeds from --seed on.")] = 1,
    compare: Annotated[
        bool, typer.Option("--compare", help="Compare allocation policies on the same seeds.")
    ] = False,
    policies: Annotated[
        str | None,
        typer.Option("--policies", help="With --compare: only these variants, comma-separated."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes for the seeds.")] = 1,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Keep the run's ledger and config in this folder (one seed)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Simulate a trading period against the real engine and the emulators, with faults, and check
    that no order is lost or duplicated, stock is conserved and every channel converges."""
    from omnisync.progress import Progress
    from omnisync.sdk.errors import ConfigurationError

    from .batch import aggregate, compare_policies, run_seeds  # lazily: `omnisync --help` stays light
    from .policies import pick_variants, variants
    from .report import render, render_policies
    from .scenario import load_scenario, small_scenario

    try:
        sc: Scenario = load_scenario(scenario) if scenario is not None else small_scenario()
        only = policies.split(",") if policies else None
        pick_variants(variants(sc), only)
    except (OSError, ValueError, ConfigurationError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    numbers = list(range(seed, seed + seeds))
    out: dict[str, Any]
    if compare:
        rows = compare_policies(sc, numbers, jobs, only)
        out = {"scenario": sc.name, "seeds": numbers, "policies": rows}
        typer.echo(json.dumps(out, indent=2) if as_json else render_policies(rows))
        ok = all(r["violations"] == 0 for r in rows)
    elif seeds == 1:
        from .single import run_one

        with Progress(f"simulate {sc.name}", 1) as progress:
            out = run_one(sc, seed, keep)
            progress.advance(f"seed {seed} {'ok' if out['ok'] else 'FAILED'}")
        typer.echo(json.dumps(out, indent=2) if as_json else render(out))
        ok = bool(out["ok"])
    else:
        with Progress(f"simulate {sc.name}", len(numbers)) as progress:

            def done(r: dict[str, Any]) -> None:
                progress.advance(f"seed {r['seed']} {'ok' if r['ok'] else 'FAILED'}")

            results = run_seeds(sc, numbers, jobs, done=done)
        out = {"scenario": sc.name, **aggregate(results)}
        if as_json:
            typer.echo(json.dumps(out, indent=2))
        else:
            for r in results:
                typer.echo(render(r) + "\n")
            typer.echo(f"{len(results)} seeds, failed: {out['failed_seeds'] or 'none'}")
        ok = not out["failed_seeds"]
    if not ok:
        raise typer.Exit(1)


app = typer.Typer(add_completion=False)
app.command("simulate")(simulate_command)

__all__ = ["app", "simulate_command"]
