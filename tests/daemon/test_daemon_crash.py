"""kill -9 at a random moment of heavy work, restart: nothing lost or applied twice (SQLite ledger).

A real ``omnisync run`` process works Shopify and Square emulators served on loopback by this test
while orders pour in on both; it is SIGKILLed at a random moment, restarted, and after convergence:
every order placed is in the ledger exactly once with its units, the journal accounts for every
cached number (Σ movements == on_hand, Σ reservations == reserved == what is open on the order
lines), and both channels show what the ledger says they should offer.
"""

from __future__ import annotations

import random
import time
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
    not_converged,
    schedule,
    secrets_env,
    seeded_engine,
    shopify_channel,
    shopify_pushes,
    sold_units,
    square_across,
    square_channel,
    square_corrections,
    wait_until,
    write_config,
)

from omnisync.demo import Catalogue, DemoChannel

SKUS = 40


def _channels() -> list[DemoChannel]:
    channels = [shopify_channel(), square_channel()]
    for ch in channels:
        ch.config["schedule"] = schedule(pull=0.5, push=0.5)
        ch.config["order_overlap"] = "10s"
    return channels


@pytest.mark.slow
def test_kill_9_during_heavy_work_then_restart_loses_and_repeats_nothing(tmp_path: Path) -> None:
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    channels = _channels()
    catalogue = Catalogue([(f"SKU-{n:04d}", Decimal("9.99") + n, 60, 30) for n in range(1, SKUS + 1)])
    skus = [item[0] for item in catalogue.items]
    for ch in channels:
        for sku, price, _wh, _store in catalogue.items:
            ch.seed(sku, 0, price)
    emulators = EmulatorThread(channels).start()
    config = write_config(tmp_path, "daemon", channels, f"sqlite:///{tmp_path / 'ledger.db'}", {})
    engine = seeded_engine(config, channels, catalogue)
    daemon = Daemon("solo", config, secrets_env(channels), tmp_path / "daemon.log")
    try:
        daemon.start()
        assert wait_until(lambda: not not_converged(engine, emulators, skus[:5]), 20), daemon.output()
        shoppers = Shoppers(emulators, skus, rng)
        # Heavy work, then the crash at a random moment of it.
        kill_after = rng.uniform(0.5, 3.0)
        shoppers.buy(kill_after, per_s=40)
        assert daemon.alive, daemon.output()
        kill_clock = time.monotonic()
        daemon.kill()
        at_kill = shoppers.total
        shoppers.buy(1.0, per_s=40)  # the shops keep selling while the daemon is down
        daemon.start()
        shoppers.buy(2.0, per_s=40)

        def settled() -> bool:
            ids = imported_orders(engine)
            if any(len(ids[n]) < len(shoppers.placed[n]) for n in shoppers.placed):
                return False
            return not any(dirty_pairs(engine).values()) and not not_converged(engine, emulators, skus)

        ok = wait_until(settled, 25, step=0.5)
        code = daemon.stop()
        context = f"seed={seed} kill_after={kill_after:.2f}s orders_at_kill={at_kill}\n{daemon.output()}"
        ids = imported_orders(engine)
        progress = {n: (len(ids[n]), len(shoppers.placed[n])) for n in shoppers.placed}
        stuck = (
            f"imported/placed={progress} dirty={dirty_pairs(engine)} {not_converged(engine, emulators, skus)}"
        )
        assert ok, f"did not converge: {stuck} {context}"
        assert code == 0, context
        # every order exactly once, with exactly its units
        ids = imported_orders(engine)
        for name, placed in shoppers.placed.items():
            assert len(ids[name]) == len(set(ids[name])), f"{name}: an order imported twice; {context}"
            assert len(ids[name]) == len(placed), f"{name}: {len(ids[name])} of {len(placed)}; {context}"
        assert sold_units(engine) == shoppers.units, context
        # the journal accounts for every cached number; no reservation beyond what is open
        assert conservation_errors(engine) == [], context
        assert not_converged(engine, emulators, skus) == {}, context
        # Pushes. Shopify's compare-and-set makes a repeated transition impossible. Square: a lost
        # acknowledgement (the kill) may make the restarted daemon apply a version again inside a
        # differently composed batch; the channel then answers STALE and the next plan corrects it
        # (checked above: converged). Reported here, asserted in the multi-daemon test.
        assert duplicates(shopify_pushes(emulators.recorders["shopify"])) == [], context
        twice = len(square_across(emulators.recorders["pos"], kill_clock))
        corrections = square_corrections(emulators.recorders["pos"])
        print(
            f"crash test: {context.splitlines()[0]} orders={shoppers.total} "
            f"square_applied_twice_across_restart={twice} square_corrections={corrections}"
        )
    finally:
        daemon.kill()
        emulators.stop()
        engine.ledger.engine.dispose()
