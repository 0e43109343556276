from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync.pricing import PriceResult, PriceRules, PriceStep, minor_units, parse_rounding, price_for

D = Decimal


def test_worked_example_markup_add_convert_round() -> None:
    rules = PriceRules(
        markup_percent=D(10), fixed_add=D("0.50"), currency="KRW", rate=D("1450.25"), rounding="100"
    )
    result = price_for(D("19.90"), "EUR", rules)
    # 19.90 × 1.10 = 21.89; + 0.50 = 22.39; × 1450.25 = 32471.0975 -> 32471 KRW -> nearest 100
    assert result.price == D("32500")
    assert result.currency == "KRW"
    assert [(s.rule, s.value) for s in result.steps] == [
        ("master", D("19.90")),
        ("markup", D("21.89")),
        ("fixed_add", D("22.39")),
        ("currency", D("32471.0975")),
        ("minor_units", D("32471")),
        ("rounding", D("32500")),
    ]
    assert result.steps[3].detail == "× 1450.25 KRW per EUR"


@pytest.mark.parametrize(
    ("price", "rounding", "expected"),
    [
        ("10.20", ".99", "10.99"),
        ("10.99", ".99", "10.99"),
        ("11.00", ".99", "11.99"),
        ("10.996", ".99", "11.99"),  # minor units first: 10.996 -> 11.00 -> 11.99
        ("10.20", ".95", "10.95"),
        ("10.20", ".00", "11.00"),
        ("10.00", "whole", "10.00"),
        ("10.20", "1", "10.00"),
        ("10.50", "1", "11.00"),
        ("10.12", "0.05", "10.10"),
        ("10.13", "0.05", "10.15"),
    ],
)
def test_rounding_in_eur(price: str, rounding: str, expected: str) -> None:
    assert price_for(D(price), "EUR", PriceRules(rounding=rounding)).price == D(expected)


@pytest.mark.parametrize(("price", "expected"), [("13049", "13000"), ("13050", "13100"), ("40", "0")])
def test_nearest_100_for_krw(price: str, expected: str) -> None:
    assert price_for(D(price), "KRW", PriceRules(rounding="100")).price == D(expected)


def test_zero_decimal_currencies_round_to_whole_units() -> None:
    result = price_for(D("10"), "EUR", PriceRules(currency="JPY", rate=D("162.437")))
    assert result.price == D("1624")
    assert str(result.price) == "1624"
    assert minor_units("JPY") == minor_units("KRW") == 0
    assert minor_units("KWD") == 3
    assert minor_units("USD") == 2


def test_ending_that_the_currency_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'.99' needs 2 decimals but JPY has 0"):
        price_for(D("100"), "JPY", PriceRules(rounding=".99"))


def test_floor_and_ceiling_apply_after_rounding() -> None:
    floored = price_for(D("5.00"), "EUR", PriceRules(rounding=".99", floor=D("7.50")))
    assert floored.price == D("7.50")
    assert floored.steps[-1] == PriceStep("floor", "raised to the floor 7.50", D("7.50"))
    clamped = price_for(D("20.10"), "EUR", PriceRules(rounding=".99", ceiling=D("20.50")))
    assert clamped.price == D("20.50")
    assert clamped.steps[-1].detail == "20.99 clamped to the ceiling 20.50; the .99 rounding is lost"


def test_override_skips_the_chain_but_keeps_the_target_currency() -> None:
    rules = PriceRules(markup_percent=D(50), rounding=".99", currency="USD", rate=D("1.1"), override=D("9.5"))
    result = price_for(D("100"), "EUR", rules)
    assert result == PriceResult(
        D("9.50"),
        "USD",
        (PriceStep("override", "fixed price 9.50 USD for this SKU (rule chain skipped)", D("9.50")),),
    )
    with pytest.raises(ValueError, match="more decimals than JPY"):
        price_for(D("100"), "JPY", PriceRules(override=D("9.5")))


def test_compare_at_price() -> None:
    result = price_for(D("10.20"), "EUR", PriceRules(rounding=".99", compare_at_percent=D(30)))
    assert (result.price, result.compare_at) == (D("10.99"), D("14.99"))
    none = price_for(D("13000"), "KRW", PriceRules(rounding="100", compare_at_percent=D("0.1")))
    assert none.compare_at is None


@pytest.mark.parametrize(
    "build",
    [
        lambda: price_for(10.0, "EUR", PriceRules()),  # type: ignore[arg-type]
        lambda: PriceRules(markup_percent=10.0),  # type: ignore[arg-type]
        lambda: PriceRules(floor=1.5),  # type: ignore[arg-type]
        lambda: PriceRules(markup_percent="10"),  # type: ignore[arg-type]
    ],
)
def test_floats_are_refused(build: object) -> None:
    with pytest.raises(TypeError, match="never a float"):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PriceRules(rounding=".999x"), "not understood"),
        (lambda: PriceRules(rounding="0"), "not understood"),
        (lambda: PriceRules(currency="eur"), "ISO 4217"),
        (lambda: PriceRules(rate=D(2)), "no target currency"),
        (lambda: PriceRules(currency="USD", rate=D(0)), "rate must be > 0"),
        (lambda: PriceRules(floor=D(5), ceiling=D(4)), "above ceiling"),
        (lambda: PriceRules(markup_percent=D(-101)), "≥ −100"),
        (lambda: price_for(D(10), "EUR", PriceRules(currency="USD")), "needs a rate"),
        (lambda: price_for(D(10), "EUR", PriceRules(fixed_add=D(-20))), "negative"),
        (lambda: price_for(D(-1), "EUR", PriceRules()), "master_price must be ≥ 0"),
    ],
)
def test_invalid_rules_are_refused(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_merged_ignores_unset_values() -> None:
    base = PriceRules(markup_percent=D(10), rounding=".99")
    assert base.merged(markup_percent=D(-20), rounding=None) == PriceRules(
        markup_percent=D(-20), rounding=".99"
    )
    with pytest.raises(TypeError, match="unknown price rule"):
        base.merged(discount=D(1))


def test_parse_rounding_kinds() -> None:
    assert parse_rounding(".99").kind == "ending"
    assert parse_rounding("whole").amount == 0
    assert parse_rounding("100").kind == "step"


# ------------------------------------------------------------------ properties

money = st.decimals(min_value=0, max_value=100_000, places=2)
percent = st.decimals(min_value=-50, max_value=200, places=1)
endings = st.sampled_from([".99", ".95", ".00", "whole", ".9"])


def _walk_decimals(result: PriceResult) -> list[object]:
    return [result.price, result.compare_at, *(step.value for step in result.steps)]


@settings(max_examples=200, deadline=None)
@given(price=money, markup=percent, add=st.decimals(0, 10, places=2), ending=endings)
def test_endings_hold_and_never_lower_the_price(
    price: Decimal, markup: Decimal, add: Decimal, ending: str
) -> None:
    rules = PriceRules(markup_percent=markup, fixed_add=add, rounding=ending)
    unrounded = price_for(price, "EUR", PriceRules(markup_percent=markup, fixed_add=add)).price
    result = price_for(price, "EUR", rules)
    wanted = parse_rounding(ending).amount
    assert result.price - result.price.to_integral_value(rounding="ROUND_FLOOR") == wanted
    assert unrounded <= result.price < unrounded + 1
    assert result.price.as_tuple().exponent == -2
    assert all(v is None or isinstance(v, Decimal) for v in _walk_decimals(result))


@settings(max_examples=200, deadline=None)
@given(
    price=money,
    markup=percent,
    rate=st.decimals(min_value=D("0.01"), max_value=2000, places=2),
    step=st.sampled_from(["1", "10", "100", "1000"]),
)
def test_steps_hold_in_krw(price: Decimal, markup: Decimal, rate: Decimal, step: str) -> None:
    result = price_for(
        price, "EUR", PriceRules(markup_percent=markup, currency="KRW", rate=rate, rounding=step)
    )
    assert result.price % D(step) == 0
    assert result.price.as_tuple().exponent == 0
    assert all(v is None or isinstance(v, Decimal) for v in _walk_decimals(result))


@settings(max_examples=200, deadline=None)
@given(
    price=money,
    markup=percent,
    rounding=st.none() | endings | st.sampled_from(["1", "0.05"]),
    bounds=st.tuples(st.none() | money, st.none() | money),
    compare=st.none() | st.decimals(0, 100, places=0),
)
def test_floor_and_ceiling_are_respected(
    price: Decimal,
    markup: Decimal,
    rounding: str | None,
    bounds: tuple[Decimal | None, Decimal | None],
    compare: Decimal | None,
) -> None:
    floor, ceiling = bounds
    if floor is not None and ceiling is not None and floor > ceiling:
        floor, ceiling = ceiling, floor
    rules = PriceRules(
        markup_percent=markup, rounding=rounding, floor=floor, ceiling=ceiling, compare_at_percent=compare
    )
    result = price_for(price, "EUR", rules)
    assert floor is None or result.price >= floor
    assert ceiling is None or result.price <= ceiling
    assert result.price >= 0
    assert result.compare_at is None or result.compare_at > result.price
    assert all(v is None or isinstance(v, Decimal) for v in _walk_decimals(result))


def test_the_master_step_reads_as_money() -> None:
    """``explain`` showed "master: 12.0000 EUR" (the ledger keeps four decimals)."""
    rules = PriceRules()
    assert price_for(D("12.0000"), "EUR", rules).steps[0].detail == "12.00 EUR"
    assert price_for(D("12.3450"), "EUR", rules).steps[0].detail == "12.345 EUR"
    assert price_for(D("1500.0000"), "JPY", rules).steps[0].detail == "1500 JPY"
