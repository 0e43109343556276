"""The frontier benchmark's event analysis (``benchmarks/frontier.py``) on places made by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def frontier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("frontier", ROOT / "benchmarks" / "frontier.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["frontier"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_last_unit_sold_twice_within_the_lag_is_a_race_and_one_sold_alone_is_not(
    frontier: ModuleType,
) -> None:
    Sale, Place = frontier.Sale, frontier.Place
    raced = Place(
        "A",
        "WH",
        (Sale(100.0, "shopify", 1, 0), Sale(107.0, "instagram", 1, 1)),
        ((0.0, 1),),
    )
    alone = Place("B", "WH", (Sale(50.0, "amazon", 2, 0),), ((0.0, 2),))
    walk_in = Place("C", "STORE", (Sale(10.0, "pos", 1, 0),), ((0.0, 1),))
    late = Place("D", "WH", (Sale(0.0, "shopify", 1, 0), Sale(500.0, "shopify", 1, 1)), ((0.0, 1),))
    out = frontier.analyse([raced, alone, walk_in, late], lag_s=120.0)
    assert (out["short_units"], out["short_in_races"]) == (2, 1)
    assert out["gaps_s"] == [7.0, 500.0]
    assert out["last_unit_sales_raced"] == 1
    assert out["hidden_cost"] == 2, "B's and D's first sale: online, no sale followed within the lag"
