"""The edge: read the ledger and the channels' in-memory states into a :class:`Snapshot`.

The reorder point of a SKU comes from ``alerts.reorder_points`` (per SKU, units available over every
location). The ledger holds no supplier terms or stock on order yet (issue 20, "Reorder and
replenishment"); once it does, the points ``omnisync reorder`` computes with
:func:`omnisync.replenishment.suggest` belong here, and the rule that compares them stays
:func:`omnisync.replenishment.at_reorder_point`.
"""

from __future__ import annotations

from collections.abc import Callable

from omnisync.config import AlertsConfig
from omnisync.engine.runtime import Engine
from omnisync.health import Verdict, channel_state
from omnisync.ledger import alerts as reads
from omnisync.ledger import queries

from .conditions import Kind, Quarantine, Snapshot


def gather(engine: Engine, cfg: AlertsConfig, works: Callable[[str], bool]) -> Snapshot:
    """A snapshot of what the conditions read. ``works(channel)``: this daemon works the channel now
    (a channel it does not work, or has not run since start-up, is left unjudged)."""
    watched = cfg.watched()
    now = engine.clock.now()
    names = set(engine.channels)
    with engine.ledger.read() as conn:
        pending = {n: engine.ledger.dirty_count(conn, rt.channel_id) for n, rt in engine.channels.items()}
        drift = reads.latest_reconcile_drift(conn) if Kind.DRIFT in watched else {}
        oversold = {o.sku: o.units for o in queries.oversold(conn)} if Kind.OVERSOLD in watched else {}
        groups = reads.quarantine_groups(conn) if Kind.QUARANTINED in watched else []
        points = dict(cfg.reorder_points) if Kind.REORDER_POINT in watched else {}
        available = reads.available_by_sku(conn, list(points)) if points else {}
        zero = reads.shown_zero(conn) if Kind.OUT_OF_STOCK in watched else set()
    states: dict[str, Verdict | None] = {
        n: channel_state(rt.facts(now, pending[n])) if works(n) and rt.has_run else None
        for n, rt in engine.channels.items()
    }
    return Snapshot(
        now=now,
        channels=states,
        drift={n: d for n, d in drift.items() if n in names},
        oversold=oversold,
        quarantined={(g.channel, g.channel_sku): Quarantine(g.lines, g.units, g.reason) for g in groups},
        available=available,
        reorder_points=points,
        shown_zero=frozenset(p for p in zero if p[0] in names),
    )
