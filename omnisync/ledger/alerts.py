"""Alert state and what each notifier was told (omnisync.alerts), and the reads its snapshot needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from .tables import AD, AL, IN_CHUNK, LI, OL, SR, C, O, P, S
from .txbase import TxBase

ALERT_COLUMNS = (
    "key",
    "kind",
    "channel",
    "sku",
    "status",
    "since",
    "episode",
    "summary",
    "facts",
    "raised_at",
    "resolved_at",
)


@dataclass(frozen=True, slots=True)
class QuarantineGroup:
    channel: str
    channel_sku: str
    lines: int
    units: int
    reason: str | None


class AlertWrites(TxBase):
    def save_alerts(self, rows: Iterable[Mapping[str, Any]], at: datetime) -> None:
        """Insert or update alert rows (each with every column of ``ALERT_COLUMNS``)."""
        for row in rows:
            values = {**{c: row[c] for c in ALERT_COLUMNS}, "updated_at": at}
            res = self.conn.execute(update(AL).where(AL.c.key == values["key"]).values(**values))
            if not res.rowcount:
                self.conn.execute(insert(AL).values(**values))

    def mark_told(self, notifier: str, told: Iterable[tuple[str, int, str]], at: datetime) -> None:
        """``notifier`` was told (key, episode, status)."""
        for key, episode, status in told:
            values = {"episode": episode, "status": status, "sent_at": at}
            res = self.conn.execute(
                update(AD).where(and_(AD.c.key == key, AD.c.notifier == notifier)).values(**values)
            )
            if not res.rowcount:
                self.conn.execute(insert(AD).values(key=key, notifier=notifier, **values))


class AlertReads:
    def alert_rows(self, conn: Connection) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in conn.execute(select(*(AL.c[c] for c in ALERT_COLUMNS)))]

    def told(self, conn: Connection, notifier: str) -> dict[str, tuple[int, str]]:
        """Key -> (episode, status) last sent through ``notifier``."""
        q = select(AD.c.key, AD.c.episode, AD.c.status).where(AD.c.notifier == notifier)
        return {str(r.key): (int(r.episode), str(r.status)) for r in conn.execute(q)}


def latest_reconcile_drift(conn: Connection) -> dict[str, int]:
    """Channel -> pairs its latest successful reconcile found differing."""
    latest = (
        select(SR.c.channel, func.max(SR.c.id).label("id"))
        .where(and_(SR.c.kind == "reconcile", SR.c.ok.is_(True)))
        .group_by(SR.c.channel)
    ).subquery()
    rows = conn.execute(select(SR.c.channel, SR.c.drift).join(latest, SR.c.id == latest.c.id))
    return {str(r.channel): int(r.drift or 0) for r in rows}


def quarantine_groups(conn: Connection) -> list[QuarantineGroup]:
    """Quarantined order lines by (channel, channel SKU): how many, how many units, one reason."""
    q = (
        select(
            C.c.name,
            OL.c.channel_sku,
            func.count().label("lines"),
            func.coalesce(func.sum(OL.c.quantity), 0).label("units"),
            func.max(OL.c.quarantine_reason).label("reason"),
        )
        .select_from(OL.join(O, O.c.id == OL.c.order_id).join(C, C.c.id == O.c.channel_id))
        .where(OL.c.quarantined.is_(True))
        .group_by(C.c.name, OL.c.channel_sku)
    )
    return [
        QuarantineGroup(str(r.name), str(r.channel_sku), int(r.lines), int(r.units), r.reason)
        for r in conn.execute(q)
    ]


def available_by_sku(conn: Connection, skus: Sequence[str]) -> dict[str, int]:
    """SKU -> Σ(on hand − reserved) over every location, for the known ones among ``skus``."""
    out: dict[str, int] = {}
    wanted = list(dict.fromkeys(skus))
    for start in range(0, len(wanted), IN_CHUNK):
        q = (
            select(P.c.sku, func.coalesce(func.sum(S.c.on_hand - S.c.reserved), 0).label("available"))
            .select_from(P.outerjoin(S, S.c.product_id == P.c.id))
            .where(P.c.sku.in_(wanted[start : start + IN_CHUNK]))
            .group_by(P.c.sku)
        )
        out.update({str(r.sku): int(r.available) for r in conn.execute(q)})
    return out


def shown_zero(conn: Connection) -> set[tuple[str, str]]:
    """(channel, SKU) whose listing the channel acknowledged at 0 units (listings it knows)."""
    q = (
        select(C.c.name, P.c.sku)
        .select_from(LI.join(C, C.c.id == LI.c.channel_id).join(P, P.c.id == LI.c.product_id))
        .where(and_(LI.c.acked_quantity == 0, LI.c.missing.is_(False)))
    )
    return {(str(r.name), str(r.sku)) for r in conn.execute(q)}


__all__ = [
    "ALERT_COLUMNS",
    "AlertReads",
    "AlertWrites",
    "QuarantineGroup",
    "available_by_sku",
    "latest_reconcile_drift",
    "quarantine_groups",
    "shown_zero",
]
