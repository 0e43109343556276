"""The simulation with Amazon's notifications on (its queue's messages lost, duplicated, reordered and
delayed like webhooks), beside a web store, every API fault on: every invariant holds."""

from __future__ import annotations

from typing import Any

import pytest

from omnisync.simulate import run_async, small_scenario
from omnisync.simulate.scenario import CatalogueSpec, ChannelSpec, Scenario


def amazon_hour(notifications: bool) -> Scenario:
    sc = small_scenario(
        {
            "web": ChannelSpec(kind="fake", sources=["WH"], weight=1.0, pull_every=60.0, push_every=60.0),
            "amazon": ChannelSpec(
                kind="amazon",
                sources=["WH"],
                weight=3.0,
                pull_every=120.0,
                push_every=60.0,
                webhooks=notifications,
            ),
        }
    )
    faults = sc.faults.model_copy(
        update={"outage": None, "webhook_lost": 0.2, "webhook_duplicated": 0.2, "webhook_reordered": 0.2}
    )
    return sc.model_copy(
        update={
            "name": "amazon-hour",
            "duration": 3600.0,
            "settle": 900.0,
            "faults": faults,
            "catalogue": CatalogueSpec(
                skus=8, popular_per_hour=6.0, slow_per_hour=1.5, stock={"WH": (5, 15)}
            ),
        }
    )


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    import asyncio

    return asyncio.run(run_async(amazon_hour(True), 5))


@pytest.mark.slow
def test_invariants_hold_with_amazon_notifications_and_their_faults(run: dict[str, Any]) -> None:
    assert run["ok"], run["first_violation"]
    t = run["totals"]
    assert t["orders_missing"] == t["orders_unexpected"] == t["orders_misapplied"] == 0
    assert t["conservation_violations"] == 0
    assert t["drift"] == 0
    amazon = run["channels"]["amazon"]
    assert amazon["orders"] >= 20
    assert amazon["webhooks_sent"] > 2 * amazon["orders"], "an ORDER_CHANGE and a quantity change each"
    assert amazon["webhooks_lost"] > 0
    assert amazon["webhooks_duplicated"] > 0
    assert amazon["webhooks_reordered"] > 0
    assert amazon["webhooks_delivered"] > 0
