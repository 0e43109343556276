"""The Amazon emulator on its own: LWA, throttling at the documented rates, presigned storage, feed
processing on the injected clock, and orders that lower the listing quantity as Amazon does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from amazon_fixtures import seed
from omnisync_connectors.amazon.emulator import AmazonEmulator

from omnisync.clock import VirtualClock

LWA = "https://api.amazon.com/auth/o2/token"


@pytest.fixture
def emulator() -> AmazonEmulator:
    return AmazonEmulator(VirtualClock())


@pytest.fixture
async def http(emulator: AmazonEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url="https://sellingpartnerapi-na.amazon.com"
    ) as client:
        answer = await client.post(
            LWA,
            data={
                "grant_type": "refresh_token",
                "refresh_token": emulator.refresh_token,
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
            },
        )
        client.headers["x-amz-access-token"] = answer.json()["access_token"]
        yield client


def item(emulator: AmazonEmulator, sku: str) -> str:
    return f"/listings/2021-08-01/items/{emulator.seller_id}/{sku}?marketplaceIds={emulator.marketplace_id}"


def fa(quantity: int) -> dict[str, object]:
    return {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }


async def test_lwa_refuses_bad_client_and_bad_grant(emulator: AmazonEmulator) -> None:
    async with httpx.AsyncClient(transport=emulator.transport()) as client:
        form = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": emulator.client_id}
        bad_client = await client.post(LWA, data={**form, "client_secret": "nope"})
        bad_grant = await client.post(LWA, data={**form, "client_secret": emulator.client_secret})
    assert (bad_client.status_code, bad_client.json()["error"]) == (401, "invalid_client")
    assert (bad_grant.status_code, bad_grant.json()["error"]) == (400, "invalid_grant")


async def test_patch_is_throttled_at_5_per_second_burst_5(
    emulator: AmazonEmulator, http: httpx.AsyncClient
) -> None:
    seed(emulator, 1)
    answers = [await http.patch(item(emulator, "AMZ-00000"), json=fa(n)) for n in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[5].json()["errors"][0]["code"] == "QuotaExceeded"
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "5"
    assert isinstance(emulator.clock, VirtualClock)
    emulator.clock.advance(0.2)
    assert (await http.patch(item(emulator, "AMZ-00000"), json=fa(7))).status_code == 200
    assert emulator.quantity("AMZ-00000") == 7


async def test_expired_and_missing_tokens_are_refused(
    emulator: AmazonEmulator, http: httpx.AsyncClient
) -> None:
    seed(emulator, 1)
    emulator.expire_tokens()
    expired = await http.get(item(emulator, "AMZ-00000"))
    missing = await http.get(item(emulator, "AMZ-00000"), headers={"x-amz-access-token": ""})
    assert expired.status_code == 403
    assert "expired" in expired.json()["errors"][0]["details"]
    assert missing.status_code == 403
    assert "missing" in missing.json()["errors"][0]["details"]


async def test_feed_runs_on_the_clock_and_reports(emulator: AmazonEmulator, http: httpx.AsyncClient) -> None:
    seed(emulator, 3)
    emulator.reject_sku("AMZ-00002", "Blocked.")
    doc = (await http.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"})).json()
    feed = {
        "header": {"sellerId": emulator.seller_id, "version": "2.0"},
        "messages": [
            {"messageId": n + 1, "sku": f"AMZ-{n:05d}", "operationType": "PATCH", **fa(n + 1)}
            for n in range(3)
        ],
    }
    with_token = await http.put(
        doc["url"], content=json.dumps(feed), headers={"content-type": "application/json"}
    )
    assert with_token.status_code == 400, "storage refuses requests carrying the SP-API token"
    del http.headers["x-amz-access-token"]
    assert (
        await http.put(doc["url"] + "x", content=b"{}", headers={"content-type": "application/json"})
    ).status_code == 403
    stored = await http.put(
        doc["url"], content=json.dumps(feed), headers={"content-type": "application/json"}
    )
    assert stored.status_code == 200
    http.headers["x-amz-access-token"] = emulator.issue_token()
    body = {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [emulator.marketplace_id],
        "inputFeedDocumentId": doc["feedDocumentId"],
    }
    feed_id = (await http.post("/feeds/2021-06-30/feeds", json=body)).json()["feedId"]
    clock = emulator.clock
    assert isinstance(clock, VirtualClock)
    statuses = []
    for _ in range(6):  # queued 10 s, then 30 s + 2 ms a message
        statuses.append((await http.get(f"/feeds/2021-06-30/feeds/{feed_id}")).json()["processingStatus"])
        clock.advance(10)
    assert statuses == ["IN_QUEUE", *["IN_PROGRESS"] * 4, "DONE"]
    assert [emulator.quantity(f"AMZ-{n:05d}") for n in range(3)] == [1, 2, 10]
    result = (await http.get(f"/feeds/2021-06-30/feeds/{feed_id}")).json()["resultFeedDocumentId"]
    url = (await http.get(f"/feeds/2021-06-30/documents/{result}")).json()["url"]
    del http.headers["x-amz-access-token"]
    report = (await http.get(url)).json()
    assert report["summary"]["messagesAccepted"] == 2
    assert report["summary"]["messagesInvalid"] == 1
    assert [(i["messageId"], i["sku"]) for i in report["issues"]] == [(3, "AMZ-00002")]


async def test_orders_lower_quantity_and_paginate(emulator: AmazonEmulator, http: httpx.AsyncClient) -> None:
    emulator.seed_listing("TEE", 5, Decimal("12.00"))
    ids = [emulator.place_order("TEE", 1) for _ in range(5)]
    assert emulator.quantity("TEE") == 0
    with pytest.raises(ValueError, match="available"):
        emulator.place_order("TEE", 1)
    emulator.cancel_order(ids[0])
    assert emulator.quantity("TEE") == 1
    seen, token = [], None
    while True:
        params = {
            "MarketplaceIds": emulator.marketplace_id,
            "LastUpdatedAfter": "2025-12-01T00:00:00Z",
            "MaxResultsPerPage": "2",
        }
        if token:
            params["NextToken"] = token
        payload = (await http.get("/orders/v0/orders", params=params)).json()["payload"]
        seen += [o["AmazonOrderId"] for o in payload["Orders"]]
        token = payload.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    items = (await http.get(f"/orders/v0/orders/{ids[1]}/orderItems")).json()["payload"]["OrderItems"]
    assert items[0]["SellerSKU"] == "TEE"
    assert items[0]["ItemPrice"] == {
        "CurrencyCode": "USD",
        "Amount": "12.00",
    }
    assert (
        await http.get("/orders/v0/orders", params={"MarketplaceIds": emulator.marketplace_id})
    ).status_code == 400
