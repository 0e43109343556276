"""Leases: one daemon per channel at a time; another takes over after expiry (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from enginekit import World
from sqlalchemy import select

from omnisync.config import DaemonConfig
from omnisync.daemon.lease import LeaseKeeper
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
    # a renews every ttl/3: b still gets nothing
    w.clock.advance(a.renew_every)
    a.tick()
    w.clock.advance(a.renew_every)
    assert b.tick() == ([], [])
    # a dies (stops renewing); within the ttl nobody takes over, after it b does
    w.clock.advance(20)
    assert not a.holds("web"), "a stops working a channel before its lease runs out"
    assert b.tick() == ([], [])
    w.clock.advance(11)
    gained, _ = b.tick()
    assert sorted(gained) == sorted(CHANNELS)
    assert all(b.holds(c) for c in CHANNELS)
    # a comes back: it has lost both channels
    gained, lost = a.tick()
    assert gained == []
    assert sorted(lost) == sorted(CHANNELS)
    assert not any(a.holds(c) for c in CHANNELS)
    table = b.table()
    assert {holder for holder, _ in table.values()} == {"daemon-b"}


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
    with w.ledger.tx() as tx:
        assert all(holder is None for holder, _ in tx.lease_table().values()), "released on shutdown"
