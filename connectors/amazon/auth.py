"""Login with Amazon (LWA) access tokens: the SDK's OAuth2 refresh-token flow, pointed at LWA.

An access token lives one hour (``expires_in``); it is renewed ``REFRESH_MARGIN_S`` before it runs
out, and on demand when the SP-API answers that the token has expired (``SpApi.call``).
"""

from __future__ import annotations

import httpx

from omnisync.clock import Clock
from omnisync.sdk import OAuth2RefreshToken

from .rates import TOKEN_OPERATION
from .settings import AmazonSettings

REFRESH_MARGIN_S = 60.0


def lwa_tokens(
    settings: AmazonSettings, client: httpx.AsyncClient, clock: Clock, channel: str
) -> OAuth2RefreshToken:
    """The LWA token source for these settings, its requests on the ``lwaToken`` budget."""
    return OAuth2RefreshToken(
        client,
        clock,
        channel,
        token_url=settings.token_url,
        refresh_token=settings.refresh_token,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        operation=TOKEN_OPERATION,
        margin_s=REFRESH_MARGIN_S,
        label="LWA",
    )
