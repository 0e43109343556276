"""Low-level SP-API calls: request building, the access-token header, answer parsing.

Every call is tagged with its own operation (``op("patchListingsItem")``...) so that operation's token
bucket applies; every answer's ``x-amzn-RateLimit-Limit`` corrects that bucket. A 403 saying the access
token expired renews the token and replays the call once; any other 401/403 is a CredentialsError.
The presigned feed-document transfers go to another host and never carry the access token.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from omnisync.sdk import (
    ConnectorContext,
    CredentialsError,
    OmnisyncError,
    ProtocolError,
    error_for_status,
    json_body,
    op,
)
from omnisync.sdk.auth import OAuth2RefreshToken

from .auth import lwa_tokens
from .rates import DOWNLOAD_OPERATION, RATE_LIMIT_HEADER, UPLOAD_OPERATION, parse_rate_limit
from .settings import AmazonSettings

ACCESS_TOKEN_HEADER = "x-amz-access-token"
LISTINGS = "/listings/2021-08-01/items"
FEEDS = "/feeds/2021-06-30"
DEFINITIONS = "/definitions/2020-09-01/productTypes"
ORDERS = "/orders/v0/orders"
NOTIFICATIONS = "/notifications/v1"
FBA_SUMMARIES = "/fba/inventory/v1/summaries"
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"

Json = dict[str, Any]


def error_summary(body: object) -> str:
    """``code: message`` pairs from an SP-API error answer (``{"errors": [...]}``), never secrets."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = [f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict)]
    return "; ".join(parts)


def token_expired(response: httpx.Response) -> bool:
    """Amazon answers an expired access token with 403 and this detail (not with 401)."""
    try:
        body = response.json()
    except ValueError:
        return False
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return False
    return any(
        isinstance(e, dict) and "expired" in f"{e.get('details', '')} {e.get('message', '')}".lower()
        for e in errors
    )


class SpApi:
    def __init__(self, settings: AmazonSettings, http: httpx.AsyncClient, context: ConnectorContext) -> None:
        self.settings = settings
        self.http = http
        self.context = context
        self.channel = context.channel
        self.tokens = lwa_tokens(settings, http, context.clock, context.channel)
        self.grantless = lwa_tokens(settings, http, context.clock, context.channel, grantless=True)

    # -- plumbing ----------------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Json | None = None,
        grantless: bool = False,
    ) -> httpx.Response:
        """One SP-API request with the access token (the application's own for a ``grantless``
        operation); 401/403 raise CredentialsError."""
        tokens: OAuth2RefreshToken = self.grantless if grantless else self.tokens
        token = await tokens.access_token()
        response = await self._send(method, path, operation, token, params, body)
        if response.status_code == 403 and token_expired(response):
            token = await tokens.renew(token)
            response = await self._send(method, path, operation, token, params, body)
        self._learn_rate(operation, response)
        if response.status_code in (401, 403):
            detail = error_summary(_safe_json(response)) or "access denied"
            raise CredentialsError(
                f"{operation} answered HTTP {response.status_code} ({detail}): check the seller id, "
                "the LWA credentials and the application's roles",
                channel=self.channel,
            )
        return response

    async def _send(
        self,
        method: str,
        path: str,
        operation: str,
        token: str,
        params: Mapping[str, str | int] | None,
        body: Json | None,
    ) -> httpx.Response:
        return await self.http.request(
            method,
            path,
            params=dict(params or {}),
            json=body,
            headers={ACCESS_TOKEN_HEADER: token},
            extensions=op(operation),
        )

    def _learn_rate(self, operation: str, response: httpx.Response) -> None:
        rate = parse_rate_limit(response.headers.get(RATE_LIMIT_HEADER))
        if rate is not None and abs(rate - self.context.budgets.bucket(operation).rate) > 1e-9:
            self.context.log.info("amazon.rate_corrected", operation=operation, rate=rate)
            self.context.budgets.adjust(operation, rate=rate)

    def fail(self, response: httpx.Response, operation: str) -> OmnisyncError:
        """The exception for a non-success answer, with Amazon's error codes appended."""
        exc = error_for_status(response, self.channel, operation)
        detail = error_summary(_safe_json(response))
        if isinstance(exc, OmnisyncError) and detail:
            exc.message = f"{exc.message}: {detail}"
            exc.args = (exc.message,)
        assert isinstance(exc, OmnisyncError)
        return exc

    def parse(self, response: httpx.Response, operation: str) -> Json:
        if not response.is_success:
            raise self.fail(response, operation)
        body = json_body(response, self.channel, f"{operation} answer")
        if not isinstance(body, dict):
            raise ProtocolError(f"{operation} answer is not a JSON object", channel=self.channel)
        return body

    def _marketplace(self) -> dict[str, str]:
        return {"marketplaceIds": self.settings.marketplace_id}

    def _item_path(self, sku: str) -> str:
        return f"{LISTINGS}/{quote(self.settings.seller_id, safe='')}/{quote(sku, safe='')}"

    # -- Listings Items 2021-08-01 ------------------------------------------------------------------
    async def get_listings_item(self, sku: str, included: Sequence[str]) -> Json | None:
        """The listing, or None when the seller has no such SKU (404)."""
        params: dict[str, str | int] = {**self._marketplace(), "includedData": ",".join(included)}
        if self.settings.issue_locale:
            params["issueLocale"] = self.settings.issue_locale
        response = await self.call("GET", self._item_path(sku), "getListingsItem", params=params)
        if response.status_code == 404:
            return None
        return self.parse(response, "getListingsItem")

    async def search_listings_items(
        self, page_size: int = 1, included: Sequence[str] = (), page_token: str | None = None
    ) -> Json:
        """searchListingsItems for the seller in the marketplace (one page; its ``pagination``
        names the next). With ``page_size`` 1 and nothing included, the cheapest read that tries
        the credentials, the seller id and the marketplace id together."""
        params: dict[str, str | int] = {**self._marketplace(), "pageSize": page_size}
        if included:
            params["includedData"] = ",".join(included)
        if page_token:
            params["pageToken"] = page_token
        path = f"{LISTINGS}/{quote(self.settings.seller_id, safe='')}"
        return self.parse(
            await self.call("GET", path, "searchListingsItems", params=params), "searchListingsItems"
        )

    async def patch_listings_item(self, sku: str, product_type: str, patches: list[Json]) -> Json:
        params: dict[str, str | int] = dict(self._marketplace())
        if self.settings.issue_locale:
            params["issueLocale"] = self.settings.issue_locale
        body = {"productType": product_type, "patches": patches}
        response = await self.call(
            "PATCH", self._item_path(sku), "patchListingsItem", params=params, body=body
        )
        return self.parse(response, "patchListingsItem")

    async def put_listings_item(self, sku: str, product_type: str, attributes: Json) -> Json:
        """putListingsItem: create or fully replace the listing (``requirements`` LISTING)."""
        params: dict[str, str | int] = dict(self._marketplace())
        if self.settings.issue_locale:
            params["issueLocale"] = self.settings.issue_locale
        body = {"productType": product_type, "requirements": "LISTING", "attributes": attributes}
        response = await self.call("PUT", self._item_path(sku), "putListingsItem", params=params, body=body)
        return self.parse(response, "putListingsItem")

    # -- Product Type Definitions 2020-09-01 ------------------------------------------------------
    async def product_type_definition(self, product_type: str) -> Json:
        params: dict[str, str | int] = {
            **self._marketplace(),
            "requirements": "LISTING",
            "locale": "DEFAULT",
            "sellerId": self.settings.seller_id,
        }
        path = f"{DEFINITIONS}/{quote(product_type, safe='')}"
        return self.parse(
            await self.call("GET", path, "getDefinitionsProductType", params=params),
            "getDefinitionsProductType",
        )

    async def fetch_json(self, url: str, what: str) -> Json:
        """A JSON document from a link Amazon gave (a product type schema), without the access token."""
        response = await self.http.get(url, extensions=op(DOWNLOAD_OPERATION))
        if not response.is_success:
            raise error_for_status(response, self.channel, what)
        body = json_body(response, self.channel, what)
        if not isinstance(body, dict):
            raise ProtocolError(f"{what} is not a JSON object", channel=self.channel)
        return body

    # -- Feeds 2021-06-30 ---------------------------------------------------------------------------
    async def create_feed_document(self, content_type: str = JSON_CONTENT_TYPE) -> tuple[str, str]:
        response = await self.call(
            "POST", f"{FEEDS}/documents", "createFeedDocument", body={"contentType": content_type}
        )
        body = self.parse(response, "createFeedDocument")
        doc_id, url = body.get("feedDocumentId"), body.get("url")
        if not isinstance(doc_id, str) or not isinstance(url, str):
            raise ProtocolError("createFeedDocument answer lacks feedDocumentId/url", channel=self.channel)
        return doc_id, url

    async def upload(self, url: str, content: bytes, content_type: str = JSON_CONTENT_TYPE) -> None:
        """PUT the document to the presigned URL: no access token, the signature is in the URL."""
        response = await self.http.put(
            url, content=content, headers={"content-type": content_type}, extensions=op(UPLOAD_OPERATION)
        )
        if not response.is_success:
            raise error_for_status(response, self.channel, "feed document upload")

    async def create_feed(self, feed_type: str, document_id: str) -> str:
        body = {
            "feedType": feed_type,
            "marketplaceIds": [self.settings.marketplace_id],
            "inputFeedDocumentId": document_id,
        }
        answer = self.parse(await self.call("POST", f"{FEEDS}/feeds", "createFeed", body=body), "createFeed")
        feed_id = answer.get("feedId")
        if not isinstance(feed_id, str):
            raise ProtocolError("createFeed answer lacks feedId", channel=self.channel)
        return feed_id

    async def get_feed(self, feed_id: str) -> Json:
        path = f"{FEEDS}/feeds/{quote(feed_id, safe='')}"
        return self.parse(await self.call("GET", path, "getFeed"), "getFeed")

    async def get_feed_document(self, document_id: str) -> Json:
        path = f"{FEEDS}/documents/{quote(document_id, safe='')}"
        return self.parse(await self.call("GET", path, "getFeedDocument"), "getFeedDocument")

    async def download(self, document: Json) -> bytes:
        """The document's bytes from its presigned URL, un-gzipped when ``compressionAlgorithm`` says so."""
        url = document.get("url")
        if not isinstance(url, str):
            raise ProtocolError("feed document has no url", channel=self.channel)
        response = await self.http.get(url, extensions=op(DOWNLOAD_OPERATION))
        if not response.is_success:
            raise error_for_status(response, self.channel, "feed document download")
        content = response.content
        if document.get("compressionAlgorithm") == "GZIP":
            try:
                content = gzip.decompress(content)
            except (OSError, EOFError) as exc:
                raise ProtocolError("feed document is not valid GZIP", channel=self.channel) from exc
        return content

    # -- Orders v0 -----------------------------------------------------------------------------------
    async def get_orders(self, params: Mapping[str, str | int]) -> Json:
        body = self.parse(await self.call("GET", ORDERS, "getOrders", params=params), "getOrders")
        return _payload(body, "getOrders", self.channel)

    async def get_order(self, order_id: str) -> Json | None:
        """One order (``getOrder``), or None when Amazon knows no such order."""
        response = await self.call("GET", f"{ORDERS}/{quote(order_id, safe='')}", "getOrder")
        if response.status_code == 404:
            return None
        return _payload(self.parse(response, "getOrder"), "getOrder", self.channel)

    async def get_order_items(self, order_id: str, next_token: str | None = None) -> Json:
        params: dict[str, str | int] = {"NextToken": next_token} if next_token else {}
        path = f"{ORDERS}/{quote(order_id, safe='')}/orderItems"
        body = self.parse(await self.call("GET", path, "getOrderItems", params=params), "getOrderItems")
        return _payload(body, "getOrderItems", self.channel)

    # -- FBA Inventory v1 ---------------------------------------------------------------------------
    async def inventory_summaries(self, params: Mapping[str, str | int]) -> AsyncIterator[Json]:
        """Every ``InventorySummary`` of getInventorySummaries, page by page (``nextToken`` with the same
        parameters, as Amazon asks)."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            query = {**params, **({"nextToken": token} if token else {})}
            answer = self.parse(
                await self.call("GET", FBA_SUMMARIES, "getInventorySummaries", params=query),
                "getInventorySummaries",
            )
            payload = _payload(answer, "getInventorySummaries", self.channel)
            summaries = payload.get("inventorySummaries")
            if not isinstance(summaries, list):
                raise ProtocolError(
                    "getInventorySummaries payload has no inventorySummaries", channel=self.channel
                )
            for summary in summaries:
                if isinstance(summary, dict):
                    yield summary
            pagination = answer.get("pagination")
            token = pagination.get("nextToken") if isinstance(pagination, dict) else None
            if not isinstance(token, str) or not token or token in seen:
                return
            seen.add(token)

    # -- Notifications v1 ---------------------------------------------------------------------------
    async def get_destinations(self) -> list[Json]:
        answer = self.parse(
            await self.call("GET", f"{NOTIFICATIONS}/destinations", "getDestinations", grantless=True),
            "getDestinations",
        )
        found = answer.get("payload")
        if not isinstance(found, list):
            raise ProtocolError("getDestinations answer has no payload list", channel=self.channel)
        return [d for d in found if isinstance(d, dict)]

    async def create_destination(self, name: str, arn: str) -> Json:
        body = {"name": name, "resourceSpecification": {"sqs": {"arn": arn}}}
        response = await self.call(
            "POST", f"{NOTIFICATIONS}/destinations", "createDestination", body=body, grantless=True
        )
        return _payload(self.parse(response, "createDestination"), "createDestination", self.channel)

    async def get_subscription(self, notification_type: str) -> Json | None:
        """The subscription to this notification type, or None (404) when there is none."""
        path = f"{NOTIFICATIONS}/subscriptions/{quote(notification_type, safe='')}"
        response = await self.call("GET", path, "getSubscription")
        if response.status_code == 404:
            return None
        return _payload(self.parse(response, "getSubscription"), "getSubscription", self.channel)

    async def create_subscription(self, notification_type: str, destination_id: str, version: str) -> Json:
        path = f"{NOTIFICATIONS}/subscriptions/{quote(notification_type, safe='')}"
        body = {"payloadVersion": version, "destinationId": destination_id}
        response = await self.call("POST", path, "createSubscription", body=body)
        return _payload(self.parse(response, "createSubscription"), "createSubscription", self.channel)


def _payload(body: Json, operation: str, channel: str) -> Json:
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise ProtocolError(f"{operation} answer has no payload", channel=channel)
    return payload


def _safe_json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None
