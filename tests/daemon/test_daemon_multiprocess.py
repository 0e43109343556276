"""Three daemon processes on one PostgreSQL ledger; one is SIGKILLed while it holds the leases.

The Shopify and Square emulators run on loopback in this test; three real ``omnisync run`` processes
(distinct ``daemon.worker_id``, ``lease_ttl`` 3 s, half-second schedules) share one fresh schema of
the machine's PostgreSQL. Orders pour in on both channels; the daemon holding the channels is killed
with SIGKILL; the shops keep selling. Checked afterwards:

* no order imported twice (ledger orders vs the emulators' orders, and units on the lines);
* no push applied twice for the same ledger version (from the emulators' request logs: Square's
  per-item reference ids, Shopify's compare-and-set transitions, each under one batch key only);
* every channel still served: its lease taken over by a survivor within the lease time, cycles run
  by the survivor after the kill, the dirty pairs pushed and both channels converged;
* the journal accounts for every cached number; the survivors stop with exit code 0 on SIGTERM.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from daemon_world import (
    Daemon,
    EmulatorThread,
    Shoppers,
    conservation_errors,
    dirty_pairs,
    duplicates,
    imported_orders,
    lease_holders,
    not_converged,
    runs_by_worker,
    schedule,
    secrets_env,
    seeded_engine,
    shopify_channel,
    shopify_history,
    shopify_pushes,
    sold_units,
    square_across,
    square_channel,
    square_corrections,
    square_history,
    wait_until,
    write_config,
)
from dbfixtures import pg_schema_url as fresh_pg_schema

from omnisync.demo import Catalogue

SKUS = 30
LEASE_TTL = 3.0
WORKERS = ("daemon-a", "daemon-b", "daemon-c")


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    yield from fresh_pg_schema()


@pytest.mark.slow
@pytest.mark.postgres
def test_three_daemons_share_the_channels_and_survive_a_kill(tmp_path: Path, pg_schema_url: str) -> None:
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    channels = [shopify_channel(), square_channel()]
    for ch in channels:
        ch.config["schedule"] = schedule(pull=0.5, push=0.5)
        ch.config["order_overlap"] = "10s"
    catalogue = Catalogue([(f"SKU-{n:04d}", Decimal("9.99") + n, 60, 30) for n in range(1, SKUS + 1)])
    skus = [item[0] for item in catalogue.items]
    for ch in channels:
        for sku, price, _wh, _store in catalogue.items:
            ch.seed(sku, 0, price)
    emulators = EmulatorThread(channels).start()
    configs = [
        write_config(tmp_path, w, channels, pg_schema_url, {"worker_id": w, "lease_ttl": f"{LEASE_TTL}s"})
        for w in WORKERS
    ]
    engine = seeded_engine(configs[0], channels, catalogue)
    env = secrets_env(channels)
    daemons = {w: Daemon(w, cfg, env, tmp_path / f"{w}.log") for w, cfg in zip(WORKERS, configs, strict=True)}
    names = [ch.name for ch in channels]

    def logs() -> str:
        return "\n".join(f"--- {d.name}\n{d.output()[-1500:]}" for d in daemons.values())

    try:
        for d in daemons.values():
            d.start()

        def spread() -> bool:
            # every channel held, and by distinct daemons: the leases have settled to the fair share
            # (a daemon that claimed both channels first hands one back on a renewal, and for that
            # moment the channel has no holder)
            holders = [lease_holders(engine).get(n) for n in names]
            return all(h in WORKERS for h in holders) and len(set(holders)) == len(names)

        assert wait_until(spread, 20), logs()
        assert wait_until(lambda: not not_converged(engine, emulators, skus[:5]), 20), logs()
        shoppers = Shoppers(emulators, skus, rng)
        shoppers.buy(rng.uniform(1.5, 3.0), per_s=30)

        # Kill whoever holds the Shopify lease, in the middle of the work.
        holders = lease_holders(engine)
        victim = holders["shopify"]
        assert victim in daemons, holders
        held_by_victim = sorted(n for n, h in holders.items() if h == victim)
        killed_at = datetime.now(UTC)
        kill_clock = time.monotonic()
        daemons[victim].kill()
        survivors = [d for w, d in daemons.items() if w != victim]
        assert all(d.alive for d in survivors), logs()

        # The shops keep selling; a survivor takes the victim's channels over within the lease time.
        taken_over: dict[str, float] = {}
        end = time.monotonic() + 3.0
        while time.monotonic() < end or len(taken_over) < len(held_by_victim):
            shoppers.buy(0.2, per_s=30)
            now = lease_holders(engine)
            for name in held_by_victim:
                if name not in taken_over and now.get(name) not in (None, victim):
                    taken_over[name] = time.monotonic() - kill_clock
            if time.monotonic() - kill_clock > LEASE_TTL + 6:
                break
        assert set(taken_over) == set(held_by_victim), f"not taken over: {lease_holders(engine)}\n{logs()}"
        # expiry (ttl) + the survivor's renewal period (ttl/3) + scheduling slack
        assert max(taken_over.values()) <= LEASE_TTL + LEASE_TTL / 3 + 1.5, taken_over

        def settled() -> bool:
            ids = imported_orders(engine)
            if any(len(ids[n]) < len(shoppers.placed[n]) for n in shoppers.placed):
                return False
            return not any(dirty_pairs(engine).values()) and not not_converged(engine, emulators, skus)

        ok = wait_until(settled, 20, step=0.5)
        ids = imported_orders(engine)
        progress = {n: (len(ids[n]), len(shoppers.placed[n])) for n in shoppers.placed}
        context = (
            f"seed={seed} victim={victim} held={held_by_victim} takeover={taken_over} "
            f"imported/placed={progress} dirty={dirty_pairs(engine)}"
        )
        if not ok:
            drift = not_converged(engine, emulators, skus)
            shop = emulators.channels["shopify"]
            history = shopify_history(
                shop,
                emulators.recorders["shopify"],
                shoppers,
                [m.split(":")[0] for m in drift.get("shopify", [])],
                kill_clock,
            )
            joined = "\n".join(history)
            pytest.fail(f"did not converge: {drift} {context}\n{joined}\n{logs()}")

        # every channel served after the kill, by survivors only
        runs = runs_by_worker(engine, killed_at)
        for name in names:
            workers = {w for (ch, w), n in runs.items() if ch == name and n}
            assert workers, f"{name}: no cycle after the kill; {context}"
            assert victim not in workers, f"{name}: the killed daemon still ran cycles; {context}"

        # no order imported twice, each with exactly its units
        for name, placed in shoppers.placed.items():
            assert len(ids[name]) == len(set(ids[name])), f"{name}: an order imported twice; {context}"
            assert len(ids[name]) == len(placed), f"{name}: orders lost; {context}"
        assert sold_units(engine) == shoppers.units, context
        assert conservation_errors(engine) == [], context

        # no push applied twice for the same ledger version. Shopify: every compare-and-set
        # transition under one key only. Square: within one daemon's life a version may be written
        # again after a STALE answer (Square moved by itself; the remaining difference is sent), so the
        # check is across the takeover: nothing the killed daemon applied is applied again after it.
        assert duplicates(shopify_pushes(emulators.recorders["shopify"])) == [], context
        twice = square_across(emulators.recorders["pos"], kill_clock)
        history = "\n".join(square_history(emulators.recorders["pos"], [r for r, _, _ in twice], kill_clock))

        codes = {d.name: d.stop() for d in survivors}
        assert all(code == 0 for code in codes.values()), f"{codes}\n{logs()}"
        assert all(h is None for h in lease_holders(engine).values()), "leases handed back on SIGTERM"
        print(
            f"multi-daemon: {context} orders={shoppers.total} "
            f"square_corrections={square_corrections(emulators.recorders['pos'])} "
            f"square_applied_twice_across_takeover={len(twice)}"
        )
        # The push outbox re-sends a batch whose acknowledgement died with its daemon verbatim, under
        # its original idempotency key, so Square answers its first result instead of applying it again.
        assert not twice, f"Square applied a ledger version twice across the takeover:\n{history}"
    finally:
        for d in daemons.values():
            d.kill()
        emulators.stop()
        engine.ledger.engine.dispose()
