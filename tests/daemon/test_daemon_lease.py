"""Leases: one daemon per channel at a time; another takes over after expiry (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from enginekit import World
from sqlalchemy import select

from omnisync.config import DaemonConfig
from omnisync.daemon.lease import LeaseKeeper, dead_here, default_worker_id, fair_share
from omnisync.daemon.scheduler import Scheduler
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.ledger.tables import LE

CHANNELS = ["web", "pos"]


def keepers(w: World, url: str) -> tuple[LeaseKeeper, LeaseKeeper]:
    other = Ledger(make_engine(w.loaded.ledger_url()))
    a = LeaseKeeper(w.ledger, "daemon-a", CHANNELS, ttl=30, clock=w.clock)
    b = LeaseKeeper(other, "daemon-b", CHANNELS, ttl=30, clock=w.clock)
    return a, b


async def test_one_holder_at_a_time_and_takeover_after_expiry(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    w.engine.migrate_and_seed()
    a, b = keepers(w, ledger_url)
    gained, lost = a.tick()
    assert sorted(gained) == sorted(CHANNELS)
    assert lost == []
    assert all(a.holds(c) for c in CHANNELS)
    assert b.tick() == ([], [])
    assert not any(b.holds(c) for c in CHANNELS)
    # a renews every ttl/3; with b alive its share is one channel: it stops working the other at
    # once and hands it back at its next renewal, so b still gets nothing yet
    w.clock.advance(a.renew_every)
    assert a.tick() == ([], ["web"])
    assert a.holds("pos")
    assert not a.holds("web")
    w.clock.advance(a.renew_every)
    assert b.tick() == ([], [])
    # a dies (stops renewing); within the ttl nobody takes over, after it b does
    w.clock.advance(20)
    assert b.tick() == ([], [])
    w.clock.advance(11)
    gained, _ = b.tick()
    assert sorted(gained) == sorted(CHANNELS)
    assert all(b.holds(c) for c in CHANNELS)
    # a comes back: it has lost the channel it still worked
    gained, lost = a.tick()
    assert gained == []
    assert lost == ["pos"]
    assert not any(a.holds(c) for c in CHANNELS)
    table = b.table()
    assert {holder for holder, _ in table.values()} == {"daemon-b"}
    # and the two share the channels again within two renewals
    for _ in range(2):
        w.clock.advance(a.renew_every)
        b.tick()
        a.tick()
    assert sum(a.holds(c) for c in CHANNELS) == sum(b.holds(c) for c in CHANNELS) == 1


async def test_three_daemons_hold_their_fair_share(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    w.engine.migrate_and_seed()
    names = [f"ch{n}" for n in range(7)]
    keepers = [
        LeaseKeeper(Ledger(make_engine(w.loaded.ledger_url())), f"d{n}", names, ttl=30, clock=w.clock)
        for n in range(3)
    ]
    for _ in range(3):  # the first claims everything, then each renewal moves the excess
        for keeper in keepers:
            keeper.tick()
        w.clock.advance(keepers[0].renew_every)
    held = [sorted(c for c in names if k.holds(c)) for k in keepers]
    assert fair_share(7, 3) == 3
    assert fair_share(2, 3) == 1
    assert max(len(h) for h in held) <= 3, f"no daemon above its share: {held}"
    assert sorted(c for h in held for c in h) == names, "every channel worked, by one daemon"
    # one dies: after the ttl the two others split its channels
    for _ in range(5):
        w.clock.advance(keepers[0].renew_every + 4)
        for keeper in keepers[:2]:
            keeper.tick()
    held = [sorted(c for c in names if k.holds(c)) for k in keepers[:2]]
    assert max(len(h) for h in held) <= 4, held
    assert sorted(c for h in held for c in h) == names


async def test_release_hands_over_at_once(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    w.engine.migrate_and_seed()
    a, b = keepers(w, ledger_url)
    a.tick()
    a.release()
    assert not a.held
    gained, _ = b.tick()
    assert sorted(gained) == sorted(CHANNELS)


async def test_claim_skips_rows_locked_by_another_daemon(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    w.engine.migrate_and_seed()
    a, b = keepers(w, ledger_url)
    a.tick()
    a.release()
    if w.ledger.engine.dialect.name != "postgresql":
        return  # SQLite has one writer at a time: the conditional UPDATE is enough
    # another daemon is in the middle of claiming "web" (row locked): b skips it without waiting
    with w.ledger.tx() as tx:
        tx.conn.execute(select(LE).where(LE.c.channel == "web").with_for_update())
        gained, _ = b.tick()
        assert gained == ["pos"]
    gained, _ = b.tick()
    assert gained == ["web"]


async def test_scheduler_works_only_the_channels_it_holds(tmp_path: Path) -> None:
    w = World(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    await w.start({"MUG": (10, 5)})
    other = LeaseKeeper(w.ledger, "someone-else", ["pos"], ttl=30, clock=w.clock)
    other.tick()  # another daemon holds the POS
    mine = LeaseKeeper(w.ledger, "me", CHANNELS, ttl=30, clock=w.clock)
    scheduler = Scheduler(w.engine, DaemonConfig(), leases=mine)
    scheduler.start()
    await scheduler.drain()
    assert "leases" in scheduler.jobs()
    assert scheduler.may_work("web")
    assert not scheduler.may_work("pos")
    assert w.web.items["WEB-MUG"].quantity == 12
    assert w.pos.items["MUG"].quantity == 0, "the POS belongs to the other daemon"
    assert not scheduler.request_pull("pos")
    # the other daemon dies; after the ttl this one takes the POS over and catches up at once
    w.clock.advance(31)
    await scheduler._renew_leases()
    await scheduler.drain()
    assert scheduler.may_work("pos")
    assert w.pos.items["MUG"].quantity == 5
    await scheduler.shutdown()
    assert all(holder is None for holder, _ in mine.table().values()), "released on shutdown"


def test_a_killed_daemon_of_this_host_hands_over_at_once(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    w.engine.migrate_and_seed()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead = f"{socket.gethostname()}:{int(gone.stdout)}:abc123"  # a default worker id whose process ended
    assert dead_here(dead)
    assert not dead_here(default_worker_id())
    assert not dead_here(f"another-host:{int(gone.stdout)}:abc123"), "other hosts are judged by the ttl"
    killed = LeaseKeeper(w.ledger, dead, CHANNELS, ttl=30, clock=w.clock)
    killed.tick()
    restarted = LeaseKeeper(
        Ledger(make_engine(w.loaded.ledger_url())), default_worker_id(), CHANNELS, ttl=30, clock=w.clock
    )
    gained, _ = restarted.tick()  # at once, not after the ttl
    assert sorted(gained) == sorted(CHANNELS)


async def test_one_daemon_at_a_time_holds_a_job_and_another_takes_it_over(
    tmp_path: Path, ledger_url: str
) -> None:
    """The alerts job: one daemon evaluates and sends; when it stops renewing, another takes over."""
    w = World(tmp_path, ledger_url)
    w.engine.migrate_and_seed()
    a, b = keepers(w, ledger_url)
    assert a.hold_job("alerts", 90)
    assert not b.hold_job("alerts", 90), "held by a"
    w.clock.advance(60)
    assert a.hold_job("alerts", 90), "renewed by its holder"
    w.clock.advance(89)
    assert not b.hold_job("alerts", 90)
    w.clock.advance(2)  # a stopped renewing 91 s ago
    assert b.hold_job("alerts", 90)
    assert not a.hold_job("alerts", 90)
    assert "@job:alerts" not in b.table(), "the status page lists channels only"
    b.release()
    assert a.hold_job("alerts", 90), "handed back on a clean shutdown"
