"""HTTP-level behaviour of the Amazon connector against scripted SP-API answers (respx)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from omnisync_connectors.amazon import AmazonConnector

from omnisync.clock import VirtualClock
from omnisync.sdk import CredentialsError, InventoryRef, InventoryUpdate, ItemStatus
from omnisync.sdk.runtime import instantiate

SP = "https://sellingpartnerapi-eu.amazon.com"
LWA = "https://api.amazon.com/auth/o2/token"
S3 = "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/NinetyDays/doc-1?X-Amz-Signature=abc"
REPORT_URL = "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/NinetyDays/report-1?X-Amz-Signature=def"
SETTINGS = {
    "region": "eu",
    "seller_id": "A3SELLER",
    "marketplace_ids": ["A1PA6795UKMFR9"],
    "client_id": "amzn1.application-oa2-client.x",
    "client_secret": "s3cr3t-value",
    "refresh_token": "Atzr|refresh-value",
    "feed_threshold": 2,
    "feed_poll_interval_s": 30,
}
ITEM = f"{SP}/listings/2021-08-01/items/A3SELLER/SKU-1"
DENIED = "Access to requested resource is denied."


def connector(**overrides: Any) -> AmazonConnector:
    built = instantiate(AmazonConnector, {**SETTINGS, **overrides}, channel="amz", clock=VirtualClock())
    assert isinstance(built, AmazonConnector)
    return built


def token(value: str) -> httpx.Response:
    return httpx.Response(200, json={"access_token": value, "token_type": "bearer", "expires_in": 3600})


def error(status: int, code: str, message: str, details: str = "") -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message, "details": details}]})


def updates(n: int) -> list[InventoryUpdate]:
    return [
        InventoryUpdate(f"M-{i}", f"SKU-{i}", 5, None, 1, f"k{i}", {"product_type": "SHOES"})
        for i in range(1, n + 1)
    ]


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


async def test_quota_exceeded_is_waited_out_then_succeeds(mock: respx.MockRouter) -> None:
    mock.post(LWA).mock(return_value=token("Atza|one"))
    route = mock.get(ITEM).mock(
        side_effect=[
            error(429, "QuotaExceeded", "You exceeded your quota for the requested resource."),
            httpx.Response(
                200,
                json={
                    "sku": "SKU-1",
                    "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 3}],
                },
            ),
        ]
    )
    conn = connector()
    live = await conn.read_inventory([InventoryRef("M-1", "SKU-1")])
    assert live == {"M-1": 3}
    assert route.call_count == 2
    assert conn.context.stats.total_throttled == 1
    # the retry waited for the operation's next token (5/s), not a fixed backoff
    assert conn.context.clock.monotonic() == pytest.approx(0.2)


async def test_expired_token_is_refreshed_once(mock: respx.MockRouter) -> None:
    lwa = mock.post(LWA).mock(side_effect=[token("Atza|old"), token("Atza|new")])
    patch = mock.patch(ITEM).mock(
        side_effect=[
            error(403, "Unauthorized", DENIED, "The access token you provided has expired."),
            httpx.Response(
                200, json={"sku": "SKU-1", "status": "ACCEPTED", "submissionId": "s1", "issues": []}
            ),
        ]
    )
    results = await connector().push_inventory(updates(1))
    assert results[0].status is ItemStatus.ACCEPTED
    assert lwa.call_count == 2
    assert patch.call_count == 2
    assert [c.request.headers["x-amz-access-token"] for c in patch.calls] == ["Atza|old", "Atza|new"]
    form = dict(x.split("=", 1) for x in lwa.calls[0].request.content.decode().split("&"))
    assert form["grant_type"] == "refresh_token"
    assert form["client_id"] == SETTINGS["client_id"]
    body = json.loads(patch.calls[1].request.content)
    assert body == {
        "productType": "SHOES",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 5}],
            }
        ],
    }


async def test_forbidden_is_reported_as_configuration(mock: respx.MockRouter) -> None:
    mock.post(LWA).mock(return_value=token("Atza|one"))
    route = mock.get(ITEM).mock(return_value=error(403, "Unauthorized", DENIED, ""))
    conn = connector()
    with pytest.raises(CredentialsError) as caught:
        await conn.read_listings(["SKU-1"])
    assert route.call_count == 1
    assert conn.context.stats.retries.total() == 0
    assert "s3cr3t" not in str(caught.value)
    assert "Atza|one" not in str(caught.value)


def feed_routes(
    mock: respx.MockRouter, final: dict[str, Any], report: bytes, gzipped: bool = False
) -> respx.Route:
    mock.post(LWA).mock(return_value=token("Atza|one"))
    mock.post(f"{SP}/feeds/2021-06-30/documents").mock(
        return_value=httpx.Response(201, json={"feedDocumentId": "doc-1", "url": S3})
    )
    upload = mock.put(S3).mock(return_value=httpx.Response(200))
    mock.post(f"{SP}/feeds/2021-06-30/feeds").mock(return_value=httpx.Response(202, json={"feedId": "F1"}))
    base = {"feedId": "F1", "feedType": "JSON_LISTINGS_FEED", "createdTime": "2026-01-01T00:00:00Z"}
    mock.get(f"{SP}/feeds/2021-06-30/feeds/F1").mock(
        side_effect=[
            httpx.Response(200, json={**base, "processingStatus": "IN_QUEUE"}),
            httpx.Response(200, json={**base, "processingStatus": "IN_PROGRESS"}),
            httpx.Response(200, json={**base, **final, "resultFeedDocumentId": "report-1"}),
        ]
    )
    document: dict[str, str] = {"feedDocumentId": "report-1", "url": REPORT_URL}
    if gzipped:
        document["compressionAlgorithm"] = "GZIP"
        report = gzip.compress(report)
    mock.get(f"{SP}/feeds/2021-06-30/documents/report-1").mock(
        return_value=httpx.Response(200, json=document)
    )
    mock.get(REPORT_URL).mock(return_value=httpx.Response(200, content=report))
    return upload


def report(issues: list[dict[str, Any]], accepted: int, invalid: int) -> bytes:
    return json.dumps(
        {
            "header": {"sellerId": "A3SELLER", "version": "2.0", "feedId": "F1"},
            "issues": issues,
            "summary": {
                "errors": len(issues),
                "warnings": 0,
                "messagesProcessed": accepted + invalid,
                "messagesAccepted": accepted,
                "messagesInvalid": invalid,
            },
        }
    ).encode()


async def test_feed_that_ends_fatal_leaves_items_to_retry(mock: respx.MockRouter) -> None:
    fatal = report([{"code": "FATAL", "severity": "ERROR", "message": "Feed could not be parsed."}], 0, 0)
    upload = feed_routes(mock, {"processingStatus": "FATAL"}, fatal)
    conn = connector()
    results = await conn.push_inventory(updates(3))
    assert [r.status for r in results] == [ItemStatus.RETRY] * 3
    assert all("FATAL" in (r.reason or "") and "could not be parsed" in (r.reason or "") for r in results)
    assert "x-amz-access-token" not in upload.calls[0].request.headers
    assert conn.context.stats.calls["getFeed"] == 3
    assert conn.context.clock.monotonic() == pytest.approx(90.0)  # three polls, 30 s apart


async def test_report_with_per_message_errors_maps_back_to_items(mock: respx.MockRouter) -> None:
    issues = [
        {
            "messageId": 2,
            "sku": "SKU-2",
            "code": "90220",
            "severity": "ERROR",
            "message": "'quantity' is invalid.",
        },
        {
            "messageId": 3,
            "sku": "SKU-3",
            "code": "18448",
            "severity": "WARNING",
            "message": "Attributes incomplete.",
        },
    ]
    upload = feed_routes(mock, {"processingStatus": "DONE"}, report(issues, 2, 1), gzipped=True)
    results = {r.sku: r for r in await connector().push_inventory(updates(3))}
    assert results["M-1"].status is ItemStatus.ACCEPTED
    assert results["M-1"].value == 5
    assert results["M-2"].status is ItemStatus.REJECTED
    assert "90220" in (results["M-2"].reason or "")
    assert results["M-3"].status is ItemStatus.ACCEPTED  # a warning does not reject
    sent = json.loads(upload.calls[0].request.content)
    assert [m["messageId"] for m in sent["messages"]] == [1, 2, 3]
    assert [m["sku"] for m in sent["messages"]] == ["SKU-1", "SKU-2", "SKU-3"]
    assert upload.calls[0].request.headers["content-type"] == "application/json; charset=UTF-8"
