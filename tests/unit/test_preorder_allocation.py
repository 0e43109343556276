"""Preorders in the allocation arithmetic: units offered against stock on order, within the channel's
limit, never on the pool; and, over any sequence of sales, receipts and purchase orders, a channel
never sells more ahead of stock than its limit."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync.allocation import (
    BufferedPolicy,
    ChannelInput,
    LocationStock,
    QuantityRules,
    allocate_channel,
    preorder_units,
)
from omnisync.drops import DropState

EXPECTED = date(2026, 12, 20)


def web(limit: int | None, **rules: int) -> ChannelInput:
    return ChannelInput("web", ("WH", "STORE"), QuantityRules(preorder_limit=limit, **rules))


def test_without_a_limit_stock_on_order_is_never_offered() -> None:
    stock = {"WH": LocationStock("WH", 0, 0, incoming=50, expected=EXPECTED)}
    allocation = allocate_channel(stock, web(None))
    assert (allocation.offered, allocation.preorder, allocation.expected) == (0, 0, None)
    assert "preorder" not in [s.rule for s in allocation.steps]


def test_preorders_draw_on_stock_on_order_up_to_the_limit_beside_the_pool() -> None:
    stock = {
        "WH": LocationStock("WH", 3, 1, incoming=20, expected=EXPECTED),
        "STORE": LocationStock("STORE", 0, 0, incoming=5, expected=date(2027, 1, 5)),
    }
    allocation = allocate_channel(stock, web(8, buffer_units=1))
    # the pool: 3 - 1 = 2, less 1 buffer unit = 1 on hand; then min(25 on order, 8) = 8 on preorder
    assert (allocation.offered, allocation.preorder, allocation.expected) == (9, 8, EXPECTED)
    step = next(s for s in allocation.steps if s.rule == "preorder")
    assert step.detail == (
        "25 on order, expected 2026-12-20; limit 8; 0 already sold ahead of stock: "
        "min(25, 8) − 0 = 8 on preorder"
    )
    assert allocation.steps[-1].value == 9


def test_units_sold_ahead_of_stock_use_up_the_limit() -> None:
    # 6 reserved against 2 on hand: 4 sold ahead of the 10 on order
    stock = {"WH": LocationStock("WH", 2, 6, incoming=10, expected=EXPECTED)}
    allocation = allocate_channel(stock, web(5))
    assert (allocation.offered, allocation.preorder) == (1, 1)
    full = allocate_channel({"WH": LocationStock("WH", 2, 7, incoming=10)}, web(5))
    assert (full.offered, full.preorder, full.expected) == (0, 0, None)


def test_a_closed_drop_takes_the_preorder_offer_away_too() -> None:
    stock = {"WH": LocationStock("WH", 0, 0, incoming=10, expected=EXPECTED)}
    closed = DropState(channel="web", exclusive=True, open=False, window=None)
    allocation = BufferedPolicy().allocate(stock, [web(4)], drop=closed)["web"]
    assert (allocation.offered, allocation.preorder, allocation.expected) == (0, 0, None)


@st.composite
def events(draw: st.DrawFn) -> list[tuple[str, int]]:
    kinds = st.sampled_from(["sell", "sell", "sell", "order", "receive", "cancel"])
    return draw(st.lists(st.tuples(kinds, st.integers(min_value=1, max_value=6)), max_size=40))


@settings(max_examples=300, deadline=None)
@given(
    limit=st.integers(min_value=0, max_value=12),
    on_hand=st.integers(min_value=0, max_value=5),
    incoming=st.integers(min_value=0, max_value=15),
    script=events(),
)
def test_preorders_never_exceed_the_limit(
    limit: int, on_hand: int, incoming: int, script: list[tuple[str, int]]
) -> None:
    """Shoppers buy at most what the channel offers; the merchant orders more, receives some of it,
    customers cancel. Units sold ahead of stock (reservations beyond the on-hand) never exceed the
    limit, nor the stock on order; a receipt turns them into ordinary reservations, counted once."""
    reserved = 0
    for kind, units in script:
        allocation = allocate_channel({"WH": LocationStock("WH", on_hand, reserved, incoming)}, web(limit))
        assert allocation.preorder <= limit
        assert allocation.offered == max(0, on_hand - reserved) + allocation.preorder
        if kind == "sell":
            reserved += min(units, allocation.offered)  # a shopper takes at most what is shown
        elif kind == "order":
            incoming += units
        elif kind == "receive":
            received = min(units, incoming)
            incoming, on_hand = incoming - received, on_hand + received
        elif kind == "cancel":
            reserved -= min(units, reserved)
        ahead = max(0, reserved - on_hand)
        assert ahead <= limit
        assert ahead <= incoming  # every unit sold ahead has a unit on order waiting for it
        assert preorder_units([(on_hand, reserved, incoming)], limit) + ahead <= limit
