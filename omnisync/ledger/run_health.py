"""Read model: a channel's recorded runs as the facts :mod:`omnisync.health` judges (``omnisync status``).

A run that made no call (a push with nothing to send) says nothing about the channel, so the last
good run counted is the last successful run that made at least one call; the last failure is the
last run that did not succeed, with its error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from .tables import SR


@dataclass(frozen=True, slots=True)
class RunHealth:
    last_contact_ok_at: datetime | None
    """The last successful run that called the channel."""
    last_failed_at: datetime | None
    last_error: str | None


def run_health(conn: Connection, channel: str) -> RunHealth:
    at = func.coalesce(SR.c.finished_at, SR.c.started_at)
    good = conn.execute(
        select(func.max(at)).where(SR.c.channel == channel, SR.c.ok.is_(True), SR.c.api_calls > 0)
    ).scalar()
    bad = conn.execute(
        select(at.label("at"), SR.c.error)
        .where(SR.c.channel == channel, SR.c.ok.is_(False), SR.c.finished_at.is_not(None))
        .order_by(SR.c.id.desc())
        .limit(1)
    ).first()
    return RunHealth(good, None if bad is None else bad.at, None if bad is None else bad.error)
