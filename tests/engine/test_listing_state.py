"""The pure transitions of a listing's channel state (omnisync.engine.listing_state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from omnisync.engine import listing_state as ls
from omnisync.sdk.models import Decrements, ItemResult, Order, OrderLine, OrderStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Item:  # the fields of PlannedItem the transitions read
    quantity: int | None
    previous: int | None
    version: int
    available: bool | None = True
    price: Decimal | None = None
    preorder: None = None
    mark: int | None = 3


@dataclass
class Before:
    quantity: int
    fulfilled: int
    cancelled: int
    restocked: int


def order(placed: datetime, updated: datetime | None = None) -> Order:
    return Order("o1", OrderStatus.OPEN, updated or placed, (), created_at=placed)


def test_exact_accept_settles_at_the_planned_version() -> None:
    change = ls.pushed(Item(5, 8, version=3), ItemResult.accepted("A", 5), verified=False, at=T0)  # type: ignore[arg-type]
    # unverified: the absolute value overwrote whatever the channel held, its own sales included
    assert change == ls.Acknowledged(
        at=T0, settled_at=3, mark=3, quantity=5, available=True, since=None, overwrote=True, preorder=""
    )


def test_verified_exact_accept_moves_relative_to_previous() -> None:
    change = ls.pushed(Item(5, 8, version=3), ItemResult.accepted("A", None), verified=True, at=T0)  # type: ignore[arg-type]
    assert (change.quantity, change.since, change.settled_at) == (5, 8, 3)
    assert not change.overwrote, "a verified push moved from what the channel held: nothing was lost"


def test_a_different_answer_is_the_channels_own_value_and_is_planned_again() -> None:
    change = ls.pushed(Item(5, 8, version=3), ItemResult.accepted("A", 4), verified=True, at=T0)  # type: ignore[arg-type]
    assert (change.quantity, change.since, change.settled_at) == (4, None, None)


def test_price_and_replay_and_observation() -> None:
    item = Item(None, None, version=7, price=Decimal("9.50"))
    assert ls.price_pushed(item, at=T0) == ls.Acknowledged(at=T0, settled_at=7, mark=3, price=Decimal("9.50"))  # type: ignore[arg-type]
    assert ls.replayed(3, at=T0) == ls.Acknowledged(at=T0, settled_at=None, quantity=3)
    assert ls.observed(None, at=T0) == ls.Observed(quantity=None, at=T0)


@pytest.mark.parametrize(
    ("mode", "line", "before", "units"),
    [
        (Decrements.NEVER, OrderLine("1", "A", 3), None, 0),
        (Decrements.ON_ORDER, OrderLine("1", "A", 3), None, 3),
        (Decrements.ON_ORDER, OrderLine("1", "A", 3, cancelled=1), Before(3, 0, 0, 0), -1),
        (Decrements.ON_ORDER, OrderLine("1", "A", 3, fulfilled=3), Before(3, 0, 0, 0), 0),
        (Decrements.ON_FULFILMENT, OrderLine("1", "A", 3), None, 0),
        (Decrements.ON_FULFILMENT, OrderLine("1", "A", 3, fulfilled=2), Before(3, 0, 0, 0), 2),
        (Decrements.ON_FULFILMENT, OrderLine("1", "A", 3, fulfilled=3, restocked=1), Before(3, 3, 0, 0), -1),
    ],
)
def test_own_shift(mode: Decrements, line: OrderLine, before: Before | None, units: int) -> None:
    assert ls.own_shift(mode, line, before) == units


def test_imported_skips_what_the_last_read_already_holds() -> None:
    line = OrderLine("1", "A", 2)
    read = T0
    # never read live: the record moves
    assert ls.imported(Decrements.ON_ORDER, order(T0), line, None, None) == 2
    # placed before the read (or within the margin after it): already in the read
    assert ls.imported(Decrements.ON_ORDER, order(T0 - timedelta(minutes=1)), line, None, read) == 0
    assert ls.imported(Decrements.ON_ORDER, order(T0 + ls.REFLECTION_MARGIN), line, None, read) == 0
    # placed surely after the read
    later = T0 + ls.REFLECTION_MARGIN + timedelta(seconds=1)
    assert ls.imported(Decrements.ON_ORDER, order(later), line, None, read) == 2


def test_units_put_back_count_as_read_only_when_surely_before_the_read() -> None:
    line = OrderLine("1", "A", 2, cancelled=2)
    before = Before(2, 0, 0, 0)
    placed = T0 - timedelta(hours=1)
    surely_before = order(placed, T0 - ls.REFLECTION_MARGIN - timedelta(seconds=1))
    assert ls.imported(Decrements.ON_ORDER, surely_before, line, before, T0) == 0
    near = order(placed, T0 - ls.REFLECTION_MARGIN)
    assert ls.imported(Decrements.ON_ORDER, near, line, before, T0) == -2
