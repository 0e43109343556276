"""The inventory-model scenario on a short horizon: preorders sold against a purchase order and
turned into ordinary sales when it arrives, returns brought back to the store or damaged,
click-and-collect at the store and an exclusive drop, under faults; every invariant holds, with the
conservation of the damaged bucket and of the stock on order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from omnisync.simulate import load_scenario, run_async
from omnisync.simulate.scenario import Scenario

REPO = Path(__file__).resolve().parents[2]


def short() -> Scenario:
    """The shipped scenario cut to 100 minutes of trading: the purchase order arrives at 75 minutes,
    the drop runs from 30 to 90."""
    sc = load_scenario(REPO / "scenarios" / "inventory-model.yaml")
    faults = sc.faults.model_copy(update={"outage": ("shopify", 2400.0, 600.0)})
    return sc.model_copy(update={"duration": 6000.0, "settle": 900.0, "faults": faults})


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    # seed 5: on this short horizon its shoppers return some units damaged or elsewhere (seed 3's
    # stopped doing so once listings sharing a component took shares of it: other orders, other returns)
    return asyncio.run(run_async(short(), 5))


@pytest.mark.slow
def test_the_inventory_model_holds_every_invariant(result: dict[str, Any]) -> None:
    assert result["ok"], result["first_violation"]
    t, model = result["totals"], result["inventory_model"]
    assert t["orders_missing"] == t["orders_unexpected"] == t["orders_misapplied"] == 0
    assert t["conservation_violations"] == 0
    assert t["drift"] == 0
    assert t["oversold_units"] == 0
    assert t["preorder_units"] > 0, "shoppers bought ahead of the stock on order"
    assert model["on_order_units"] == 8, "PO-1 came in whole, PO-2 is still expected"
    assert model["pickups"] > 0
    assert model["damaged_units"] + model["returned_elsewhere"] > 0
    assert result["kits"]["orders"] > 0, "kits and packs were sold, through their components"


def test_the_scenario_refuses_what_a_channel_cannot_do() -> None:
    base = load_scenario(REPO / "scenarios" / "inventory-model.yaml").model_dump()
    shop = base["channels"]["shopify"]
    with pytest.raises(ValueError, match="click-and-collect is a walk-in POS"):
        Scenario.model_validate(
            {**base, "channels": {**base["channels"], "shopify": {**shop, "pickup": 0.5}}}
        )
    pos = base["channels"]["pos"]
    with pytest.raises(ValueError, match="Square has no preorder signal"):
        Scenario.model_validate(
            {**base, "channels": {**base["channels"], "pos": {**pos, "preorder_limit": 2}}}
        )
    order = {**base["purchase_orders"][0], "skus": ["SKU-9999"]}
    with pytest.raises(ValueError, match="SKU-9999 is not in the catalogue"):
        Scenario.model_validate({**base, "purchase_orders": [order]})
