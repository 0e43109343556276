import math

import pytest

from omnisync.replenishment import (
    Policy,
    SupplierTerms,
    daily_demand,
    day_weight,
    days_of_cover,
    demand,
    demand_from_sums,
    order_quantity,
    safety_stock,
    suggest,
    weighted_stddev,
    weighted_velocity,
)


def test_steady_demand_has_its_rate_and_no_variability() -> None:
    assert weighted_velocity([4] * 30, 7) == pytest.approx(4)
    assert weighted_stddev([4] * 30, 7) == pytest.approx(0)


def test_recent_days_weigh_more_than_old_ones() -> None:
    rising = [0] * 20 + [10] * 7
    falling = [10] * 7 + [0] * 20
    assert weighted_velocity(rising, 7) > 5 > weighted_velocity(falling, 7)
    # one half-life back counts half as much as today
    assert weighted_velocity([0, 0, 0, 0, 0, 0, 0, 8], 7) == pytest.approx(
        8 / sum(0.5 ** (i / 7) for i in range(8))
    )


def test_no_history_sells_nothing_and_cover_is_unbounded() -> None:
    assert weighted_velocity([], 7) == 0
    assert days_of_cover(12, 0) is None
    assert days_of_cover(12, 3) == pytest.approx(4)


def test_safety_stock_follows_service_level_and_lead_time() -> None:
    assert safety_stock(2.0, 4, 0.95) == pytest.approx(1.6449 * 2 * 2, rel=1e-3)
    assert safety_stock(2.0, 4, 0.99) > safety_stock(2.0, 4, 0.95)
    assert safety_stock(0.0, 9, 0.99) == 0


@pytest.mark.parametrize(
    ("need", "moq", "pack", "expected"),
    [
        (0, 10, 6, 0),
        (-3, 1, 1, 0),
        (3.2, 1, 1, 4),
        (3, 10, 1, 10),
        (11, 10, 6, 12),
        (3, 10, 6, 12),
        (12, 1, 6, 12),
    ],
)
def test_order_quantity_respects_moq_then_packs(need: float, moq: int, pack: int, expected: int) -> None:
    assert order_quantity(need, moq, pack) == expected


def test_below_reorder_point_orders_up_to_target_in_packs() -> None:
    s = suggest([5] * 28, on_hand=10, incoming=0, terms=SupplierTerms(lead_time_days=3, moq=20, pack=12))
    assert s.reorder_point == 15  # 5/day × 3 d, steady demand → no safety stock
    assert s.days_of_cover == pytest.approx(2)
    # target 15 + 5 × 7 = 50, need 40, MOQ 20 ok, packs of 12 → 48
    assert s.quantity == 48
    assert s.reorder_now
    assert [st.rule for st in s.steps][-1] == "order"


def test_incoming_stock_counts_toward_the_position() -> None:
    terms = SupplierTerms(lead_time_days=3)
    assert suggest([5] * 28, on_hand=10, incoming=0, terms=terms).quantity == 40
    covered = suggest([5] * 28, on_hand=10, incoming=30, terms=terms)
    assert covered.position == 40
    assert covered.quantity == 0
    assert covered.steps[-1].rule == "no order"


def test_variable_demand_raises_the_reorder_point() -> None:
    terms = SupplierTerms(lead_time_days=4)
    steady = suggest([5] * 28, on_hand=100, incoming=0, terms=terms)
    lumpy = suggest([0, 10] * 14, on_hand=100, incoming=0, terms=terms)
    assert lumpy.safety_stock > steady.safety_stock == 0
    assert lumpy.reorder_point > steady.reorder_point
    sigma = weighted_stddev([0, 10] * 14, 7)
    v = weighted_velocity([0, 10] * 14, 7)
    assert lumpy.reorder_point == math.ceil(v * 4 + 1.6449 * sigma * 2 - 1e-3)


def test_a_sku_that_does_not_sell_is_never_ordered() -> None:
    s = suggest([0] * 28, on_hand=0, incoming=0, terms=SupplierTerms(lead_time_days=5, moq=10))
    assert s.quantity == 0
    assert s.steps[-1].detail == "no sales"


def test_bad_terms_are_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match="moq"):
        SupplierTerms(lead_time_days=3, moq=0)
    with pytest.raises(ValueError, match="lead_time_days"):
        SupplierTerms(lead_time_days=-1)
    with pytest.raises(ValueError, match="service_level"):
        Policy(service_level=1.0)


def test_sparse_history_is_the_dense_one() -> None:
    dense = [0] * 50 + [3, 0, 0, 7, 0, 2]
    sparse = {5: 3, 2: 7, 0: 2}
    got, want = demand(sparse, 56, 7), daily_demand(dense, 7)
    assert got.velocity == pytest.approx(want.velocity)
    assert got.sigma == pytest.approx(want.sigma)
    # the sums a database makes give the same demand
    first = sum(day_weight(a, 7) * u for a, u in sparse.items())
    second = sum(day_weight(a, 7) * u * u for a, u in sparse.items())
    assert demand_from_sums(first, second, 56, 7).sigma == pytest.approx(want.sigma)


@pytest.mark.parametrize("units", [1, 3, 7, 13, 250])
def test_steady_demand_has_no_safety_stock_whatever_the_rate(units: int) -> None:
    s = suggest([units] * 56, on_hand=0, incoming=0, terms=SupplierTerms(lead_time_days=13))
    assert s.safety_stock == 0
    assert s.reorder_point == units * 13
