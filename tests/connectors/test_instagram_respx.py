"""HTTP-level tests with respx: Meta's documented answers, scripted, against the real Graph base URL."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from instagram_fixtures import by_sku, inv
from omnisync_connectors.instagram import InstagramConnector

from omnisync.clock import VirtualClock
from omnisync.sdk import ConfigurationError, CredentialsError, ItemStatus
from omnisync.sdk.runtime import instantiate

ROOT = "https://graph.facebook.com/v26.0"
CATALOG = "555000111"
SETTINGS = {
    "access_token": "EAAB-test-token-not-real",
    "catalog_id": CATALOG,
    "commerce_merchant_settings_id": "777000222",
    "batch_poll_interval_s": 5.0,
}


def _connector(clock: VirtualClock) -> InstagramConnector:
    conn = instantiate(InstagramConnector, SETTINGS, channel="instagram", clock=clock)
    assert isinstance(conn, InstagramConnector)
    return conn


def _throttled(minutes: int) -> httpx.Response:
    usage = {
        "888": [
            {
                "type": "catalog_batch",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 15,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    body = {
        "error": {
            "message": "There have been too many calls for the batch uploads to this catalog account.",
            "type": "OAuthException",
            "code": 80014,
            "is_transient": True,
            "fbtrace_id": "Ab1",
        }
    }
    return httpx.Response(400, json=body, headers={"X-Business-Use-Case-Usage": json.dumps(usage)})


def _finished(errors: list[dict[str, object]], invalid: list[str]) -> httpx.Response:
    element = {
        "handle": "H1",
        "status": "finished",
        "errors_total_count": len(invalid),
        "errors": errors,
        "warnings_total_count": 0,
        "warnings": [],
        "ids_of_invalid_requests": invalid,
    }
    return httpx.Response(200, json={"data": [element]})


@respx.mock(assert_all_called=True)
async def test_throttled_answer_then_success(respx_mock: respx.MockRouter) -> None:
    clock = VirtualClock()
    batch = respx_mock.post(f"{ROOT}/{CATALOG}/items_batch").mock(
        side_effect=[_throttled(2), httpx.Response(200, json={"handles": ["H1"], "validation_status": []})]
    )
    status = respx_mock.get(f"{ROOT}/{CATALOG}/check_batch_request_status").mock(
        side_effect=[
            httpx.Response(200, json={"data": [{"handle": "H1", "status": "started"}]}),
            _finished([], []),
        ]
    )
    conn = _connector(clock)
    results = await conn.push_inventory([inv("SKU-1", 4)])
    await conn.aclose()
    assert results[0].status is ItemStatus.ACCEPTED
    assert batch.call_count == 2
    assert status.call_count == 2
    assert clock.monotonic() >= 2 * 60 + 2 * 5, "waited estimated_time_to_regain_access, then two polls"
    assert conn.context.stats.total_throttled == 1
    sent = json.loads(batch.calls.last.request.content)
    assert sent["item_type"] == "PRODUCT_ITEM"
    assert sent["requests"] == [
        {"method": "UPDATE", "data": {"id": "SKU-1", "inventory": 4, "availability": "in stock"}}
    ]
    polled = status.calls.last.request.url
    assert polled.params["handle"] == "H1"
    assert "access_token" not in str(polled)


@respx.mock(assert_all_called=True)
async def test_batch_with_per_item_errors(respx_mock: respx.MockRouter) -> None:
    clock = VirtualClock()
    respx_mock.post(f"{ROOT}/{CATALOG}/items_batch").mock(
        return_value=httpx.Response(
            200,
            json={
                "handles": ["H1"],
                "validation_status": [
                    {
                        "retailer_id": "SKU-BAD",
                        "errors": [{"message": "Invalid value for availability."}],
                        "warnings": [],
                    }
                ],
            },
        )
    )
    respx_mock.get(f"{ROOT}/{CATALOG}/check_batch_request_status").mock(
        return_value=_finished(
            [{"line": 1, "id": "SKU-GONE", "message": "Product with retailer id SKU-GONE does not exist."}],
            ["SKU-GONE", "SKU-UNSAMPLED"],
        )
    )
    conn = _connector(clock)
    updates = [inv("SKU-OK", 1), inv("SKU-GONE", 2), inv("SKU-BAD", 3), inv("SKU-UNSAMPLED", 4)]
    results = by_sku(await conn.push_inventory(updates))
    await conn.aclose()
    assert results["M-SKU-OK"].status is ItemStatus.ACCEPTED
    assert results["M-SKU-GONE"].status is ItemStatus.REJECTED
    assert results["M-SKU-GONE"].reason == "Product with retailer id SKU-GONE does not exist."
    assert results["M-SKU-BAD"].reason == "Invalid value for availability."
    assert results["M-SKU-UNSAMPLED"].status is ItemStatus.REJECTED, "named only in ids_of_invalid_requests"


@respx.mock(assert_all_called=True)
async def test_expired_token_is_a_configuration_error(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{ROOT}/{CATALOG}/items_batch").mock(
        return_value=httpx.Response(
            400,
            json={
                "error": {
                    "message": "Error validating access token: Session has expired on Monday.",
                    "type": "OAuthException",
                    "code": 190,
                    "error_subcode": 463,
                    "fbtrace_id": "X",
                }
            },
        )
    )
    conn = _connector(VirtualClock())
    with pytest.raises(CredentialsError) as caught:
        await conn.push_inventory([inv("SKU-1", 1)])
    await conn.aclose()
    assert isinstance(caught.value, ConfigurationError)
    assert route.call_count == 1, "an expired token is never retried"
    assert SETTINGS["access_token"] not in str(caught.value)
