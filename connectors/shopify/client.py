"""One GraphQL call to the Admin API: pace on the cost bucket, post, classify the answer.

Errors are mapped once, here::

    HTTP 401/403, ACCESS_DENIED        -> CredentialsError   (fix the token or its scopes)
    HTTP 404                           -> ConfigurationError (wrong shop domain or API version)
    HTTP 402/423                       -> FatalError         (shop frozen or locked)
    HTTP 429, THROTTLED after retries  -> ThrottledError     (with the seconds the points need)
    HTTP 5xx, INTERNAL_SERVER_ERROR    -> RetryableError
    MAX_COST_EXCEEDED                  -> QueryTooCostly     (ask for less per page)
    not JSON, no data, other errors    -> ProtocolError
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from omnisync.sdk import (
    ConfigurationError,
    ConnectorContext,
    CredentialsError,
    FatalError,
    ProtocolError,
    RetryableError,
    ThrottledError,
    error_for_status,
    json_body,
    op,
)

from .settings import ShopifySettings
from .throttle import THROTTLED, CostBucket, cost_extension, throttle_delay

GRAPHQL_PATH = "/graphql.json"
_RETRYABLE_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})


class QueryTooCostly(ProtocolError):
    """Shopify refused the query before running it: its requested cost exceeds the per-query maximum."""


@dataclass
class Answer:
    data: Mapping[str, Any]
    cost: Mapping[str, Any] | None = None
    errors: list[Mapping[str, Any]] = field(default_factory=list)
    """Field errors that came with (partial) data."""


class AdminGraphQL:
    """The Admin API GraphQL endpoint of one shop, paced on a local model of its cost bucket."""

    def __init__(self, http: httpx.AsyncClient, context: ConnectorContext, settings: ShopifySettings) -> None:
        self._http = http
        self._context = context
        clock = context.clock
        self.bucket = CostBucket.full(settings.bucket_size, settings.restore_rate, clock.monotonic())
        self._learned: dict[str, float] = {}
        self._sent = itertools.count()
        self._unanswered: dict[int, float] = {}
        """Calls in flight (in the order sent) -> the points booked for them."""

    async def execute(
        self,
        document: str,
        variables: Mapping[str, Any],
        *,
        operation: str,
        estimate: float,
        name: str,
    ) -> Answer:
        """Run one document. ``estimate`` is the requested cost we expect; ``name`` keys what we learn."""
        channel = self._context.channel
        clock = self._context.clock
        expected = max(estimate, self._learned.get(name, 0.0))
        # Checked again after every wait: a call made meanwhile (an inventory push of 10 points beside
        # an order page of ~1000 waiting for its points) may have spent some, and sending now would
        # come back THROTTLED. Small calls thereby pass large ones, which is the order we want.
        while (delay := self.bucket.wait_time(expected, clock.monotonic())) > 0:
            self._context.stats.waited_s += delay
            await clock.sleep(delay)
        self.bucket.spend(expected, clock.monotonic())
        sent = next(self._sent)
        self._unanswered[sent] = expected
        try:
            response = await self._http.post(
                GRAPHQL_PATH,
                json={"query": document, "variables": dict(variables)},
                extensions=op(operation),
            )
        finally:
            del self._unanswered[sent]
        if response.status_code == 404:
            raise ConfigurationError(
                "the Admin API answered HTTP 404: check the shop domain and api_version", channel=channel
            )
        if response.status_code in (402, 423):
            raise FatalError(
                f"the shop is unavailable (HTTP {response.status_code}: frozen or locked)", channel=channel
            )
        if not response.is_success:
            raise error_for_status(response, channel, f"{name}")
        body = json_body(response, channel, f"{name} answer")
        if not isinstance(body, Mapping):
            raise ProtocolError(f"{name} answer is not a JSON object", channel=channel)
        cost = cost_extension(body)
        if cost is not None:
            status = cost.get("throttleStatus")
            if isinstance(status, Mapping):
                later = sum(points for n, points in self._unanswered.items() if n > sent)
                self.bucket.observe(status, clock.monotonic(), pending=later)
            requested = cost.get("requestedQueryCost")
            if isinstance(requested, (int, float)):
                self._learned[name] = float(requested)
        errors = (
            [e for e in body.get("errors") or [] if isinstance(e, Mapping)]
            if isinstance(body.get("errors"), list)
            else []
        )
        if errors and body.get("data") is None:
            raise self._error(errors, body, name)
        data = body.get("data")
        if not isinstance(data, Mapping):
            if isinstance(body.get("errors"), str):  # REST-style {"errors": "..."} with HTTP 200
                raise ProtocolError(f"{name}: {str(body['errors'])[:200]}", channel=channel)
            raise ProtocolError(f"{name} answer carries no data", channel=channel)
        return Answer(data=data, cost=cost, errors=errors)

    def _error(self, errors: list[Mapping[str, Any]], body: Mapping[str, Any], name: str) -> Exception:
        channel = self._context.channel
        codes = []
        for error in errors:
            ext = error.get("extensions")
            codes.append(str(ext.get("code")) if isinstance(ext, Mapping) else "")
        message = str(errors[0].get("message", "error"))[:300]
        if THROTTLED in codes:
            return ThrottledError(f"{name}: throttled", channel=channel, retry_after=throttle_delay(body))
        if "ACCESS_DENIED" in codes:
            return CredentialsError(
                f"{name}: access denied ({message}); check the app's scopes", channel=channel
            )
        if "MAX_COST_EXCEEDED" in codes:
            return QueryTooCostly(f"{name}: {message}", channel=channel)
        if any(code in _RETRYABLE_CODES for code in codes):
            return RetryableError(f"{name}: {message}", channel=channel)
        return ProtocolError(f"{name} failed: {message}", channel=channel)
