"""Leases: several daemons on one ledger share the channels, each channel worked by one at a time.

Every ``ttl / 3`` a daemon renews its membership (a lease row of its own, ``@member:<holder>``) and
its channels. The live members divide the channels: a daemon claims free or expired channels only
up to its fair share (:func:`fair_share`), and one holding more than its share lets the excess go
(it stops working them at once and hands them back on its next renewal), so N daemons hold the
channels spread and a newcomer gets its share within two renewals. It works a channel only while
its lease is valid (with a safety margin), so when a daemon dies its membership and channels expire
and the others, whose share grew, take them over within ``ttl``. The rows are written by the
repository (:meth:`LedgerTx.lease_claim`), which locks them with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL.
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


MEMBER = "@member:"
"""Prefix of the lease rows that say a daemon is alive (never a channel name: channel names are
letters, digits, dashes and underscores)."""
JOB = "@job:"
"""Prefix of the lease rows of a daemon-wide job one daemon runs at a time (the alerts)."""


def fair_share(channels: int, members: int) -> int:
    """Channels one of ``members`` live daemons may hold: the ceiling of an even split."""
    return -(-channels // max(1, members))


def default_worker_id() -> str:
    """host:pid:random, unique per daemon process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def dead_here(holder: str) -> bool:
    """Whether ``holder`` names a daemon process of this host that no longer runs (a default worker
    id, host:pid:random): its leases need not run out before a restarted daemon takes them."""
    host, _, rest = holder.partition(":")
    pid, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (owned by another user): alive
        return False
    return False


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

    yielding: set[str] = field(default_factory=set)
    """Channels over our share: not worked any more, handed back at the next renewal."""
    jobs: set[str] = field(default_factory=set)
    """Job lease rows this daemon has held (handed back on release)."""

    def holds(self, channel: str) -> bool:
        """Whether this daemon may work the channel now: the lease is ours with a margin to spare."""
        until = self.held.get(channel)
        margin = timedelta(seconds=self.ttl / 6)
        return until is not None and channel not in self.yielding and self.clock.now() + margin < until

    def tick(self) -> tuple[list[str], list[str]]:
        """Renew membership and what we hold, hand back what we yield, claim up to our share.
        Returns (channels gained, channels lost)."""
        now = self.clock.now()
        until = now + timedelta(seconds=self.ttl)
        before = {c for c in self.held if c not in self.yielding}
        me = MEMBER + self.holder
        try:
            with self.ledger.tx() as tx:
                tx.lease_ensure([me, *self.channels])
                gone = {h for h, _ in tx.lease_table().values() if h and h != self.holder and dead_here(h)}
                if gone:  # a daemon of this host was killed: its leases are free at once
                    tx.lease_release_holders(sorted(gone))
                    log.info("lease.dead_holder", holder=self.holder, dead=sorted(gone))
                tx.lease_claim([me], self.holder, now, until)
                if self.yielding:
                    tx.lease_release(sorted(self.yielding), self.holder)
                members = sum(
                    1
                    for name, (holder, expires) in tx.lease_table().items()
                    if name.startswith(MEMBER)
                    and holder is not None
                    and expires is not None
                    and expires > now
                )
                share = fair_share(len(self.channels), members)
                mine = [c for c in self.channels if c in before]
                won = tx.lease_claim(mine, self.holder, now, until)
                if len(won) < share:
                    others = [c for c in self.channels if c not in won and c not in self.yielding]
                    free = tx.lease_claim(others, self.holder, now, until, limit=share - len(won))
                    won = sorted(set(won) | set(free))
        except SQLAlchemyError as exc:
            # The ledger is unreachable: keep what has not expired yet, claim nothing.
            log.error("lease.tick_failed", holder=self.holder, error=type(exc).__name__)
            self.held = {c: t for c, t in self.held.items() if t > now}
            return [], sorted(before - set(self.held))
        self.yielding = set(won[share:]) if len(won) > share else set()
        self.held = dict.fromkeys(won, until)
        kept = set(won) - self.yielding
        gained = sorted(kept - before)
        lost = sorted(before - kept)
        if gained:
            log.info("lease.gained", holder=self.holder, channels=gained, share=share, daemons=members)
        if lost:
            log.warning("lease.lost", holder=self.holder, channels=lost, share=share, daemons=members)
        return gained, lost

    def hold_job(self, job: str, seconds: float) -> bool:
        """Claim or renew the lease on a daemon-wide ``job`` for ``seconds``: whether this daemon holds it
        (one daemon runs it at a time; another takes it over once it expires)."""
        now = self.clock.now()
        name = JOB + job
        try:
            with self.ledger.tx() as tx:
                tx.lease_ensure([name])
                won = tx.lease_claim([name], self.holder, now, now + timedelta(seconds=seconds))
        except SQLAlchemyError as exc:
            log.error("lease.job_failed", holder=self.holder, job=job, error=type(exc).__name__)
            return False
        if won:
            self.jobs.add(name)
        return bool(won)

    def release(self) -> None:
        """Give the leases back (clean shutdown), so another daemon takes over at once."""
        try:
            with self.ledger.tx() as tx:
                tx.lease_release([MEMBER + self.holder, *sorted(self.held), *sorted(self.jobs)], self.holder)
        except SQLAlchemyError as exc:
            log.error("lease.release_failed", holder=self.holder, error=type(exc).__name__)
        self.held.clear()
        self.yielding.clear()
        self.jobs.clear()

    def table(self) -> dict[str, tuple[str | None, datetime | None]]:
        """Channel -> (holder, expires at); daemons' membership rows left out."""
        with self.ledger.tx() as tx:
            return {c: row for c, row in tx.lease_table().items() if not c.startswith((MEMBER, JOB))}


__all__ = ["LeaseKeeper", "default_worker_id", "fair_share"]
