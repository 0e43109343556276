"""The channel state the merchant reads, from the last pull and the last push (omnisync.health)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from omnisync.health import ChannelFacts, State, channel_state

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


HEALTHY = ChannelFacts(
    now=NOW, engine_state="ok", last_pull_at=ago(5), last_push_at=ago(4), last_error_at=None, push_every_s=5
)


def test_pulls_and_pushes_succeeding_is_ok() -> None:
    assert channel_state(HEALTHY).state is State.OK


def test_pulls_failing_while_pushes_succeed_is_failing_not_ok() -> None:
    """Issue 14 point 11: Amazon's order pulls failing every 10 s, its pushes fine, the page said ok."""
    facts = replace(HEALTHY, last_pull_at=ago(600), last_push_at=ago(2), last_error_at=ago(3))
    verdict = channel_state(facts)
    assert verdict.state is State.FAILING
    assert "pull" in verdict.why


def test_a_push_failing_with_changes_waiting_is_failing() -> None:
    facts = replace(HEALTHY, last_pull_at=ago(1), last_push_at=ago(60), last_error_at=ago(2), pending=4)
    assert channel_state(facts).state is State.FAILING


def test_an_error_followed_by_a_good_pull_and_push_is_over() -> None:
    facts = replace(HEALTHY, last_error_at=ago(30), last_error="timeout")
    assert channel_state(facts).state is State.OK


@pytest.mark.parametrize("engine_state", ["configuration", "open"])
def test_configuration_and_the_breaker_are_failing(engine_state: str) -> None:
    facts = replace(HEALTHY, engine_state=engine_state, paused_until=NOW + timedelta(minutes=5))
    assert channel_state(facts).state is State.FAILING


def test_a_parked_operation_is_throttled() -> None:
    verdict = channel_state(replace(HEALTHY, throttled_for_s=12))
    assert verdict.state is State.THROTTLED
    assert "12 s" in verdict.why


def test_orders_not_pulled_yet_is_behind() -> None:
    assert channel_state(replace(HEALTHY, orders_behind=True)).state is State.BEHIND


def test_changes_waiting_longer_than_a_few_push_intervals_is_behind() -> None:
    assert channel_state(replace(HEALTHY, pending=3, last_push_at=ago(2))).state is State.OK
    assert channel_state(replace(HEALTHY, pending=3, last_push_at=ago(60))).state is State.BEHIND


def test_failing_outranks_throttled_outranks_behind() -> None:
    worst = replace(
        HEALTHY, last_pull_at=ago(100), last_error_at=ago(1), throttled_for_s=5, orders_behind=True
    )
    assert channel_state(worst).state is State.FAILING
    assert channel_state(replace(worst, last_error_at=None)).state is State.THROTTLED
