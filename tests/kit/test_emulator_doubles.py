"""One emulator double per channel kind, found through the ``omnisync.emulators`` entry points."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omnisync.testing.doubles import build_double, emulator_double, emulator_kinds
from omnisync.testing.harness import SeedItem

KINDS = ["fake", "shopify", "amazon", "square", "instagram"]


def test_every_built_in_kind_has_a_double() -> None:
    assert set(KINDS) <= set(emulator_kinds())


def test_an_unknown_kind_is_named_in_one_line() -> None:
    with pytest.raises(LookupError, match="no emulator double named 'nope'"):
        emulator_double("nope")


@pytest.mark.parametrize("kind", KINDS)
def test_buy_then_cancel_puts_the_units_back_once(kind: str) -> None:
    double = build_double(kind)
    double.seed([SeedItem("SKU-1", 5, Decimal("9.99"))])
    order = double.buy("SKU-1", 2)
    assert double.cancel(order)
    assert double.shown_quantity("SKU-1") == 5
    assert not double.cancel(order)  # a cancelled order is not open any more
    assert double.shown_quantity("SKU-1") == 5


@pytest.mark.parametrize("kind", ["fake", "shopify", "square"])
def test_a_restocked_return_puts_the_units_back(kind: str) -> None:
    double = build_double(kind)
    double.seed([SeedItem("SKU-1", 5, Decimal("9.99"))])
    order = double.buy("SKU-1", 2, walk_in=True)
    double.fulfil(order)
    assert double.give_back(order, "SKU-1", 1, restock=True) is not None
    assert double.shown_quantity("SKU-1") == 4


@pytest.mark.parametrize("kind", ["shopify", "amazon", "square", "instagram"])
def test_settings_for_an_endpoint_point_at_it(kind: str) -> None:
    settings = build_double(kind).endpoint_settings("http://127.0.0.1:9999")
    assert "http://127.0.0.1:9999" in {str(v) for v in settings.values()}


def test_the_fake_sends_one_webhook_per_state_of_an_order() -> None:
    double = build_double("fake")
    double.seed([SeedItem("SKU-1", 5, Decimal("9.99"))])
    order = double.buy("SKU-1", 1)
    first = double.webhook(order)
    double.clock.advance(1)
    double.fulfil(order)
    assert first is not None
    assert double.webhook(order) != first
