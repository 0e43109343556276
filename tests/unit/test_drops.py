from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync.drops import (
    DropSchedule,
    DropState,
    MonthlyRule,
    Window,
    drop_state,
    is_open,
    next_edge,
)

PARIS = ZoneInfo("Europe/Paris")
MONTHLY = MonthlyRule(day=1, start=time(18, 0), timezone="Europe/Paris")
SCHEDULE = DropSchedule("instagram", monthly=MONTHLY)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def test_monthly_window_opens_and_closes_on_the_local_wall_clock() -> None:
    assert not is_open(SCHEDULE, paris(2026, 6, 1, 17, 59))
    assert is_open(SCHEDULE, paris(2026, 6, 1, 18, 0))
    assert is_open(SCHEDULE, paris(2026, 6, 2, 17, 59))
    assert not is_open(SCHEDULE, paris(2026, 6, 2, 18, 0))


def test_next_edge_walks_open_close_open() -> None:
    now = paris(2026, 6, 1, 12, 0)
    opens = next_edge(SCHEDULE, now)
    assert opens == paris(2026, 6, 1, 18, 0)
    assert opens is not None
    closes = next_edge(SCHEDULE, opens)
    assert closes == paris(2026, 6, 2, 18, 0)
    assert closes is not None
    assert next_edge(SCHEDULE, closes) == paris(2026, 7, 1, 18, 0)


def test_window_lasts_elapsed_hours_across_a_dst_change() -> None:
    # Europe/Paris springs forward on 2026-03-29 at 02:00: a 24 h window from 28 March 18:00
    # (+01:00) closes on 29 March at 19:00 (+02:00).
    rule = MonthlyRule(day=28, start=time(18, 0), timezone="Europe/Paris")
    schedule = DropSchedule("instagram", monthly=rule)
    state = drop_state(schedule, paris(2026, 3, 29, 12, 0))
    assert state.open
    assert state.window is not None
    start, end = state.window
    assert end - start == timedelta(hours=24)
    assert end == paris(2026, 3, 29, 19, 0)


def test_a_day_the_month_lacks_falls_on_its_last_day() -> None:
    rule = MonthlyRule(day=31, start=time(0, 0), timezone="UTC", hours=1)
    schedule = DropSchedule("instagram", monthly=rule)
    assert is_open(schedule, datetime(2026, 4, 30, 0, 30, tzinfo=UTC))
    assert is_open(schedule, datetime(2026, 2, 28, 0, 30, tzinfo=UTC))
    assert not is_open(schedule, datetime(2026, 3, 30, 0, 30, tzinfo=UTC))


def test_explicit_windows_merge_when_they_touch() -> None:
    a = Window(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC))
    b = Window(datetime(2026, 6, 2, tzinfo=UTC), datetime(2026, 6, 3, tzinfo=UTC))
    schedule = DropSchedule("instagram", windows=(b, a))
    # the shared instant is no edge: the drop stays open across it
    assert next_edge(schedule, datetime(2026, 6, 1, 12, tzinfo=UTC)) == datetime(2026, 6, 3, tzinfo=UTC)
    assert drop_state(schedule, datetime(2026, 6, 2, tzinfo=UTC)).window == (a.start, b.end)


def test_drop_state_closed_names_the_next_window_and_none_after_the_last() -> None:
    window = Window(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC))
    schedule = DropSchedule("instagram", windows=(window,))
    before = drop_state(schedule, datetime(2026, 5, 1, tzinfo=UTC))
    assert before == DropState("instagram", False, (window.start, window.end))
    after = drop_state(schedule, datetime(2026, 7, 1, tzinfo=UTC))
    assert after == DropState("instagram", False, None)
    assert next_edge(schedule, datetime(2026, 7, 1, tzinfo=UTC)) is None


def test_non_exclusive_flag_travels_into_the_state() -> None:
    schedule = DropSchedule("instagram", monthly=MONTHLY, exclusive=False)
    assert drop_state(schedule, paris(2026, 6, 1, 20, 0)) == DropState(
        "instagram", True, (paris(2026, 6, 1, 18, 0), paris(2026, 6, 2, 18, 0)), exclusive=False
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DropSchedule("instagram"), "at least one window"),
        (lambda: MonthlyRule(day=0, start=time(18), timezone="UTC"), "1..31"),
        (lambda: MonthlyRule(day=1, start=time(18), timezone="Mars/Olympus"), "unknown IANA timezone"),
        (lambda: MonthlyRule(day=1, start=time(18), timezone="UTC", hours=0), "hours"),
        (lambda: Window(datetime(2026, 6, 2), datetime(2026, 6, 3)), "timezone-aware"),
        (
            lambda: Window(datetime(2026, 6, 2, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)),
            "must be after",
        ),
    ],
)
def test_invalid_schedules_are_refused(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(SCHEDULE, datetime(2026, 6, 1, 18))


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(now=instants, day=st.integers(1, 31), hour=st.integers(0, 23), hours=st.integers(1, 72))
def test_state_is_constant_between_edges(now: datetime, day: int, hour: int, hours: int) -> None:
    rule = MonthlyRule(day=day, start=time(hour), timezone="America/New_York", hours=hours)
    schedule = DropSchedule("instagram", monthly=rule)
    edge = next_edge(schedule, now)
    assert edge is not None
    assert now < edge <= now + timedelta(days=63)
    open_now = is_open(schedule, now)
    assert is_open(schedule, edge - timedelta(microseconds=1)) == open_now
    assert is_open(schedule, edge) != open_now
