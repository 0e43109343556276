"""Low-level Graph API calls: request building, answer parsing, error mapping, usage-driven pacing.

Paths are relative to ``{base_url}/{graph_api_version}/`` (the client's base URL). The access token
travels only in the ``Authorization: Bearer`` header, never in a query string.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from omnisync.sdk import (
    ConfigurationError,
    ConnectorContext,
    CredentialsError,
    ItemError,
    Limits,
    ProtocolError,
    RetryableError,
    ThrottledError,
    error_for_status,
    json_body,
    op,
)

from .expansion import expand
from .fields import ITEM_TYPE, ORDER_EDGES, ORDER_FIELDS, ORDER_ITEM_FIELDS, PRODUCT_FIELDS
from .graph import DEFAULT_THROTTLE_WAIT_S, GraphError, graph_error, throttle_wait, usage
from .settings import InstagramSettings

JSONDict = dict[str, Any]
EDGE_PAGE = 100
"""Rows of each order edge read inline with the order list (``items.limit(100){...}``)."""
ACKNOWLEDGE_BATCH = 100
"""Orders per ``acknowledge_orders`` call, Meta's maximum."""
CATALOGUE_PAGE = 100
"""Items per page of the catalog read (``catalog import --from``)."""


class GraphClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: InstagramSettings,
        context: ConnectorContext,
        limits: Limits,
    ) -> None:
        self._http = http
        self._settings = settings
        self._context = context
        self._limits = limits
        self._slowed: set[str] = set()

    # -- transport ---------------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        what: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        deferrable: bool = False,
    ) -> JSONDict:
        extensions = op(operation, deferrable=deferrable)
        response = await self._http.request(method, path, params=params, json=body, extensions=extensions)
        self._observe(response, operation)
        if response.is_success:
            parsed = json_body(response, self._context.channel, what)
            if not isinstance(parsed, dict):
                raise ProtocolError(f"{what}: expected a JSON object", channel=self._context.channel)
            return parsed
        raise self._error(response, graph_error(response), operation, what)

    def _error(
        self, response: httpx.Response, error: GraphError | None, operation: str, what: str
    ) -> Exception:
        channel = self._context.channel
        if error is None:
            return error_for_status(response, channel, what)
        text = f"{what}: {error.describe()}"
        if error.throttled:
            wait = throttle_wait(response)
            self._context.budgets.pause(operation, wait)
            return ThrottledError(text, channel=channel, retry_after=wait)
        if error.credentials or response.status_code == 401:
            return CredentialsError(f"{text} (check the access token and its permissions)", channel=channel)
        if error.unknown_object:
            return ConfigurationError(
                f"{text} (check the catalog and commerce merchant settings ids)", channel=channel
            )
        if response.status_code >= 500 or error.transient:
            return RetryableError(text, channel=channel)
        return ItemError(text, channel=channel)

    def _observe(self, response: httpx.Response, operation: str) -> None:
        """Slow down before Meta's 100 %, stop until access returns once it is reached."""
        reading = usage(response.headers)
        if not reading.reported:
            return
        budgets = self._context.budgets
        declared = self._limits.for_operation(operation)
        slow_at = self._settings.slow_down_at_percent
        if reading.regain_s > 0 or reading.percent >= 100:
            budgets.pause(operation, reading.regain_s or DEFAULT_THROTTLE_WAIT_S)
            self._context.log.warning(
                "instagram.usage_exhausted",
                operation=operation,
                percent=reading.percent,
                wait_s=reading.regain_s,
            )
        elif reading.percent >= slow_at:
            # Half speed at the threshold, then in proportion to the budget left (at least 1/32).
            factor = _dyadic(max(1 / 32, (100.0 - reading.percent) / (100.0 - slow_at) / 2))
            budgets.adjust(operation, rate=declared.rate * factor, burst=max(1.0, declared.burst * factor))
            self._slowed.add(operation)
            self._context.log.info("instagram.slow_down", operation=operation, percent=reading.percent)
        elif operation in self._slowed:
            budgets.adjust(operation, rate=declared.rate, burst=declared.burst)
            self._slowed.discard(operation)

    # -- catalog -----------------------------------------------------------------------------------
    async def node(self, node_id: str, fields: Sequence[str], what: str) -> JSONDict:
        return await self.call(
            "GET", node_id, operation="default", what=what, params={"fields": ",".join(fields)}
        )

    async def items_batch(self, requests: Sequence[Mapping[str, Any]], operation: str) -> JSONDict:
        """POST /{catalog_id}/items_batch. ``allow_upsert`` stays off: an UPDATE never creates an item
        by accident; only a listing's CREATE does."""
        body = {"item_type": ITEM_TYPE, "allow_upsert": False, "requests": list(requests)}
        return await self.call(
            "POST",
            f"{self._settings.catalog_id}/items_batch",
            operation=operation,
            what="items_batch",
            body=body,
        )

    async def batch_status(self, handle: str, operation: str) -> JSONDict:
        """GET /{catalog_id}/check_batch_request_status: the one status element for this handle.

        Polls share the budget of the push they belong to (one catalog budget per operation) and give
        way to its submissions: a poll only confirms, a submission carries a change."""
        answer = await self.call(
            "GET",
            f"{self._settings.catalog_id}/check_batch_request_status",
            operation=operation,
            what="check_batch_request_status",
            params={"handle": handle, "load_ids_of_invalid_requests": "true"},
            deferrable=True,
        )
        data = answer.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return data[0]
        if "status" in answer:  # tolerate the element returned bare
            return answer
        raise ProtocolError("check_batch_request_status answered no status", channel=self._context.channel)

    async def products(self, retailer_ids: Sequence[str], operation: str) -> list[JSONDict]:
        """GET /{catalog_id}/products filtered to these retailer ids (every page)."""
        params: dict[str, Any] = {
            "fields": ",".join(PRODUCT_FIELDS),
            "filter": json.dumps({"retailer_id": {"is_any": list(retailer_ids)}}),
            "limit": max(1, len(retailer_ids)),
        }
        return await self._all_pages(f"{self._settings.catalog_id}/products", params, operation, "products")

    async def catalogue(self, fields: Sequence[str], operation: str) -> list[JSONDict]:
        """GET /{catalog_id}/products with ``fields``: every item of the catalog (every page)."""
        params: dict[str, Any] = {"fields": ",".join(fields), "limit": CATALOGUE_PAGE}
        return await self._all_pages(f"{self._settings.catalog_id}/products", params, operation, "products")

    # -- orders ------------------------------------------------------------------------------------
    async def commerce_orders(
        self, updated_after: datetime | None, after: str | None
    ) -> tuple[list[JSONDict], str | None]:
        """One page of GET /{cms_id}/commerce_orders and the cursor of the next one (None: last).

        Each order comes with its edges (items, cancellations, refunds, shipments) through field
        expansion, so a page of orders costs one call; an edge longer than :data:`EDGE_PAGE` is read
        on its own by :meth:`order_edge`."""
        params: dict[str, Any] = {
            "fields": ",".join(
                (
                    *ORDER_FIELDS,
                    *(
                        expand(edge, EDGE_PAGE, ORDER_ITEM_FIELDS if edge == "items" else ())
                        for edge in ORDER_EDGES
                    ),
                )
            ),
            "state": ",".join(self._settings.order_states),
            "limit": self._settings.orders_page_size,
        }
        if updated_after is not None:
            params["updated_after"] = int(updated_after.timestamp())
        if after:
            params["after"] = after
        answer = await self.call(
            "GET",
            f"{self._settings.commerce_merchant_settings_id}/commerce_orders",
            operation="pull_orders",
            what="commerce_orders",
            params=params,
        )
        return _data(answer, self._context.channel), _next_cursor(answer)

    async def order_edge(self, order_id: str, edge: str) -> list[JSONDict]:
        params: dict[str, Any] = {"limit": EDGE_PAGE}
        if edge == "items":
            params["fields"] = ",".join(ORDER_ITEM_FIELDS)
        return await self._all_pages(f"{order_id}/{edge}", params, "pull_orders", f"order {edge}")

    async def acknowledge_orders(self, order_ids: Sequence[str], idempotency_key: str) -> list[JSONDict]:
        """POST /{cms_id}/acknowledge_orders: up to :data:`ACKNOWLEDGE_BATCH` orders in one call, one
        answer per order (``{"id", "state"}`` or ``{"id", "error"}``). The idempotency key names the
        batch: the same batch sent again is answered the same without a change."""
        answer = await self.call(
            "POST",
            f"{self._settings.commerce_merchant_settings_id}/acknowledge_orders",
            operation="pull_orders",
            what="acknowledge_orders",
            body={"orders": [{"id": oid} for oid in order_ids], "idempotency_key": idempotency_key},
        )
        orders = answer.get("orders")
        if not isinstance(orders, list):
            raise ProtocolError("acknowledge_orders answered no 'orders' list", channel=self._context.channel)
        return [o for o in orders if isinstance(o, dict)]

    async def _all_pages(
        self, path: str, params: Mapping[str, Any], operation: str, what: str, max_pages: int = 1000
    ) -> list[JSONDict]:
        rows: list[JSONDict] = []
        seen: set[str] = set()
        after: str | None = None
        for _ in range(max_pages):
            query = dict(params)
            if after:
                query["after"] = after
            answer = await self.call("GET", path, operation=operation, what=what, params=query)
            rows.extend(_data(answer, self._context.channel))
            after = _next_cursor(answer)
            if after is None:
                return rows
            if after in seen:
                raise ProtocolError(f"{what}: paging returned a cursor twice", channel=self._context.channel)
            seen.add(after)
        raise ProtocolError(
            f"{what}: paging did not end within {max_pages} pages", channel=self._context.channel
        )


def _dyadic(factor: float) -> float:
    """The largest power of two <= factor (<= 1). Budgets then stay exact binary fractions, which
    matters on a virtual clock (see the report: TokenBucket float drift)."""
    return 2.0 ** math.floor(math.log2(factor)) if factor < 1 else 1.0


def _data(answer: JSONDict, channel: str) -> list[JSONDict]:
    data = answer.get("data", [])
    if not isinstance(data, list):
        raise ProtocolError("expected a 'data' list", channel=channel)
    return [row for row in data if isinstance(row, dict)]


def _next_cursor(answer: JSONDict) -> str | None:
    """Graph cursor paging: there is a next page only when ``paging.next`` is present."""
    paging = answer.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return str(after) if after else None
