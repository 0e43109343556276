"""The demo's shoppers' script, its live view and its wait for the daemon: the same seed, the same
script; waves in order; a drift the daemon cannot see reconciled once."""

from __future__ import annotations

import asyncio
import io
import random
from types import SimpleNamespace

import pytest

from omnisync.demo.script import Arrival, shopper_script, waves
from omnisync.demo.view import LiveRow, PlainView, RichView, make_view

CHANNELS = [("shopify", 3.0), ("amazon", 0.6), ("pos", 2.0)]
SKUS = [f"SKU-{n:04d}" for n in range(1, 41)]


def script(seed: int) -> list[Arrival]:
    return shopper_script(random.Random(seed), CHANNELS, SKUS, 20.0, 2.0)


def test_the_same_seed_gives_the_same_script_and_another_seed_another() -> None:
    assert script(7) == script(7)
    assert script(7) != script(8)


def test_the_script_spans_the_trading_time_in_order_on_the_given_channels_and_skus() -> None:
    arrivals = script(3)
    assert 20 <= len(arrivals) <= 70, "about 2 a second for 20 s"
    times = [a.at for a in arrivals]
    assert times == sorted(times)
    assert times[0] > 0
    assert times[-1] < 20.0
    assert {a.channel for a in arrivals} == {"shopify", "amazon", "pos"}
    assert {a.sku for a in arrivals} <= set(SKUS)


def test_waves_cut_the_script_by_start_time_and_keep_quiet_stretches() -> None:
    arrivals = [
        Arrival(0.1, "pos", "A", False),
        Arrival(2.4, "pos", "B", False),
        Arrival(7.6, "pos", "C", True),
    ]
    cut = waves(arrivals, 10.0, 2.5)
    assert [[a.sku for a in w] for w in cut] == [["A", "B"], [], [], ["C"]]
    assert sum(len(w) for w in waves(script(5), 20.0, 2.5)) == len(script(5))
    assert len(waves([], 1.0, 2.5)) == 1


def test_a_shopper_buys_what_the_channel_shows_or_leaves() -> None:
    wants_two = Arrival(1.0, "pos", "A", True)
    assert [wants_two.units(shown) for shown in (0, 1, 3, 4, 9)] == [0, 1, 1, 2, 2]
    assert Arrival(1.0, "pos", "A", False).units(9) == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


ROW = LiveRow("shopify", placed=3, sold_out=1, imported=2, pushed=40, calls=12, throttled=0, state="ok")


def test_plain_lines_off_a_terminal_and_a_live_table_on_one() -> None:
    pipe = io.StringIO()
    plain = make_view(lambda: 1.25, pipe)
    assert isinstance(plain, PlainView)
    plain.step("wave 1/8: 2 shopper(s)")
    plain.rows([ROW])
    assert pipe.getvalue() == "[  1.2 s] wave 1/8: 2 shopper(s)\n"

    tty = Terminal()
    live = make_view(lambda: 3.0, tty)
    assert isinstance(live, RichView)
    live.step("trading: [42] shoppers")  # brackets are text, not markup
    live.rows([ROW])
    live.close()
    shown = tty.getvalue()
    assert "trading: [42] shoppers" in shown
    assert "shopify" in shown
    assert "40" in shown


class StepClock:
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_a_drift_the_daemon_does_not_see_is_reconciled_once_then_the_wave_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from omnisync.demo import settle

    answers = [settle.Backlog(orders={"amazon": 1}), settle.Backlog(drift={"instagram": 2}), settle.Backlog()]
    monkeypatch.setattr(settle, "backlog", lambda *_: answers.pop(0))
    asked: list[str] = []

    async def reconcile(name: str) -> None:
        asked.append(name)

    async def push(name: str) -> None:
        raise AssertionError("nothing marked")

    engine = SimpleNamespace(clock=StepClock())
    wait = settle.caught_up(engine, [], [], timeout_s=30, reconcile=reconcile, push=push, poll_s=0.5)  # type: ignore[arg-type]
    done = asyncio.run(wait)
    assert asked == ["instagram"]
    assert done.backlog.clear
    assert done.reconciled == {"instagram": 2}
    assert str(done) == (
        "the daemon caught up in 0.5 s;"
        " instagram: 2 SKU(s) drifted (a sale overwritten by a push), reconciled"
    )


def test_a_wave_that_does_not_settle_says_what_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    from omnisync.demo import settle

    monkeypatch.setattr(settle, "backlog", lambda *_: settle.Backlog(pushing={"amazon": 3}))

    async def reconcile(name: str) -> None:
        raise AssertionError("nothing drifted")

    engine = SimpleNamespace(clock=StepClock())
    wait = settle.caught_up(engine, [], [], timeout_s=2, reconcile=reconcile, push=reconcile, poll_s=0.5)  # type: ignore[arg-type]
    done = asyncio.run(wait)
    assert not done.backlog.clear
    assert str(done) == "still behind after 2.0 s: amazon: 3 SKU(s) to push"


def test_pairs_left_marked_with_nothing_to_push_get_the_next_push_run_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pair marked after the last push run would read as pending (and, later, behind) in ``status``
    after the demo: the settle asks for that channel's push run, which finds it unchanged and clears it."""
    from omnisync.demo import settle

    answers = [settle.Backlog(marked={"amazon": 1}), settle.Backlog()]
    monkeypatch.setattr(settle, "backlog", lambda *_: answers.pop(0))
    pushed: list[str] = []

    async def push(name: str) -> None:
        pushed.append(name)

    async def reconcile(name: str) -> None:
        raise AssertionError("nothing drifted")

    engine = SimpleNamespace(clock=StepClock())
    wait = settle.caught_up(engine, [], [], timeout_s=30, reconcile=reconcile, push=push, poll_s=0.5)  # type: ignore[arg-type]
    done = asyncio.run(wait)
    assert pushed == ["amazon"]
    assert done.backlog.clear
    assert str(settle.Backlog(marked={"amazon": 1})) == "amazon: 1 SKU(s) marked as changed"
