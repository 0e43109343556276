"""The typed SDK: operations are checked, settings are typed, the kit's pieces are exported."""

import pytest

import omnisync.testing as testing
from omnisync.clock import VirtualClock
from omnisync.http.budget import RateBudgets
from omnisync.sdk import (
    Connector,
    ConnectorSettings,
    FatalError,
    Limits,
    Operation,
    check_operation,
    op,
)


def test_a_string_from_yaml_is_the_standard_operation() -> None:
    assert check_operation("push_inventory") is Operation.PUSH_INVENTORY
    assert op("pull_orders") == {"omnisync.operation": "pull_orders"}
    assert op(Operation.PUSH_PRICES, deferrable=True)["omnisync.deferrable"] is True


def test_a_misspelt_operation_is_an_error_not_a_default() -> None:
    with pytest.raises(ValueError, match=r"'push_inventry'.*did you mean 'push_inventory'"):
        op("push_inventry")
    with pytest.raises(ValueError, match="non-empty"):
        check_operation("")


def test_an_undeclared_operation_fails_at_the_budget() -> None:
    class Own(Connector):
        name = "own"
        operations = frozenset({"token"})

    budgets = RateBudgets(Limits(), VirtualClock(), operations=Own.known_operations())
    assert budgets.bucket("token") is budgets.bucket("token")
    assert budgets.bucket("push_inventory")
    with pytest.raises(FatalError, match="undeclared operation 'tokens'"):
        budgets.bucket("tokens")


def test_declaring_a_standard_operation_as_own_is_an_error_at_class_load() -> None:
    with pytest.raises(TypeError, match="standard Operation"):

        class Bad(Connector):
            name = "bad"
            operations = frozenset({"push_inventory"})

    with pytest.raises(ValueError, match="did you mean"):

        class Typo(Connector):
            name = "typo"
            operations = frozenset({"pull_order"})


def test_settings_are_typed_by_the_generic_parameter() -> None:
    class MySettings(ConnectorSettings):
        shop: str

    class Mine(Connector[MySettings]):
        name = "mine"
        Settings = MySettings

    assert Mine.Settings is MySettings


def test_testing_exports_the_authors_pieces() -> None:
    assert testing.VirtualClock is VirtualClock
    for name in testing.__all__:
        assert getattr(testing, name) is not None
