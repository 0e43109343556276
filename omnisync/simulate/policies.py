"""Allocation policies compared on the same seeds: the same shoppers, faults and restocks meet each
policy, so the oversold units against lost sales table shows the trade-off alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .scenario import ChannelSpec, Scenario

Runner = Callable[[Scenario, int], dict[str, Any]]


def variants(scenario: Scenario, buffers: tuple[int, ...] = (0, 1, 2, 3)) -> dict[str, Scenario]:
    """buffered with each buffer size (on the online channels; the POS shows its real count), split
    (shares from the channels' weights unless given), low-stock priority (POS first, then by weight),
    and adaptive (no fixed buffer: each channel's held units follow the SKU's velocity elsewhere
    and the channel's measured latency)."""

    def online(spec: ChannelSpec, **changes: Any) -> ChannelSpec:
        return spec if spec.walk_in else spec.model_copy(update=changes)

    out: dict[str, Scenario] = {}
    for units in buffers:
        channels = {n: online(s, buffer_units=units) for n, s in scenario.channels.items()}
        out[f"buffered-{units}"] = scenario.model_copy(update={"policy": "buffered", "channels": channels})
    out["split"] = scenario.model_copy(update={"policy": "split"})
    ranked = sorted(
        scenario.channels, key=lambda n: (scenario.channels[n].walk_in, scenario.channels[n].weight)
    )
    channels = {
        n: s.model_copy(update={"priority": s.priority or ranked.index(n) + 1})
        for n, s in scenario.channels.items()
    }
    out["priority"] = scenario.model_copy(update={"policy": "priority", "channels": channels})
    channels = {n: online(s, buffer_units=0) for n, s in scenario.channels.items()}
    out["adaptive"] = scenario.model_copy(update={"policy": "adaptive", "channels": channels})
    return out


def pick_variants(out: dict[str, Scenario], only: Sequence[str] | None) -> dict[str, Scenario]:
    """The variants named in ``only`` (all when None), in their usual order; an unknown name is a
    ValueError naming the known ones."""
    if only is None:
        return out
    unknown = sorted(set(only) - set(out))
    if unknown:
        raise ValueError(f"unknown policy variant(s) {', '.join(unknown)} (known: {', '.join(out)})")
    return {name: sc for name, sc in out.items() if name in only}


def summarise(name: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    def total(key: str) -> int:
        return sum(int(r["totals"][key]) for r in results)

    return {
        "policy": name,
        "seeds": len(results),
        "oversold_units": total("oversold_units"),
        "lost_sales": total("lost_sales"),
        "lost_sales_units": total("lost_sales_units"),
        "turned_away": total("turned_away"),
        "lost_update_units": total("lost_update_units"),
        "violations": sum(len(r["violations"]) for r in results),
    }


def compare(scenario: Scenario, seeds: list[int], run: Runner) -> list[dict[str, Any]]:
    return [summarise(name, [run(sc, seed) for seed in seeds]) for name, sc in variants(scenario).items()]
