"""The SDK's auth helpers: static headers with their secrets listed, and the OAuth2 refresh-token flow
with expiry on the injected clock."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from omnisync.clock import VirtualClock
from omnisync.sdk import (
    CredentialsError,
    OAuth2RefreshToken,
    ProtocolError,
    RetryableError,
    api_key_header,
    basic_auth,
    bearer_token,
)


async def _headers_sent(options_headers: dict[str, str]) -> httpx.Headers:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), headers=options_headers) as c:
        await c.get("https://api.example/x")
    return seen[0].headers


async def test_bearer_token_header_and_secret() -> None:
    auth = bearer_token(SecretStr("tok-1"))
    options = auth.http_options("https://api.example", {"Accept": "application/json"})
    sent = await _headers_sent(dict(options.headers))
    assert sent["authorization"] == "Bearer tok-1"
    assert sent["accept"] == "application/json"
    assert options.base_url == "https://api.example"
    assert "tok-1" in options.secrets


def test_api_key_header_names_its_header_and_prefix() -> None:
    auth = api_key_header("k-9", header="X-Shopify-Access-Token")
    assert dict(auth.headers) == {"X-Shopify-Access-Token": "k-9"}
    assert api_key_header(SecretStr("k"), header="Authorization", prefix="Token ").headers == {
        "Authorization": "Token k"
    }
    assert auth.secrets == ("k-9",)


def test_basic_auth_encodes_and_redacts_the_pair() -> None:
    auth = basic_auth("shop", SecretStr("p@ss:word"))
    value = auth.headers["Authorization"]
    assert value.startswith("Basic ")
    assert base64.b64decode(value.removeprefix("Basic ")).decode() == "shop:p@ss:word"
    assert "p@ss:word" in auth.secrets
    assert value.removeprefix("Basic ") in auth.secrets


def test_the_auth_header_wins_over_a_clashing_extra_header() -> None:
    options = bearer_token("t").http_options("https://x", {"Authorization": "guess"}, timeout=5.0)
    assert options.headers["Authorization"] == "Bearer t"
    assert options.timeout == 5.0


class TokenEndpoint:
    """A scripted OAuth2 token endpoint: answers in turn, the last one repeated."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.forms: list[dict[str, list[str]]] = []
        self.operations: list[object] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.forms.append(parse_qs(request.content.decode()))
        self.operations.append(request.extensions.get("omnisync.operation"))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def _token(value: str, expires_in: object = 3600) -> httpx.Response:
    body: dict[str, object] = {"access_token": value, "token_type": "bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return httpx.Response(200, json=body)


def _flow(endpoint: TokenEndpoint, clock: VirtualClock, margin: float = 60.0) -> OAuth2RefreshToken:
    client = httpx.AsyncClient(transport=httpx.MockTransport(endpoint), base_url="https://api.example")
    return OAuth2RefreshToken(
        client,
        clock,
        "web",
        token_url="https://auth.example/o2/token",
        refresh_token=SecretStr("refresh-secret"),
        client_id="app-1",
        client_secret=SecretStr("client-secret"),
        operation="authToken",
        margin_s=margin,
        label="Auth",
    )


async def test_token_fetched_once_and_kept_until_the_margin_before_expiry() -> None:
    clock = VirtualClock()
    endpoint = TokenEndpoint(_token("a1", 3600), _token("a2", 3600))
    flow = _flow(endpoint, clock)
    assert await flow.access_token() == "a1"
    assert endpoint.forms[0] == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["refresh-secret"],
        "client_id": ["app-1"],
        "client_secret": ["client-secret"],
    }
    assert endpoint.operations == ["authToken"]
    clock.advance(3600 - 60 - 1)
    assert await flow.access_token() == "a1"
    assert flow.refreshes == 1
    clock.advance(1)
    assert await flow.access_token() == "a2"
    assert flow.refreshes == 2


async def test_a_token_without_expires_in_lives_the_default() -> None:
    clock = VirtualClock()
    flow = _flow(TokenEndpoint(_token("a1", None), _token("a2")), clock, margin=0)
    await flow.access_token()
    clock.advance(3599)
    assert await flow.access_token() == "a1"
    clock.advance(1)
    assert await flow.access_token() == "a2"


async def test_renew_replaces_only_the_rejected_token_once_for_racing_callers() -> None:
    clock = VirtualClock()
    endpoint = TokenEndpoint(_token("a1"), _token("a2"), _token("a3"))
    flow = _flow(endpoint, clock)
    first = await flow.access_token()
    renewed = await asyncio.gather(flow.renew(first), flow.renew(first), flow.renew(first))
    assert renewed == ["a2", "a2", "a2"]
    assert flow.refreshes == 2
    assert await flow.renew("some-older-token") == "a2", "a token already replaced is not renewed again"


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_a_refused_refresh_token_is_a_credentials_error_naming_only_the_code(status: int) -> None:
    answer = httpx.Response(status, json={"error": "invalid_grant", "error_description": "rt=refresh-secret"})
    flow = _flow(TokenEndpoint(answer), VirtualClock())
    with pytest.raises(CredentialsError) as caught:
        await flow.access_token()
    message = str(caught.value)
    assert "Auth token endpoint refused the credentials" in message
    assert "invalid_grant" in message
    assert "refresh-secret" not in message


async def test_a_failing_token_endpoint_is_retryable_and_a_tokenless_answer_a_protocol_error() -> None:
    with pytest.raises(RetryableError):
        await _flow(TokenEndpoint(httpx.Response(503)), VirtualClock()).access_token()
    with pytest.raises(ProtocolError):
        await _flow(TokenEndpoint(httpx.Response(200, json={"token": "x"})), VirtualClock()).access_token()
    with pytest.raises(ProtocolError):
        await _flow(TokenEndpoint(httpx.Response(200, text="<html>")), VirtualClock()).access_token()
