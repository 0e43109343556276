"""The sync's own bookkeeping: order cursors, webhook receipts, the push outbox, runs and leases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, and_, insert, select, update

from .rows import OutboxItem, RunResult
from .statements import insert_ignore, new_id
from .tables import CU, LE, PO, SR, W
from .txbase import TxBase


class OperationWrites(TxBase):
    def outbox_add(self, channel_id: int, items: Sequence[OutboxItem], at: datetime) -> int:
        return new_id(self.conn.execute(insert(PO).values(channel_id=channel_id, items=items, created_at=at)))

    def outbox_pending(self, channel_id: int) -> list[tuple[int, list[OutboxItem]]]:
        rows = self.conn.execute(
            select(PO.c.id, PO.c["items"]).where(PO.c.channel_id == channel_id).order_by(PO.c.id)
        )
        return [(int(r.id), cast(list[OutboxItem], list(r._mapping["items"]))) for r in rows]

    def outbox_done(self, outbox_id: int) -> None:
        self.conn.execute(PO.delete().where(PO.c.id == outbox_id))

    def cursor(self, channel_id: int) -> datetime | None:
        return self.ledger.cursor(self.conn, channel_id)

    def set_cursor(self, channel_id: int, updated_after: datetime, at: datetime) -> None:
        res = self.conn.execute(
            update(CU).where(CU.c.channel_id == channel_id).values(updated_after=updated_after, updated_at=at)
        )
        if not res.rowcount:
            self.conn.execute(
                insert(CU).values(channel_id=channel_id, updated_after=updated_after, updated_at=at)
            )

    def remember_webhook(self, channel_id: int, event_id: str, at: datetime) -> bool:
        """False when this event id was seen before (a re-delivery)."""
        return insert_ignore(
            self.conn, W, {"channel_id": channel_id, "event_id": event_id, "received_at": at}
        )

    def start_run(self, channel: str, kind: str, at: datetime, worker: str | None) -> int:
        return new_id(
            self.conn.execute(insert(SR).values(channel=channel, kind=kind, started_at=at, worker=worker))
        )

    def finish_run(self, run_id: int, result: RunResult) -> None:
        self.conn.execute(update(SR).where(SR.c.id == run_id).values(**result))

    # A lease row per channel: (channel, holder, expires_at). A daemon claims a channel that is free,
    # expired or already its own; on PostgreSQL the candidate rows are locked with
    # SELECT ... FOR UPDATE SKIP LOCKED, so two daemons claiming at once never wait on each other and
    # never both win. SQLite (one writer at a time) uses a conditional UPDATE.
    def lease_ensure(self, channels: Iterable[str]) -> None:
        for name in channels:
            insert_ignore(self.conn, LE, {"channel": name, "holder": None, "expires_at": None}, "channel")

    def lease_claim(
        self,
        channels: Sequence[str],
        holder: str,
        now: datetime,
        until: datetime,
        *,
        limit: int | None = None,
    ) -> list[str]:
        """Claim or renew the given channels for ``holder`` until ``until`` (at most ``limit`` of them,
        in the order given); returns those now held."""
        if limit is not None:
            channels = self._claimable(channels, holder, now)[: max(0, limit)]
        if not channels:
            return []
        claimable = _claimable_by(channels, holder, now)
        if self.conn.dialect.name == "postgresql":
            rows = self.conn.execute(
                select(LE.c.channel).where(claimable).with_for_update(skip_locked=True)
            ).all()
            won = [r.channel for r in rows]
            if won:
                self.conn.execute(
                    update(LE).where(LE.c.channel.in_(won)).values(holder=holder, expires_at=until)
                )
            return sorted(won)
        won = []
        for name in channels:
            result = self.conn.execute(
                update(LE)
                .where(and_(claimable, LE.c.channel == name))
                .values(holder=holder, expires_at=until)
            )
            if result.rowcount == 1:
                won.append(name)
        return sorted(won)

    def _claimable(self, channels: Sequence[str], holder: str, now: datetime) -> list[str]:
        free = {
            r.channel
            for r in self.conn.execute(select(LE.c.channel).where(_claimable_by(channels, holder, now)))
        }
        return [c for c in channels if c in free]

    def lease_release(self, channels: Sequence[str], holder: str) -> None:
        if channels:
            self.conn.execute(
                update(LE)
                .where(and_(LE.c.channel.in_(list(channels)), LE.c.holder == holder))
                .values(holder=None, expires_at=None)
            )

    def lease_release_holders(self, holders: Sequence[str]) -> None:
        """Free every lease these holders have (they are known to be dead)."""
        if holders:
            self.conn.execute(
                update(LE).where(LE.c.holder.in_(list(holders))).values(holder=None, expires_at=None)
            )

    def lease_table(self) -> dict[str, tuple[str | None, datetime | None]]:
        """channel -> (holder, expires_at), for status pages."""
        return {r.channel: (r.holder, r.expires_at) for r in self.conn.execute(select(LE))}


def _claimable_by(channels: Sequence[str], holder: str, now: datetime) -> Any:
    """Lease rows of ``channels`` that ``holder`` may take: free, its own, or expired."""
    return and_(
        LE.c.channel.in_(list(channels)),
        (LE.c.holder.is_(None)) | (LE.c.holder == holder) | (LE.c.expires_at < now),
    )


class OperationReads:
    def seen_webhooks(self, conn: Connection, channel_id: int, event_ids: Iterable[str]) -> set[str]:
        """Which of these event ids were remembered before (re-deliveries)."""
        ids = list(set(event_ids))
        seen: set[str] = set()
        for start in range(0, len(ids), 900):
            rows = conn.execute(
                select(W.c.event_id).where(
                    and_(W.c.channel_id == channel_id, W.c.event_id.in_(ids[start : start + 900]))
                )
            )
            seen.update(str(r) for r in rows.scalars())
        return seen

    def cursor(self, conn: Connection, channel_id: int) -> datetime | None:
        """Where the channel's order pull stands (None before the first pull)."""
        value: datetime | None = conn.execute(
            select(CU.c.updated_after).where(CU.c.channel_id == channel_id)
        ).scalar()
        return value
