"""The kits scenario on a short horizon: kits and packs sold beside their components on the fenced
layout, every fault on; every invariant holds (conservation over the components, every kit order
applied to its components exactly once) and nothing is oversold."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from omnisync.simulate import load_scenario, run_async
from omnisync.simulate.scenario import Scenario

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_kits_scenario_holds_every_invariant_and_oversells_nothing() -> None:
    sc = load_scenario(REPO / "scenarios" / "kits.yaml")
    sc = sc.model_copy(update={"duration": 3600.0, "settle": 900.0})
    result = asyncio.run(run_async(sc, 1))
    assert result["ok"], result["first_violation"]
    assert result["kits"]["orders"] > 0, "kits were sold"
    assert result["kits"]["oversold_component_units"] == 0
    assert result["totals"]["oversold_units"] == 0
    assert result["totals"]["conservation_violations"] == result["totals"]["orders_misapplied"] == 0


def test_a_nested_or_unknown_kit_in_a_scenario_is_refused() -> None:
    base = load_scenario(REPO / "scenarios" / "kits.yaml").model_dump()
    with pytest.raises(
        ValueError, match="kits: BIG: component 'GIFT-TRIO' is a kit \\(kits cannot be nested\\)"
    ):
        Scenario.model_validate({**base, "kits": {**base["kits"], "BIG": {"GIFT-TRIO": 1}}})
    with pytest.raises(ValueError, match="kits: X: component 'SKU-0099' is not in the catalogue"):
        Scenario.model_validate({**base, "kits": {"X": {"SKU-0099": 1}}})
