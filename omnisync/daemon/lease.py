"""Leases: several daemons on one ledger share the channels, each channel worked by one at a time.

A daemon claims every channel whose lease is free, expired or already its own, and renews the ones
it holds every ``ttl / 3``. It works a channel only while its lease is valid (with a safety margin),
so when a daemon dies its channels are taken over by another within ``ttl``. The rows are written
by the repository (:meth:`LedgerTx.lease_claim`), which locks them with ``FOR UPDATE SKIP LOCKED``
on PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError

from omnisync.clock import Clock
from omnisync.ledger.repository import Ledger

log = structlog.get_logger("omnisync.daemon.lease")


def default_worker_id() -> str:
    """host:pid:random, unique per daemon process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class LeaseKeeper:
    ledger: Ledger
    holder: str
    channels: Sequence[str]
    ttl: float
    clock: Clock
    held: dict[str, datetime] = field(default_factory=dict)
    """channel -> when our lease on it expires."""

    @property
    def renew_every(self) -> float:
        return max(0.05, self.ttl / 3)

    def holds(self, channel: str) -> bool:
        """Whether this daemon may work the channel now: the lease is ours with a margin to spare."""
        until = self.held.get(channel)
        margin = timedelta(seconds=self.ttl / 6)
        return until is not None and self.clock.now() + margin < until

    def tick(self) -> tuple[list[str], list[str]]:
        """Renew what we hold and claim what is free. Returns (channels gained, channels lost)."""
        now = self.clock.now()
        until = now + timedelta(seconds=self.ttl)
        before = set(self.held)
        try:
            with self.ledger.tx() as tx:
                tx.lease_ensure(self.channels)
                won = tx.lease_claim(list(self.channels), self.holder, now, until)
        except SQLAlchemyError as exc:
            # The ledger is unreachable: keep what has not expired yet, claim nothing.
            log.error("lease.tick_failed", holder=self.holder, error=type(exc).__name__)
            self.held = {c: t for c, t in self.held.items() if t > now}
            return [], sorted(before - set(self.held))
        self.held = dict.fromkeys(won, until)
        gained = sorted(set(won) - before)
        lost = sorted(before - set(won))
        if gained:
            log.info("lease.gained", holder=self.holder, channels=gained)
        if lost:
            log.warning("lease.lost", holder=self.holder, channels=lost)
        return gained, lost

    def release(self) -> None:
        """Give the leases back (clean shutdown), so another daemon takes over at once."""
        if not self.held:
            return
        try:
            with self.ledger.tx() as tx:
                tx.lease_release(sorted(self.held), self.holder)
        except SQLAlchemyError as exc:
            log.error("lease.release_failed", holder=self.holder, error=type(exc).__name__)
        self.held.clear()

    def table(self) -> dict[str, tuple[str | None, datetime | None]]:
        with self.ledger.tx() as tx:
            return tx.lease_table()


__all__ = ["LeaseKeeper", "default_worker_id"]
