"""Calculated query cost, the emulator's bucket answers and the client's model of the bucket."""

from __future__ import annotations

import httpx
import pytest
from graphql import parse
from omnisync_connectors.shopify import ShopifyConnector
from omnisync_connectors.shopify import documents as docs
from omnisync_connectors.shopify.emulator import ShopifyEmulator
from omnisync_connectors.shopify.emulator_graphql import subset_schema
from omnisync_connectors.shopify.querycost import query_cost
from omnisync_connectors.shopify.throttle import CostBucket

from omnisync.clock import VirtualClock


def _cost(query: str, variables: dict | None = None, data: dict | None = None) -> int:
    return query_cost(subset_schema(), parse(query), variables or {}, data=data)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('{ location(id: "gid://shopify/Location/1") { id name isActive } }', 1),  # object 1, scalars 0
        ("{ productVariants(first: 10) { nodes { id sku } } }", 2 + 10 * 1),  # connection: 2 + first × node
        (
            "{ productVariants(first: 10) { edges { node { id product { id } } } "
            "pageInfo { hasNextPage } } }",
            2 + 10 * 2,
        ),
        (
            '{ nodes(ids: ["a", "b", "c"]) { ... on InventoryItem { id '
            'inventoryLevel(locationId: "l") { id } } } }',
            3 * 2,
        ),  # a node list costs each node
        (
            'mutation { productVariantsBulkUpdate(productId: "p", variants: []) '
            "{ product { id } userErrors { code } } }",
            10,
        ),  # mutations cost 10 whatever they select
    ],
)
def test_requested_cost_follows_the_documented_rules(query: str, expected: int) -> None:
    assert _cost(query) == expected


def test_actual_cost_counts_what_came_back() -> None:
    query = "{ productVariants(first: 50) { nodes { id product { id } } } }"
    data = {"productVariants": {"nodes": [{"id": "1", "product": {"id": "p"}}] * 3}}
    assert _cost(query) == 2 + 50 * 2
    assert _cost(query, data=data) == 2 + 3 * 2


def test_the_emulator_answers_throttled_when_the_bucket_cannot_cover_the_request() -> None:
    emulator = ShopifyEmulator(VirtualClock(), bucket_size=100)
    emulator.seed("A", 1)
    variables = {"first": 100, "query": 'sku:"A"', "locationId": emulator.locations["warehouse"]}
    body = emulator.answer(docs.VARIANTS_BY_SKU, variables)  # requests 502 points of a 100-point bucket
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "data" not in body
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (502, None)
    assert cost["throttleStatus"] == {
        "maximumAvailable": 100,
        "currentlyAvailable": 100,
        "restoreRate": 100.0,
    }


def test_the_emulator_refunds_the_difference_to_the_actual_cost() -> None:
    clock = VirtualClock()
    emulator = ShopifyEmulator(clock)
    emulator.seed("A", 1)
    variables = {"first": 100, "query": 'sku:"A"', "locationId": emulator.locations["warehouse"]}
    cost = emulator.answer(docs.VARIANTS_BY_SKU, variables)["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (502, 2 + 5)
    assert cost["throttleStatus"]["currentlyAvailable"] == 2000 - 7


def test_a_query_over_the_single_query_maximum_is_refused_before_it_runs() -> None:
    body = ShopifyEmulator(VirtualClock()).answer(docs.ORDERS, {"first": 10})
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_classify_advises_the_points_needed_over_the_restore_rate() -> None:
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 250,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 2000.0,
                    "currentlyAvailable": 50,
                    "restoreRate": 100.0,
                },
            }
        },
    }
    advice = ShopifyConnector.classify(httpx.Response(200, json=throttled))
    assert advice is not None
    assert advice.throttled
    assert advice.delay == pytest.approx(2.0)
    assert ShopifyConnector.classify(httpx.Response(200, json={"data": {}})) is None
    assert ShopifyConnector.classify(httpx.Response(200, text="not json")) is None


def test_the_client_bucket_restores_and_adopts_what_the_shop_reports() -> None:
    bucket = CostBucket.full(2000, 100, now=0.0)
    bucket.spend(1995, now=0.0)
    assert bucket.wait_time(10, now=0.0) == pytest.approx(0.0501)
    assert bucket.wait_time(10, now=1.0) == 0.0
    bucket.observe({"maximumAvailable": 1000.0, "currentlyAvailable": 20, "restoreRate": 50.0}, now=1.0)
    assert (bucket.maximum, bucket.restore_rate) == (1000.0, 50.0)
    assert bucket.wait_time(30, now=1.0) == pytest.approx(0.2002)
    assert bucket.level(now=100.0) == 1000.0
