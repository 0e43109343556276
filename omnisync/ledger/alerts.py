"""Alert state and what each notifier was told (omnisync.alerts), and the reads its snapshot needs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select, update

from .statements import execute_many, insert_many
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


def _stored(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: json.dumps(row[c], sort_keys=True) if c == "facts" else row[c] for c in ALERT_COLUMNS}


@dataclass(frozen=True, slots=True)
class QuarantineGroup:
    channel: str
    channel_sku: str
    lines: int
    units: int
    reason: str | None


ALERT_UPDATE = (
    update(AL)
    .where(AL.c.key == bindparam("k"))
    .values(**{c: bindparam(f"v_{c}") for c in ALERT_COLUMNS if c != "key"}, updated_at=bindparam("v_at"))
)


class AlertWrites(TxBase):
    def save_alerts(
        self, fresh: Sequence[Mapping[str, Any]], changed: Sequence[Mapping[str, Any]], at: datetime
    ) -> None:
        """Insert the ``fresh`` alert rows and update the ``changed`` ones (each with every column of
        ``ALERT_COLUMNS``, ``facts`` a dict): multi-row inserts and one executemany, however many."""
        insert_many(self.conn, AL, [{**_stored(r), "updated_at": at} for r in fresh])
        if changed:
            execute_many(
                self.conn,
                ALERT_UPDATE,
                [
                    {"k": r["key"], **{f"v_{c}": v for c, v in _stored(r).items() if c != "key"}, "v_at": at}
                    for r in changed
                ],
            )

    def mark_told(self, notifier: str, told: Sequence[tuple[str, int, str]], at: datetime) -> None:
        """``notifier`` was told (key, episode, status)."""
        keys = [key for key, _, _ in told]
        for start in range(0, len(keys), IN_CHUNK):
            chunk = keys[start : start + IN_CHUNK]
            self.conn.execute(AD.delete().where(and_(AD.c.notifier == notifier, AD.c.key.in_(chunk))))
        insert_many(
            self.conn,
            AD,
            [
                {"key": key, "notifier": notifier, "episode": episode, "status": status, "sent_at": at}
                for key, episode, status in told
            ],
        )


class AlertReads:
    def alert_rows(
        self, conn: Connection, status: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Every alert row (of one ``status``; the first ``limit`` by key), as dicts of ``ALERT_COLUMNS``."""
        q = select(*(AL.c[c] for c in ALERT_COLUMNS))
        if status is not None:
            q = q.where(AL.c.status == status)
        if limit is not None:
            q = q.order_by(AL.c.key).limit(limit)
        return [{**r._mapping, "facts": json.loads(r.facts or "{}")} for r in conn.execute(q)]

    def alert_count(self, conn: Connection, status: str) -> int:
        return int(
            conn.execute(select(func.count()).select_from(AL).where(AL.c.status == status)).scalar_one()
        )

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
