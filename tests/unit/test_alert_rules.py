"""The alert conditions and their deduplication, as pure functions over plain values."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync.alerts.conditions import Findings, Kind, Quarantine, ReorderNeed, Snapshot, findings
from omnisync.alerts.state import AlertRecord, Status, Told, advance, owed
from omnisync.health import State, Verdict

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
FAILING = Verdict(State.FAILING, "no order pull has succeeded since the last error")
OK = Verdict(State.OK, "pulls and pushes succeed")
THRESHOLDS = {"channel_failing": 300.0, "channel_behind": 900.0}


def snap(at: datetime = T0, **kw: object) -> Snapshot:
    base: dict[str, object] = {"now": at, "channels": {"web": OK, "pos": OK}}
    base.update(kw)
    return Snapshot(**base)  # type: ignore[arg-type]


def test_each_condition_is_found_with_its_key() -> None:
    s = snap(
        channels={
            "web": FAILING,
            "pos": Verdict(State.BEHIND, "3 change(s) waiting for a push"),
            "amz": None,
        },
        drift={"web": 2, "pos": 0},
        oversold={"MUG": 3},
        quarantined={("web", "GHOST-1"): Quarantine(2, 5, "unknown SKU")},
        available={"MUG": 4, "TEE": 9},
        reorder_points={"MUG": 5, "TEE": 5, "NEVER-SOLD": 3},
        shown_zero=frozenset({("pos", "MUG")}),
    )
    f = findings(s)
    assert set(f.found) == {
        "channel_failing:web",
        "channel_behind:pos",
        "drift:web",
        "oversold:MUG",
        "quarantined:web:GHOST-1",
        "reorder_point:MUG",
        "out_of_stock:pos:MUG",
    }
    assert f.found["reorder_point:MUG"].facts == {"available": 4, "reorder_point": 5}
    assert f.found["oversold:MUG"].summary == "MUG is oversold by 3 unit(s)"
    # amz has not run here: its channel conditions are not judged (and not cleared)
    assert not f.judges(Kind.CHANNEL_FAILING, "amz")
    assert f.judges(Kind.CHANNEL_FAILING, "web")
    assert f.judges(Kind.OUT_OF_STOCK, "amz"), "the ledger judges out of stock on every channel"


def test_the_reorder_point_is_reached_at_equality_as_replenishment_says() -> None:
    at = findings(snap(available={"MUG": 5}, reorder_points={"MUG": 5})).found
    above = findings(snap(available={"MUG": 6}, reorder_points={"MUG": 5})).found
    assert "reorder_point:MUG" in at
    assert "reorder_point:MUG" not in above


def test_unwatched_conditions_are_neither_found_nor_judged() -> None:
    f = findings(
        snap(oversold={"MUG": 1}, shown_zero=frozenset({("web", "MUG")})), frozenset({Kind.OVERSOLD})
    )
    assert set(f.found) == {"oversold:MUG"}
    assert not f.judges(Kind.OUT_OF_STOCK, "web")


def run(
    snaps: list[Snapshot], records: dict[str, AlertRecord] | None = None
) -> tuple[dict[str, AlertRecord], list[tuple[str, str]]]:
    records = dict(records or {})
    seen: list[tuple[str, str]] = []
    for s in snaps:
        changed, moves = advance(records, findings(s), s.now, THRESHOLDS)
        records.update(changed)
        seen += [(m.record.key, m.change) for m in moves]
    return records, seen


def test_a_failing_channel_raises_once_after_its_threshold_and_clears_once() -> None:
    minutes = [0, 1, 4, 5, 6, 30, 31, 32]
    states = [FAILING] * 6 + [OK, OK]
    snaps = [
        snap(T0 + timedelta(minutes=m), channels={"web": v, "pos": OK})
        for m, v in zip(minutes, states, strict=True)
    ]
    records, seen = run(snaps)
    assert seen == [("channel_failing:web", "raised"), ("channel_failing:web", "cleared")]
    rec = records["channel_failing:web"]
    assert rec.status is Status.RESOLVED
    assert rec.raised_at == T0 + timedelta(minutes=5), "raised when it had failed for 5 minutes"
    assert rec.episode == 1


def test_a_short_failure_under_the_threshold_sends_nothing() -> None:
    snaps = [
        snap(T0, channels={"web": FAILING, "pos": OK}),
        snap(T0 + timedelta(minutes=2), channels={"web": FAILING, "pos": OK}),
        snap(T0 + timedelta(minutes=3), channels={"web": OK, "pos": OK}),
        snap(T0 + timedelta(minutes=9), channels={"web": FAILING, "pos": OK}),
    ]
    records, seen = run(snaps)
    assert seen == []
    assert records["channel_failing:web"].status is Status.PENDING
    assert records["channel_failing:web"].since == T0 + timedelta(minutes=9), "a new streak starts the clock"


def test_an_unjudged_channel_keeps_its_alert_through_a_restart() -> None:
    failing = [snap(T0 + timedelta(minutes=m), channels={"web": FAILING, "pos": OK}) for m in (0, 6)]
    records, seen = run(failing)
    assert seen == [("channel_failing:web", "raised")]
    restarted = snap(T0 + timedelta(minutes=7), channels={"web": None, "pos": OK})
    records, seen = run([restarted], records)
    assert seen == [], "not judged yet: neither recovered nor raised again"
    assert records["channel_failing:web"].status is Status.FIRING


def test_a_condition_that_returns_is_a_new_episode() -> None:
    s1 = snap(oversold={"MUG": 1})
    s2 = snap(T0 + timedelta(minutes=1))
    s3 = snap(T0 + timedelta(minutes=2), oversold={"MUG": 2})
    records, seen = run([s1, s1, s2, s2, s3])
    assert seen == [("oversold:MUG", "raised"), ("oversold:MUG", "cleared"), ("oversold:MUG", "raised")]
    assert records["oversold:MUG"].episode == 2


def everything(kind: Kind) -> bool:
    return True


def test_owed_sends_each_raise_and_clear_once_per_notifier() -> None:
    records, _ = run([snap(oversold={"MUG": 1})])
    notices = owed(records.values(), {}, everything)
    assert [(n.record.key, n.status) for n in notices] == [("oversold:MUG", Status.FIRING)]
    told = {"oversold:MUG": notices[0].told}
    assert owed(records.values(), told, everything) == [], "told once: nothing more while it fires"
    records, _ = run([snap(T0 + timedelta(minutes=1))], records)
    cleared = owed(records.values(), told, everything)
    assert [(n.status, n.summary) for n in cleared] == [(Status.RESOLVED, "MUG is no longer oversold")]
    told["oversold:MUG"] = cleared[0].told
    assert owed(records.values(), told, everything) == []


def test_a_clear_is_not_sent_to_a_notifier_never_told_of_the_raise() -> None:
    records, _ = run([snap(oversold={"MUG": 1}), snap(T0 + timedelta(minutes=1))])
    assert records["oversold:MUG"].status is Status.RESOLVED
    assert owed(records.values(), {}, everything) == []
    assert owed(records.values(), {"oversold:MUG": Told(1, Status.FIRING)}, everything) != []


def test_a_notifier_only_gets_the_conditions_it_asks_for() -> None:
    records, _ = run([snap(oversold={"MUG": 1}, shown_zero=frozenset({("web", "MUG")}))])
    only_stock = owed(records.values(), {}, lambda k: k is Kind.OUT_OF_STOCK)
    assert [n.record.key for n in only_stock] == ["out_of_stock:web:MUG"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([None, FAILING, OK])), min_size=1, max_size=40))
def test_raises_and_clears_alternate_and_start_with_a_raise(steps: list[tuple[bool, Verdict | None]]) -> None:
    """Whatever the sequence of observations: raise, clear, raise, ... per key; never two in a row."""
    records: dict[str, AlertRecord] = {}
    history: dict[str, list[str]] = {}
    for i, (oversold, verdict) in enumerate(steps):
        s = snap(
            T0 + timedelta(minutes=3 * i),
            channels={"web": verdict, "pos": OK},
            oversold={"MUG": 1} if oversold else {},
        )
        changed, moves = advance(records, findings(s), s.now, THRESHOLDS)
        records.update(changed)
        for m in moves:
            history.setdefault(m.record.key, []).append(m.change)
    for changes in history.values():
        assert changes[0] == "raised"
        assert all(a != b for a, b in itertools.pairwise(changes))
    for key, rec in records.items():
        raises = history.get(key, []).count("raised")
        assert rec.episode == raises


def test_findings_of_nothing_judge_every_ledger_condition() -> None:
    f: Findings = findings(snap())
    assert f.found == {}
    assert all(f.judges(k, "web") for k in Kind if k is not Kind.TEST)


def test_the_reorder_list_raises_one_alert_per_sku_and_a_fixed_point_replaces_it() -> None:
    needs = {
        "MUG": (ReorderNeed("WH", 4, 0, 7, 24), ReorderNeed("STORE", 1, 2, 3, 6)),
        "TEE": (ReorderNeed("WH", 2, 0, 5, 12),),
    }
    f = findings(snap(to_order=needs, available={"TEE": 9}, reorder_points={"TEE": 5})).found
    assert set(f) == {"reorder_point:MUG"}, "TEE has a fixed point (9 available > 5): not due"
    mug = f["reorder_point:MUG"]
    assert mug.summary == (
        "MUG has reached its reorder point (WH: 4 available + 0 on order ≤ 7, order 24;"
        " STORE: 1 available + 2 on order ≤ 3, order 6)"
    )
    assert mug.facts["STORE"] == {"available": 1, "incoming": 2, "reorder_point": 3, "quantity": 6}
