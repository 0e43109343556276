"""A run's figures as plain data (for ``--json``) and as text tables for people."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .measures import Measures
from .state import RunState

TOTALS = (
    "shoppers",
    "orders",
    "units_sold",
    "turned_away",
    "lost_sales",
    "lost_sales_units",
    "oversold_units",
    "preorder_units",
    "accepted_over_ledger",
    "lost_updates",
    "lost_update_units",
    "drift",
    "api_calls",
    "throttled",
)


def result(state: RunState, m: Measures) -> dict[str, Any]:
    channels = {name: asdict(fig) for name, fig in state.figures.items()}
    totals = {key: sum(int(ch[key]) for ch in channels.values()) for key in TOTALS}
    totals.update(
        orders_missing=len(m.orders_missing),
        orders_unexpected=len(m.orders_unexpected),
        orders_misapplied=len(m.orders_misapplied),
        conservation_violations=len(m.conservation),
    )
    return {
        "scenario": state.scenario.name,
        "seed": state.seed,
        "policy": state.scenario.policy,
        "ok": not m.violations,
        "first_violation": m.violations[0] if m.violations else None,
        "violations": m.violations[:50],
        "totals": totals,
        "channels": channels,
        "oversold_by_location": {f"{sku}@{loc}": units for (sku, loc), units in sorted(m.oversold.items())},
        "inventory_model": {
            "preordered_units": sum(m.preordered.values()),
            "on_order_units": sum(state.on_order.values()),
            "damaged_units": sum(state.damaged.values()),
            "returned_elsewhere": state.returned_elsewhere,
            "pickups": state.pickups,
        },
        "faults": {
            "api_faults_injected": state.faults_injected,
            "outages": [{"channel": c, "start_s": s, "end_s": e} for c, s, e in state.outages],
            "kills": state.kills,
            "kills_mid_cycle": state.kills_mid_cycle,
        },
        "listings": state.listings,
        "virtual_s": state.virtual_s,
        "wall_s": state.wall_s,
    }


def _table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(res: dict[str, Any]) -> str:
    cols = [
        "shoppers",
        "orders",
        "lost_sales",
        "oversold_units",
        "lost_update_units",
        "drift",
        "api_calls",
        "throttled",
        "webhooks_lost",
        "webhooks_duplicated",
    ]
    rows = [[name, *[ch[c] for c in cols]] for name, ch in res["channels"].items()]
    head = (
        f"scenario {res['scenario']}, seed {res['seed']}, policy {res['policy']}: "
        f"{'OK' if res['ok'] else 'FAILED'} ({res['virtual_s']} virtual s in {res['wall_s']} s)"
    )
    t = res["totals"]
    orders = (
        f"orders missing {t['orders_missing']}, unexpected {t['orders_unexpected']}, "
        f"misapplied {t['orders_misapplied']}; conservation violations {t['conservation_violations']}; "
        f"kills {res['faults']['kills']} ({res['faults']['kills_mid_cycle']} mid-cycle)"
    )
    out = [head, _table(["channel", *cols], rows), orders]
    if res["first_violation"]:
        out.append(f"first violation: {res['first_violation']}")
    return "\n".join(out)


def render_policies(rows: list[dict[str, Any]]) -> str:
    cols = [
        "policy",
        "seeds",
        "oversold_units",
        "lost_sales",
        "lost_sales_units",
        "turned_away",
        "lost_update_units",
        "violations",
    ]
    return _table(cols, [[r[c] for c in cols] for r in rows])
