"""Authentication helpers: the header every request carries, and the OAuth2 refresh-token flow.

Static credentials become headers (with their secret values listed, so they never reach a log)::

    @classmethod
    def http_options(cls, settings):
        return bearer_token(settings.access_token).http_options(settings.base_url)

    api_key_header(settings.api_key, header="X-Api-Key")      # X-Api-Key: <key>
    basic_auth(settings.username, settings.password)          # Authorization: Basic base64(user:pass)
    bearer_token(settings.access_token)                       # Authorization: Bearer <token>

Short-lived access tokens obtained with a long-lived refresh token (OAuth2 ``refresh_token`` grant,
RFC 6749 §6) come from :class:`OAuth2RefreshToken`: it fetches a token when it has none, keeps it
until ``margin_s`` before ``expires_in`` runs out on the connector's injected clock (so tests move
time instead of sleeping), and renews on demand when the API refuses a token as expired.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from omnisync.clock import Clock
from omnisync.logging import register_secret

from .connector import HttpOptions, op
from .errors import CredentialsError, ProtocolError
from .helpers import error_for_status, json_body
from .models import Operation

Secret = SecretStr | str


def _reveal(value: Secret) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@dataclass(frozen=True)
class HeaderAuth:
    """Headers that authenticate every request, and the secret strings inside them."""

    headers: Mapping[str, str]
    secrets: Sequence[str] = ()

    def http_options(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 30.0,
        max_attempts: int = 5,
    ) -> HttpOptions:
        """:class:`HttpOptions` for ``base_url`` sending ``headers`` and these (which win on a clash),
        with these secrets redacted."""
        return HttpOptions(
            base_url=base_url,
            headers={**(headers or {}), **self.headers},
            secrets=tuple(self.secrets),
            timeout=timeout,
            max_attempts=max_attempts,
        )


def api_key_header(key: Secret, header: str = "X-Api-Key", prefix: str = "") -> HeaderAuth:
    """An API key sent in ``header`` (``prefix`` before it, e.g. ``"Token "``)."""
    value = _reveal(key)
    return HeaderAuth({header: f"{prefix}{value}"}, (value,))


def bearer_token(token: Secret) -> HeaderAuth:
    """``Authorization: Bearer <token>`` (RFC 6750)."""
    value = _reveal(token)
    return HeaderAuth({"Authorization": f"Bearer {value}"}, (value,))


def basic_auth(username: str, password: Secret) -> HeaderAuth:
    """``Authorization: Basic base64(username:password)`` (RFC 7617); both the password and the
    encoded pair are redacted."""
    secret = _reveal(password)
    encoded = base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")
    return HeaderAuth({"Authorization": f"Basic {encoded}"}, (secret, encoded))


@dataclass
class OAuth2RefreshToken:
    """Access tokens from an OAuth2 token endpoint with the ``refresh_token`` grant.

    ``client`` is the connector's own HTTP client (so the token request has a budget and retries:
    name its ``operation``, which the connector declares in ``operations``). A 400/401/403 from the
    endpoint (``invalid_grant``: a revoked refresh token; ``invalid_client``) is a
    :class:`CredentialsError`, never retried. ``label`` names the endpoint in messages (``"LWA"``).
    """

    client: httpx.AsyncClient
    clock: Clock
    channel: str
    token_url: str
    refresh_token: Secret
    client_id: str
    client_secret: Secret
    operation: Operation | str = "token"
    margin_s: float = 60.0
    """Renew this many seconds before the token expires."""
    default_expires_in: float = 3600.0
    """Lifetime assumed when the answer names none."""
    label: str = "OAuth2"
    refreshes: int = 0
    """Tokens fetched so far (tests and benchmarks count them)."""
    _token: str | None = field(default=None, init=False, repr=False)
    _expires_at: float = field(default=0.0, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def access_token(self) -> str:
        """A valid access token, fetching one when none is held or it expires within ``margin_s``."""
        async with self._lock:
            if self._token is None or self.clock.monotonic() >= self._expires_at - self.margin_s:
                await self._refresh()
            assert self._token is not None
            return self._token

    async def renew(self, rejected: str) -> str:
        """A fresh token after the API refused ``rejected`` as expired. Calls racing on the same
        rejected token share one renewal."""
        async with self._lock:
            if self._token is None or self._token == rejected:
                await self._refresh()
            assert self._token is not None
            return self._token

    def grant(self) -> dict[str, str]:
        """The token request's form: the ``refresh_token`` grant (a subclass may ask another, such as
        ``client_credentials`` with a scope)."""
        return {
            "grant_type": "refresh_token",
            "refresh_token": _reveal(self.refresh_token),
            "client_id": self.client_id,
            "client_secret": _reveal(self.client_secret),
        }

    async def _refresh(self) -> None:
        response = await self.client.post(self.token_url, data=self.grant(), extensions=op(self.operation))
        if response.status_code in (400, 401, 403):
            raise CredentialsError(
                f"{self.label} token endpoint refused the credentials (HTTP {response.status_code}, "
                f"{_oauth_error(response)}): check client_id, client_secret and refresh_token",
                channel=self.channel,
            )
        if not response.is_success:
            raise error_for_status(response, self.channel, f"{self.label} token request")
        body = json_body(response, self.channel, f"{self.label} token answer")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ProtocolError(f"{self.label} token answer has no access_token", channel=self.channel)
        assert isinstance(body, dict)
        expires_in = body.get("expires_in")
        lifetime = (
            float(expires_in)
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
            else self.default_expires_in
        )
        register_secret(token)
        self._token = token
        self._expires_at = self.clock.monotonic() + lifetime
        self.refreshes += 1


def _oauth_error(response: httpx.Response) -> str:
    """The ``error`` code of an OAuth2 error answer (RFC 6749 §5.2), never its description."""
    try:
        body = response.json()
    except ValueError:
        return "no error code"
    code = body.get("error") if isinstance(body, dict) else None
    return str(code) if code else "no error code"
