"""The adaptive policy's inputs and arithmetic: velocities, latencies, unseen times, the held units."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync.allocation import (
    AdaptivePolicy,
    BufferedPolicy,
    ChannelInput,
    LocationStock,
    QuantityRules,
    adaptive_units,
    get_policy,
)
from omnisync.drops import DropState
from omnisync.pace import Pace, SalesWindows, Schedule, measure_paces, sync_latency, velocity

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# ------------------------------------------------------------------ velocity


def test_velocity_is_the_highest_rate_of_the_windows() -> None:
    windows = SalesWindows((3600.0, 900.0, 86400.0))
    assert windows.seconds == (900.0, 3600.0, 86400.0)  # shortest first
    # 2 units in the last 15 min = 8/h; 3 in the hour = 3/h; 24 in the day = 1/h
    assert velocity([2, 3, 24], windows) == pytest.approx(8.0)
    # a steady seller with a quiet hour keeps its day's rate
    assert velocity([0, 0, 48], windows) == pytest.approx(2.0)
    assert velocity([0, 0, 0], windows) == 0.0
    with pytest.raises(ValueError, match="2 counts for 3 windows"):
        velocity([1, 2], windows)
    with pytest.raises(ValueError, match="positive"):
        SalesWindows((0.0,))


# ------------------------------------------------------------------ latency


def test_latency_is_the_mean_time_from_a_sale_to_the_next_push_started_after_it() -> None:
    pushes = [(at(0), at(5)), (at(60), at(70)), (at(120), at(121))]
    # sale at 1 s -> the push started at 60 s ends at 70: 69 s; sale at 60 s -> same push: 10 s
    assert sync_latency([at(1), at(60)], pushes) == pytest.approx((69 + 10) / 2)
    # a sale no push has followed: not measured, unless a push failed after it (an outage)
    assert sync_latency([at(1), at(130)], pushes) == pytest.approx(69)
    assert sync_latency([at(130)], pushes, failed_push=at(400)) == pytest.approx(270)
    assert sync_latency([at(130)], pushes, failed_push=at(100)) is None
    assert sync_latency([], pushes) is None


def test_overlapping_pushes_count_the_first_to_finish() -> None:
    # a pipelined channel: a long push started first, a short one after it finished earlier
    pushes = [(at(10), at(100)), (at(20), at(30))]
    assert sync_latency([at(5)], pushes) == pytest.approx(25)


def test_measured_paces_fall_back_to_the_schedule_and_count_failed_pulls_as_unseen() -> None:
    sales = [("web", at(0)), ("pos", at(10))]
    pushes = {"web": [(at(20), at(25))], "pos": [(at(30), at(31))]}
    schedules = {"web": Schedule(60, 60), "pos": Schedule(20, 30), "amazon": Schedule(120, 120)}
    paces = measure_paces(
        {7: {("web", "WH"): [1, 2, 3]}},
        SalesWindows((900.0, 3600.0, 86400.0)),
        sales,
        pushes,
        {"web": at(50), "pos": at(40)},
        ({"pos": at(400), "web": at(10)}, {"amazon": at(100)}),
        schedules,
    )
    assert paces.latency_s["web"] == pytest.approx(15)  # pos's sale at 10 s, web's push done at 25 s
    assert paces.latency_s["pos"] == pytest.approx(31)  # web's sale at 0 s, pos's push done at 31 s
    assert paces.latency_s["amazon"] == pytest.approx(95)  # its push failed at 100 s: both sales waited
    # half the pull interval; pos's pulls have failed for 360 s since its last good one; web's failure
    # came before its last good pull
    assert paces.unseen_s == {"web": 30.0, "pos": 370.0, "amazon": 60.0}
    assert paces.of(7).sold_per_hour == {("web", "WH"): pytest.approx(4.0)}
    assert paces.of(8).sold_per_hour == {}
    quiet = measure_paces({}, SalesWindows(), [], {}, {}, ({}, {}), {"amazon": Schedule(60, 120)})
    assert quiet.latency_s == {"amazon": 120.0}  # nothing sold to measure by: its push interval


# ------------------------------------------------------------------ the held units


def pace(rates: dict[tuple[str, str], float], latency: float = 60.0, unseen: float = 30.0) -> Pace:
    channels = {name for name, _ in rates} | {"web", "pos", "amazon"}
    return Pace(rates, {n: latency for n in channels}, {n: unseen for n in channels})


def test_the_buffer_follows_the_other_channels_sales_from_the_same_locations() -> None:
    p = pace({("pos", "STORE"): 20.0, ("amazon", "WH"): 10.0, ("web", "WH"): 100.0})
    web = adaptive_units(p, "web", ("WH", "STORE"), 0.05, 10)
    # its own sales do not count; amazon's at WH and the POS's at the store do
    assert [(name, rate) for name, rate, _ in web.rates] == [("amazon", 10.0), ("pos", 20.0)]
    assert web.expected == pytest.approx(30.0 * (30 + 60) / 3600)
    expected = web.expected
    tail = 1 - sum(math.exp(-expected) * expected**k / math.factorial(k) for k in range(web.units + 1))
    assert tail <= 0.05
    tail_below = 1 - sum(math.exp(-expected) * expected**k / math.factorial(k) for k in range(web.units))
    assert tail_below > 0.05  # the smallest such buffer
    # the POS shares no location with amazon; the web store's sales at WH are not its stock
    assert adaptive_units(p, "pos", ("STORE",), 0.05, 10).units == 0


def test_a_slow_seller_shows_every_unit_and_a_hot_one_is_held_where_the_lag_is_long() -> None:
    slow = pace({("amazon", "WH"): 0.1})
    assert adaptive_units(slow, "web", ("WH",), 0.05, 10).units == 0
    hot = {("amazon", "WH"): 30.0}
    quick = adaptive_units(pace(hot, latency=5, unseen=5), "web", ("WH",), 0.05, 10)
    slow_channel = adaptive_units(pace(hot, latency=600, unseen=5), "web", ("WH",), 0.05, 10)
    assert quick.units < slow_channel.units
    # an outage of the selling channel: its orders unseen for an hour
    dark = adaptive_units(pace(hot, latency=5, unseen=3600), "web", ("WH",), 0.05, 10)
    assert dark.units == 10  # capped at max_units


def test_no_pace_or_no_latency_holds_nothing() -> None:
    assert adaptive_units(None, "web", ("WH",), 0.05, 10).units == 0
    unmeasured = Pace({("amazon", "WH"): 50.0}, {}, {})
    assert adaptive_units(unmeasured, "web", ("WH",), 0.05, 10).units == 0


def test_the_explanation_shows_each_rate_and_the_held_units() -> None:
    p = pace({("pos", "STORE"): 20.0, ("amazon", "WH"): 10.0})
    channel = ChannelInput("web", ("WH", "STORE"), QuantityRules(buffer_units=1), pace=p)
    stock = {"WH": LocationStock("WH", 6, 0), "STORE": LocationStock("STORE", 2, 1)}
    result = AdaptivePolicy(risk=0.05).allocate(stock, [channel])["web"]
    steps = {s.rule: s for s in result.steps}
    assert [s.rule for s in result.steps] == ["pool", "share", "buffer", "adaptive buffer", "offered"]
    held = adaptive_units(p, "web", ("WH", "STORE"), 0.05, 10).units
    assert held >= 1
    assert steps["adaptive buffer"].value == 7 - 1 - held
    detail = steps["adaptive buffer"].detail
    assert "amazon 10.00/h × (30 s unseen + 60 s)" in detail
    assert "pos 20.00/h" in detail
    assert f"{held} held (more than {held} sold meanwhile with P ≤ 5 %)" in detail
    quiet = ChannelInput("web", ("WH",), QuantityRules(), pace=pace({}))
    text = AdaptivePolicy().allocate(stock, [quiet])["web"].steps[3].detail
    assert text == "nothing sold on the other channels from WH lately: 0 held"


def test_at_even_odds_a_unit_is_held_only_when_it_is_more_likely_gone_than_there() -> None:
    # amazon 20/h, seen within 30 s + the web store's 60 s lag: 0.5 expected; P(≥1 gone) = 0.39
    assert adaptive_units(pace({("amazon", "WH"): 20.0}), "web", ("WH",), 0.5, 10).units == 0
    # 40/h: 1.0 expected; P(≥1 gone) = 0.63 > 0.5 holds the top unit, P(≥2 gone) = 0.26 not the next
    assert adaptive_units(pace({("amazon", "WH"): 40.0}), "web", ("WH",), 0.5, 10).units == 1
    # one sale in the last 15 minutes (4/h) holds nothing at even odds unless the lag passes 10 min
    one_sale = pace({("amazon", "WH"): 4.0}, latency=540, unseen=60)
    assert adaptive_units(one_sale, "web", ("WH",), 0.5, 10).units == 0
    assert adaptive_units(pace({("amazon", "WH"): 4.0}, 600, 60), "web", ("WH",), 0.5, 10).units == 1
    # a merchant who counts an oversell as three lost sales holds it
    assert adaptive_units(pace({("amazon", "WH"): 20.0}), "web", ("WH",), 0.25, 10).units == 1


def test_the_fastest_seller_keeps_its_last_unit_so_a_unit_held_everywhere_cannot_go_unsold() -> None:
    hot = pace({("web", "WH"): 60.0, ("amazon", "WH"): 40.0}, latency=60, unseen=30)
    stock = {"WH": LocationStock("WH", 1, 0)}
    channels = [ChannelInput(n, ("WH",), QuantityRules(), pace=hot) for n in ("web", "amazon")]
    policy = AdaptivePolicy(risk=0.5)
    web, amazon = (adaptive_units(hot, n, ("WH",), 0.5, 10) for n in ("web", "amazon"))
    assert (web.units, amazon.units) == (1, 1)  # both would hide the last unit
    assert (web.leader, amazon.leader) == (True, False)
    result = policy.allocate(stock, channels)
    assert (result["web"].offered, result["amazon"].offered) == (1, 0)
    assert "web sells it fastest (60.00/h from WH): its last unit is never held" in (
        result["web"].steps[3].detail
    )
    # out of stock stays out of stock; a channel that sells nothing here leads nothing
    empty = policy.allocate({"WH": LocationStock("WH", 0, 0)}, channels)
    assert empty["web"].offered == 0
    assert not adaptive_units(hot, "pos", ("WH",), 0.5, 10).leader
    # equal rates: the shorter sync latency leads, then the name
    tied = Pace({("web", "WH"): 30.0, ("amazon", "WH"): 30.0}, {"web": 90, "amazon": 60}, {})
    assert adaptive_units(tied, "amazon", ("WH",), 0.5, 10).leader
    assert not adaptive_units(tied, "web", ("WH",), 0.5, 10).leader
    even = Pace({("web", "WH"): 30.0, ("amazon", "WH"): 30.0}, {"web": 60, "amazon": 60}, {})
    assert [adaptive_units(even, n, ("WH",), 0.5, 10).leader for n in ("amazon", "web")] == [True, False]


def test_the_policy_is_configured_by_name_and_refuses_bad_settings() -> None:
    policy = get_policy("adaptive", risk=0.2, max_units=3)
    assert isinstance(policy, AdaptivePolicy)
    assert (policy.risk, policy.max_units) == (0.2, 3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        AdaptivePolicy(risk=1.0)
    with pytest.raises(ValueError, match="max_units must be ≥ 0"):
        AdaptivePolicy(max_units=-1)


# ------------------------------------------------------------------ properties

LOCATIONS = ("WH", "STORE")
CHANNELS = ("web", "amazon", "pos")
rates = st.dictionaries(
    st.tuples(st.sampled_from(CHANNELS), st.sampled_from(LOCATIONS)), st.floats(0, 200), max_size=6
)
paces = st.builds(
    Pace,
    rates,
    st.dictionaries(st.sampled_from(CHANNELS), st.floats(0, 3600)),
    st.dictionaries(st.sampled_from(CHANNELS), st.floats(0, 86400)),
)
stocks = st.dictionaries(
    st.sampled_from(LOCATIONS),
    st.tuples(st.integers(0, 40), st.integers(0, 10)).map(lambda n: n),
)
channel_sets = st.lists(
    st.tuples(
        st.lists(st.sampled_from(LOCATIONS), min_size=1, max_size=2, unique=True).map(tuple),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=3,
)
drops = st.none() | st.builds(
    DropState, st.sampled_from(["web", "amazon", "other"]), st.booleans(), st.none(), st.booleans()
)


def _inputs(spec: list[tuple[tuple[str, ...], int]], p: Pace) -> list[ChannelInput]:
    return [
        ChannelInput(CHANNELS[i], sources, QuantityRules(buffer_units=units), pace=p)
        for i, (sources, units) in enumerate(spec)
    ]


def _stock(numbers: dict[str, tuple[int, int]]) -> dict[str, LocationStock]:
    return {loc: LocationStock(loc, on_hand, reserved) for loc, (on_hand, reserved) in numbers.items()}


@settings(max_examples=200, deadline=None)
@given(
    numbers=stocks,
    spec=channel_sets,
    p=paces,
    risk=st.floats(0.001, 0.999),
    most=st.integers(0, 8),
    drop=drops,
)
def test_adaptive_offers_between_zero_and_what_buffered_offers(
    numbers: dict[str, tuple[int, int]],
    spec: list[tuple[tuple[str, ...], int]],
    p: Pace,
    risk: float,
    most: int,
    drop: DropState | None,
) -> None:
    stock, channels = _stock(numbers), _inputs(spec, p)
    adaptive = AdaptivePolicy(risk=risk, max_units=most).allocate(stock, channels, drop=drop)
    buffered = BufferedPolicy().allocate(stock, channels, drop=drop)
    for c in channels:
        exposure = adaptive_units(p, c.channel, c.sources, risk, most)
        held = exposure.units
        assert 0 <= held <= most
        result = adaptive[c.channel]
        shown = buffered[c.channel].offered
        assert 0 <= result.offered <= shown <= result.pool
        # the held units come off the buffered number, nothing else changes; the fastest seller keeps
        # its last unit
        kept = min(shown, 1) if exposure.leader else 0
        assert result.offered == max(0, shown - held, kept) or drop is not None


@settings(max_examples=200, deadline=None)
@given(p=paces, extra=st.floats(0.1, 100), channel=st.sampled_from(CHANNELS), risk=st.floats(0.001, 0.5))
def test_more_sales_elsewhere_or_a_longer_lag_never_hold_fewer_units(
    p: Pace, extra: float, channel: str, risk: float
) -> None:
    before = adaptive_units(p, channel, LOCATIONS, risk, 10)
    other = next(name for name in CHANNELS if name != channel)
    busier = Pace(
        {**p.sold_per_hour, (other, "WH"): p.sold_per_hour.get((other, "WH"), 0.0) + extra},
        p.latency_s,
        p.unseen_s,
    )
    slower = Pace(
        p.sold_per_hour, {**p.latency_s, channel: p.latency_s.get(channel, 0.0) + extra}, p.unseen_s
    )
    assert adaptive_units(busier, channel, LOCATIONS, risk, 10).units >= before.units
    assert adaptive_units(slower, channel, LOCATIONS, risk, 10).units >= before.units
    assert adaptive_units(p, channel, LOCATIONS, risk / 2, 10).units >= before.units
