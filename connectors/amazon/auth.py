"""Login with Amazon (LWA) access tokens: the SDK's OAuth2 refresh-token flow, pointed at LWA.

An access token lives one hour (``expires_in``); it is renewed ``REFRESH_MARGIN_S`` before it runs
out, and on demand when the SP-API answers that the token has expired (``SpApi.call``).

Grantless operations (the Notifications API's destinations) take a token of the application itself:
the ``client_credentials`` grant with the operation's scope, no seller's refresh token.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from omnisync.clock import Clock
from omnisync.sdk import OAuth2RefreshToken
from omnisync.sdk.auth import _reveal

from .rates import TOKEN_OPERATION
from .settings import AmazonSettings

REFRESH_MARGIN_S = 60.0
NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"


@dataclass
class GrantlessTokens(OAuth2RefreshToken):
    """Application tokens for grantless operations: ``client_credentials`` with ``scope``."""

    scope: str = NOTIFICATIONS_SCOPE

    def grant(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_id": self.client_id,
            "client_secret": _reveal(self.client_secret),
        }


def lwa_tokens(
    settings: AmazonSettings,
    client: httpx.AsyncClient,
    clock: Clock,
    channel: str,
    *,
    grantless: bool = False,
) -> OAuth2RefreshToken:
    """The LWA token source for these settings, its requests on the ``lwaToken`` budget: the seller's
    (refresh token), or the application's for grantless operations (the refresh token is not sent)."""
    kind = GrantlessTokens if grantless else OAuth2RefreshToken
    return kind(
        client,
        clock,
        channel,
        token_url=settings.token_url,
        refresh_token=settings.refresh_token,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        operation=TOKEN_OPERATION,
        margin_s=REFRESH_MARGIN_S,
        label="LWA (grantless)" if grantless else "LWA",
    )
