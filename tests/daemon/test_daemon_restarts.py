"""Restarts under load: a real ``omnisync run`` killed three times while both shops sell (SQLite).

After the last restart every order arrives once, both channels converge, and the push lane is never
stalled behind the order backlog a restart leaves (it was, before: a compare-and-set conflict made
the push wait for the whole backlog pull, tens of seconds). ``benchmarks/restart.py`` measures the
same at 8 kills and 40 orders a second, on SQLite and PostgreSQL.

The stall is judged as a ratio, not in seconds: the longest gap between accepted pushes from the first
push after the last restart until convergence, against that whole time. A lane waiting for the
backlog pull leaves one gap covering most of it (ratio near 1); pushes going on beside the pull leave
gaps of a push period or so. A loaded machine stretches both alike, and the process start-up (many
seconds under load) is left out of both.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from daemon_world import (
    RESTART_EVERY_S,
    conservation_errors,
    imported_orders,
    restart_under_load,
    restart_world,
)

SKUS = 30
STALL_RATIO = 0.5
"""The stall this guards against lasted until the backlog was pulled, paced by Shopify's budget: most
of the catch-up."""
STALL_PERIODS = 10
"""A gap of a few push periods is no stall, whatever part of a short catch-up it is (a catch-up of
2.4 s with one gap of 1.2 s, 2.5 periods, reads as a ratio of 0.52): the stall also spans this many."""


@pytest.mark.slow
def test_three_kills_under_load_then_everything_arrives_once_and_pushes_never_stall(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    world = restart_world(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", SKUS, (300, 100))
    engine, daemon = world.engine, world.daemon
    try:
        figures = restart_under_load(3, 20.0, 45.0, rng, engine, world.emulators, daemon, world.skus)
        context = f"seed={seed} {figures}\n{daemon.output()}"
        assert figures["converged_s"] is not None, context
        assert figures["duplicated_orders"] == 0, context
        ratio = figures["push_gap_ratio"]
        assert ratio is not None, f"no push after the last restart: {context}"
        stalled = ratio >= STALL_RATIO and figures["catch_up_push_gap_s"] > STALL_PERIODS * RESTART_EVERY_S
        assert not stalled, context
        assert figures["exit_code"] == 0, context
        ids = imported_orders(engine)
        assert sum(len(set(v)) for v in ids.values()) == figures["orders"], context
        assert conservation_errors(engine) == [], context
    finally:
        world.close()
