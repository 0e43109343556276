"""The adaptive policy's reads: units sold per (product, channel, location) over trailing windows, and
the records its sync latencies are measured from (orders' import times, acknowledged push runs, the
last order pulls).

Plain values out; :mod:`omnisync.pace` turns them into velocities and latencies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, select

from .models import UTCDateTime
from .tables import IN_CHUNK, OL, SR, C, L, O

PUSH_RUN_KINDS = ("push", "cycle", "reconcile")
"""Run kinds that end with the channel's pushes acknowledged (a pull alone pushes nothing)."""
PULL_RUN_KINDS = ("pull", "cycle")
"""Run kinds that read the channel's orders."""


def units_sold(
    conn: Connection,
    windows_s: Sequence[float],
    until: datetime,
    until_per_channel: Mapping[str, datetime] | None = None,
    product_ids: Sequence[int] | None = None,
) -> dict[int, dict[tuple[str, str], tuple[int, ...]]]:
    """product id -> (channel, location code) -> units its order lines took there (ordered minus
    cancelled, quarantined lines left out), imported within each of ``windows_s`` seconds before
    ``until`` -- or before the channel's own instant in ``until_per_channel`` (when its orders were
    last read) -- in that order. Only products with such units appear; ``product_ids`` narrows it."""
    if not windows_s:
        return {}
    ends = dict(until_per_channel or {})
    units = OL.c.quantity - OL.c.cancelled

    def before_end(seconds: float) -> Any:
        """Per channel: the instant ``seconds`` before the end of its windows."""
        whens = [(C.c.name == name, at - timedelta(seconds=seconds)) for name, at in sorted(ends.items())]
        default = literal(until - timedelta(seconds=seconds), UTCDateTime())
        return case(*whens, else_=default) if whens else default

    end = before_end(0.0)
    sums = [
        func.sum(case((and_(O.c.imported_at >= before_end(w), O.c.imported_at <= end), units), else_=0))
        for w in windows_s
    ]
    earliest = min([until, *ends.values()]) - timedelta(seconds=max(windows_s))
    q = (
        select(OL.c.product_id, C.c.name, L.c.code, *sums)
        .select_from(OL.join(O, O.c.id == OL.c.order_id).join(C, C.c.id == O.c.channel_id))
        .join(L, L.c.id == OL.c.location_id)
        .where(
            and_(
                O.c.imported_at >= earliest,
                OL.c.product_id.is_not(None),
                OL.c.quarantined.is_(False),
            )
        )
        .group_by(OL.c.product_id, C.c.name, L.c.code)
    )
    out: dict[int, dict[tuple[str, str], tuple[int, ...]]] = {}
    chunks = (
        [None]
        if product_ids is None
        else [list(product_ids[i : i + IN_CHUNK]) for i in range(0, len(product_ids), IN_CHUNK)]
    )
    for chunk in chunks:
        query = q if chunk is None else q.where(OL.c.product_id.in_(chunk))
        for pid, channel, code, *counts in conn.execute(query):
            numbers = tuple(int(n or 0) for n in counts)
            if any(numbers):
                out.setdefault(int(pid), {})[(str(channel), str(code))] = numbers
    return out


def sales_imported(conn: Connection, since: datetime) -> list[tuple[str, datetime]]:
    """(channel, import time) of every order the ledger imported at or after ``since``."""
    q = (
        select(C.c.name, O.c.imported_at)
        .select_from(O.join(C, C.c.id == O.c.channel_id))
        .where(O.c.imported_at >= since)
    )
    return [(str(name), at) for name, at in conn.execute(q)]


def pushes_acknowledged(conn: Connection, since: datetime) -> dict[str, list[tuple[datetime, datetime]]]:
    """Channel -> (started, finished) of its runs that pushed successfully, started at or after
    ``since`` (push runs, pull-and-push cycles and reconciles)."""
    q = select(SR.c.channel, SR.c.started_at, SR.c.finished_at).where(
        and_(
            SR.c.started_at >= since,
            SR.c.ok.is_(True),
            SR.c.finished_at.is_not(None),
            SR.c.kind.in_(PUSH_RUN_KINDS),
        )
    )
    out: dict[str, list[tuple[datetime, datetime]]] = {}
    for channel, started, finished in conn.execute(q):
        out.setdefault(str(channel), []).append((started, finished))
    return out


def _latest_runs(conn: Connection, since: datetime, kinds: Sequence[str], ok: bool) -> dict[str, datetime]:
    q = (
        select(SR.c.channel, func.max(SR.c.finished_at))
        .where(
            and_(
                SR.c.started_at >= since,
                SR.c.ok.is_(ok),
                SR.c.finished_at.is_not(None),
                SR.c.kind.in_(kinds),
            )
        )
        .group_by(SR.c.channel)
    )
    return {str(channel): at for channel, at in conn.execute(q) if at is not None}


def last_pulls(conn: Connection, since: datetime) -> dict[str, datetime]:
    """Channel -> when its last successful order pull started at or after ``since`` finished."""
    return _latest_runs(conn, since, PULL_RUN_KINDS, True)


def failed_since(conn: Connection, since: datetime) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """(channel -> its latest failed order pull, channel -> its latest failed push), started at or after
    ``since``, by when they ended."""
    return (
        _latest_runs(conn, since, PULL_RUN_KINDS, False),
        _latest_runs(conn, since, PUSH_RUN_KINDS, False),
    )


def last_import(conn: Connection) -> datetime | None:
    """When the ledger last imported an order (the adaptive policy's clock: its inputs move only when
    the ledger records something, so a plan and a later ``explain`` agree)."""
    at: datetime | None = conn.execute(select(func.max(O.c.imported_at))).scalar()
    return at
