"""HTTP-level behaviour of the Square connector with respx: scripted answers, asserted calls."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from omnisync_connectors.square import SquareConnector
from square_fixtures import CHANNEL, update

from omnisync.clock import VirtualClock
from omnisync.sdk import CredentialsError, ItemStatus
from omnisync.sdk.runtime import instantiate

BASE = "https://connect.squareup.com"
CHANGES = "/v2/inventory/changes/batch-create"
SETTINGS = {"access_token": "sq0atp-test-token", "locations": {"STORE1": "L1"}}
IDS_A, IDS_B = {"variation_id": "VAR_A"}, {"variation_id": "VAR_B"}


def connector() -> SquareConnector:
    conn = instantiate(SquareConnector, SETTINGS, channel=CHANNEL, clock=VirtualClock())
    assert isinstance(conn, SquareConnector)
    return conn


def counts(*pairs: tuple[str, int]) -> dict[str, Any]:
    return {
        "counts": [
            {"catalog_object_id": vid, "location_id": "L1", "state": "IN_STOCK", "quantity": str(q)}
            for vid, q in pairs
        ]
    }


def rate_limited() -> httpx.Response:
    return httpx.Response(429, json={"errors": [{"category": "RATE_LIMIT_ERROR", "code": "RATE_LIMITED"}]})


def sent(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


async def test_429_then_success_resends_the_same_request() -> None:
    async with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        route = mock.post(CHANGES).mock(
            side_effect=[rate_limited(), httpx.Response(200, json=counts(("VAR_A", 3)))]
        )
        conn = connector()
        results = await conn.push_inventory([update("A", 3, 5, IDS_A)])
    assert (results[0].status, results[0].value) == (ItemStatus.ACCEPTED, 3)
    assert route.call_count == 2
    first, second = sent(route)
    assert first == second
    assert conn.context.stats.throttled["push_inventory"] == 1
    assert route.calls[0].request.headers["Square-Version"] == "2025-08-20"


async def test_429_for_good_leaves_the_items_for_a_later_cycle() -> None:
    async with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        route = mock.post(CHANGES).mock(return_value=rate_limited())
        results = await connector().push_inventory([update("A", 3, 5, IDS_A)])
    assert results[0].status is ItemStatus.RETRY
    assert route.call_count == 5


async def test_401_is_a_configuration_error_and_never_retried() -> None:
    denied = httpx.Response(
        401, json={"errors": [{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED"}]}
    )
    async with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        locations = mock.get("/v2/locations").mock(return_value=denied)
        changes = mock.post(CHANGES).mock(return_value=denied)
        conn = connector()
        with pytest.raises(CredentialsError, match="UNAUTHORIZED") as caught:
            await conn.prepare()
        with pytest.raises(CredentialsError):
            await conn.push_inventory([update("A", 3, 5, IDS_A)])
    assert (locations.call_count, changes.call_count) == (1, 1)
    assert "sq0atp-test-token" not in str(caught.value)


async def test_batch_with_per_change_errors_rejects_those_and_resends_the_rest() -> None:
    refused = httpx.Response(
        400,
        json={
            "errors": [
                {
                    "category": "INVALID_REQUEST_ERROR",
                    "code": "NOT_FOUND",
                    "detail": "Item variation with catalog object ID `VAR_GONE` not found.",
                    "field": "changes[1].adjustment.catalog_object_id",
                }
            ]
        },
    )
    async with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        route = mock.post(CHANGES).mock(
            side_effect=[refused, httpx.Response(200, json=counts(("VAR_A", 1), ("VAR_B", 9)))]
        )
        results = await connector().push_inventory(
            [
                update("A", 1, 5, IDS_A),
                update("GONE", 1, 5, {"variation_id": "VAR_GONE"}),
                update("B", 9, 5, IDS_B),
            ]
        )
    assert [r.status for r in results] == [ItemStatus.ACCEPTED, ItemStatus.REJECTED, ItemStatus.ACCEPTED]
    assert "VAR_GONE" in (results[1].reason or "")
    first, second = sent(route)
    assert [c["adjustment"]["catalog_object_id"] for c in second["changes"]] == ["VAR_A", "VAR_B"]
    assert first["idempotency_key"] != second["idempotency_key"]


async def test_retried_adjustment_is_deduplicated_by_square() -> None:
    """The first answer is lost (timeout); the retry carries the same key and body; Square answers
    the first result, the count moved once."""
    applied: list[str] = []

    def square(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["idempotency_key"] not in applied:
            applied.append(body["idempotency_key"])
            raise httpx.ReadTimeout("answer lost", request=request)
        return httpx.Response(200, json=counts(("VAR_A", 2)))

    async with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        route = mock.post(CHANGES).mock(side_effect=square)
        conn = connector()
        results = await conn.push_inventory([update("A", 2, 5, IDS_A)])
    assert (results[0].status, results[0].value) == (ItemStatus.ACCEPTED, 2)
    assert len(applied) == 1
    first, second = sent(route)
    assert first == second
    assert conn.context.stats.retries["push_inventory"] == 1
