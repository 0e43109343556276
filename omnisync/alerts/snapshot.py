"""The edge: read the ledger and the channels' in-memory states into a :class:`Snapshot`.

What to reorder is the list ``omnisync reorder`` prints (:func:`omnisync.reorder.reorder_list`: the
sales, stock, stock on order and supplier terms in the ledger, the ``replenishment`` config), so an
alert and the list never disagree; a SKU given a fixed point in ``alerts.reorder_points`` is compared
with its units available over every location instead, by the same rule
(:func:`omnisync.replenishment.at_reorder_point`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from omnisync.config import AlertsConfig
from omnisync.engine.runtime import Engine
from omnisync.health import Verdict, channel_state
from omnisync.ledger import alerts as reads
from omnisync.ledger import queries

from .conditions import Kind, Quarantine, ReorderNeed, Snapshot


def to_order(engine: Engine, now: datetime) -> dict[str, tuple[ReorderNeed, ...]]:
    """SKU -> the locations ``omnisync reorder`` says to order it at now."""
    from omnisync.reorder import reorder_list

    out: dict[str, tuple[ReorderNeed, ...]] = {}
    for row in reorder_list(engine.ledger, engine.config.replenishment, now):
        s = row.suggestion
        if s.reorder_now:
            need = ReorderNeed(row.location, row.available, s.incoming, s.reorder_point, s.quantity)
            out[row.sku] = (*out.get(row.sku, ()), need)
    return out


def gather(
    engine: Engine,
    cfg: AlertsConfig,
    works: Callable[[str], bool],
    reorder: Mapping[str, tuple[ReorderNeed, ...]] | None = None,
) -> Snapshot:
    """A snapshot of what the conditions read. ``works(channel)``: this daemon works the channel now
    (a channel it does not work, or has not run since start-up, is left unjudged). ``reorder``: the
    reorder list's needs when the caller has them already (else computed here, when watched)."""
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
        to_order=reorder
        if reorder is not None
        else to_order(engine, now)
        if Kind.REORDER_POINT in watched
        else {},
        available=available,
        reorder_points=points,
        shown_zero=frozenset(p for p in zero if p[0] in names),
    )
