"""Login with Amazon (LWA) access tokens: fetched with the refresh token, cached, renewed early.

An access token lives one hour (``expires_in``); we renew it ``REFRESH_MARGIN_S`` before it runs out,
and on demand when the SP-API answers that the token has expired.
"""

from __future__ import annotations

import asyncio

import httpx

from omnisync.clock import Clock
from omnisync.logging import register_secret
from omnisync.sdk import CredentialsError, ProtocolError, error_for_status, json_body, op

from .rates import TOKEN_OPERATION
from .settings import AmazonSettings

REFRESH_MARGIN_S = 60.0


class LwaTokens:
    def __init__(
        self, settings: AmazonSettings, client: httpx.AsyncClient, clock: Clock, channel: str
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock
        self._channel = channel
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.refreshes = 0

    async def access_token(self) -> str:
        """A valid access token, fetching a new one when none is cached or it is about to expire."""
        async with self._lock:
            if self._token is None or self._clock.monotonic() >= self._expires_at - REFRESH_MARGIN_S:
                await self._refresh()
            assert self._token is not None
            return self._token

    async def renew(self, rejected: str) -> str:
        """A fresh token after the SP-API refused ``rejected`` as expired (one renewal per token)."""
        async with self._lock:
            if self._token == rejected or self._token is None:
                await self._refresh()
            assert self._token is not None
            return self._token

    async def _refresh(self) -> None:
        s = self._settings
        response = await self._client.post(
            s.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": s.refresh_token.get_secret_value(),
                "client_id": s.client_id,
                "client_secret": s.client_secret.get_secret_value(),
            },
            extensions=op(TOKEN_OPERATION),
        )
        if response.status_code in (400, 401, 403):
            # invalid_grant (revoked refresh token) or invalid_client: a human must fix the credentials.
            raise CredentialsError(
                f"LWA token endpoint refused the credentials (HTTP {response.status_code}, "
                f"{_lwa_error(response)}): check client_id, client_secret and refresh_token",
                channel=self._channel,
            )
        if not response.is_success:
            raise error_for_status(response, self._channel, "LWA token request")
        body = json_body(response, self._channel, "LWA token answer")
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise ProtocolError("LWA token answer has no access_token", channel=self._channel)
        expires_in = body.get("expires_in", 3600)
        self._token = body["access_token"]
        register_secret(self._token)
        self._expires_at = self._clock.monotonic() + float(
            expires_in if isinstance(expires_in, int) else 3600
        )
        self.refreshes += 1


def _lwa_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no error code"
    code = body.get("error") if isinstance(body, dict) else None
    return str(code) if code else "no error code"
