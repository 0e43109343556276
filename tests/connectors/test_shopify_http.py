"""HTTP-level behaviour against scripted Admin API answers (respx): throttles, 5xx, 401, userErrors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from omnisync_connectors.shopify import ShopifyConnector

from omnisync.clock import VirtualClock
from omnisync.sdk import (
    ConfigurationError,
    CredentialsError,
    InventoryUpdate,
    ItemStatus,
    OrderCursor,
    ProtocolError,
)
from omnisync.sdk.runtime import instantiate

URL = "https://test-shop.myshopify.com/admin/api/2026-04/graphql.json"
LOCATION = "gid://shopify/Location/1"
SETTINGS = {"shop": "test-shop.myshopify.com", "access_token": "shpat_test", "locations": {"wh": LOCATION}}


def _cost(requested: int = 10, actual: int | None = 10, available: float = 1990) -> dict[str, Any]:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": available, "restoreRate": 100.0},
    }


def _set_ok() -> httpx.Response:
    group = {"id": "gid://shopify/InventoryAdjustmentGroup/1", "changes": []}
    return httpx.Response(
        200,
        json={
            "data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": []}},
            "extensions": {"cost": _cost()},
        },
    )


def _set_refused(*errors: tuple[int, str]) -> httpx.Response:
    user_errors = [
        {"code": code, "field": ["input", "quantities", str(i), "changeFromQuantity"], "message": code}
        for i, code in errors
    ]
    return httpx.Response(
        200,
        json={
            "data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": user_errors}},
            "extensions": {"cost": _cost()},
        },
    )


THROTTLED = {
    "errors": [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ],
    "extensions": {"cost": _cost(10, None, 4.0)},
}


def _connector(clock: VirtualClock) -> ShopifyConnector:
    connector = instantiate(ShopifyConnector, SETTINGS, channel="shop", clock=clock)
    assert isinstance(connector, ShopifyConnector)
    return connector


def _update(n: int) -> InventoryUpdate:
    return InventoryUpdate(
        sku=f"M{n}",
        channel_sku=f"S{n}",
        quantity=5,
        previous=3,
        version=1,
        idempotency_key=f"key-{n}",
        ids={"inventory_item_id": f"gid://shopify/InventoryItem/{n}"},
    )


def _sent(route: respx.Route, call: int) -> dict[str, Any]:
    return json.loads(route.calls[call].request.content)  # type: ignore[no-any-return]


async def test_throttled_then_accepted_waits_for_the_missing_points() -> None:
    clock = VirtualClock()
    with respx.mock(assert_all_called=True) as router:
        route = router.post(URL).mock(side_effect=[httpx.Response(200, json=THROTTLED), _set_ok()])
        results = await _connector(clock).push_inventory([_update(1)])
    assert results[0].status is ItemStatus.ACCEPTED
    assert route.call_count == 2
    assert clock.monotonic() == pytest.approx(0.06, abs=0.01)  # (10 − 4) points at 100 points/s
    assert route.calls[0].request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert _sent(route, 0) == _sent(route, 1)  # the same idempotency key on the retry


async def test_server_error_is_retried() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(URL).mock(side_effect=[httpx.Response(502, text="Bad Gateway"), _set_ok()])
        results = await _connector(VirtualClock()).push_inventory([_update(1)])
    assert results[0].status is ItemStatus.ACCEPTED
    assert route.call_count == 2


async def test_unauthorized_is_a_configuration_error_and_not_retried() -> None:
    answer = httpx.Response(
        401, json={"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.post(URL).mock(return_value=answer)
        with pytest.raises(CredentialsError) as caught:
            await _connector(VirtualClock()).push_inventory([_update(1)])
    assert isinstance(caught.value, ConfigurationError)
    assert "shpat_test" not in str(caught.value)
    assert route.call_count == 1


async def test_partial_user_errors_answer_their_item_and_the_rest_is_sent_again() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(URL).mock(
            side_effect=[_set_refused((1, "ITEM_NOT_STOCKED_AT_LOCATION")), _set_ok()]
        )
        results = await _connector(VirtualClock()).push_inventory([_update(0), _update(1), _update(2)])
    assert [r.status for r in results] == [ItemStatus.ACCEPTED, ItemStatus.REJECTED, ItemStatus.ACCEPTED]
    assert "ITEM_NOT_STOCKED_AT_LOCATION" in (results[1].reason or "")
    first, second = _sent(route, 0), _sent(route, 1)
    assert len(first["variables"]["input"]["quantities"]) == 3
    assert [q["inventoryItemId"] for q in second["variables"]["input"]["quantities"]] == [
        "gid://shopify/InventoryItem/0",
        "gid://shopify/InventoryItem/2",
    ]
    assert first["variables"]["idempotencyKey"] != second["variables"]["idempotencyKey"]


async def test_stale_compare_and_set_is_reported_stale() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(URL).mock(return_value=_set_refused((0, "CHANGE_FROM_QUANTITY_STALE")))
        results = await _connector(VirtualClock()).push_inventory([_update(0)])
    assert results[0].status is ItemStatus.STALE
    assert route.call_count == 1


async def test_malformed_json_is_a_protocol_error() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.post(URL).mock(return_value=httpx.Response(200, text="<html>maintenance</html>"))
        with pytest.raises(ProtocolError):
            await _connector(VirtualClock()).push_inventory([_update(0)])


async def test_access_denied_in_a_200_is_a_credentials_error() -> None:
    body = {
        "errors": [{"message": "Access denied for orders field.", "extensions": {"code": "ACCESS_DENIED"}}],
        "extensions": {"cost": _cost(3, 2)},
    }
    with respx.mock(assert_all_called=True) as router:
        router.post(URL).mock(return_value=httpx.Response(200, json=body))
        with pytest.raises(CredentialsError, match="scopes"):
            await _connector(VirtualClock()).pull_orders(OrderCursor(None))


async def test_a_too_costly_orders_page_is_asked_again_smaller() -> None:
    too_costly = {
        "errors": [
            {
                "message": "Query cost is 1240, which exceeds the single query max cost limit (1000).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 1240, "maxCost": 1000},
            }
        ]
    }
    empty = {
        "data": {"orders": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}},
        "extensions": {"cost": _cost(434, 2)},
    }
    with respx.mock(assert_all_called=True) as router:
        route = router.post(URL).mock(
            side_effect=[httpx.Response(200, json=too_costly), httpx.Response(200, json=empty)]
        )
        page = await _connector(VirtualClock()).pull_orders(OrderCursor(None))
    assert (page.orders, page.next_page_token) == ([], None)
    assert [_sent(route, i)["variables"]["first"] for i in (0, 1)] == [2, 1]
