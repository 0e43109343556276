"""Low-level Square API calls: request building and answer parsing, nothing about the ledger.

Every call is tagged with its omnisync operation so that operation's rate budget applies. Answers that
are not 2xx are turned into the SDK's exception tree by :func:`raise_for_square` (with Square's error
codes in the message), except where the caller needs the error list itself (inventory batches).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from omnisync.sdk import ProtocolError, error_for_status, json_body, op

Json = dict[str, Any]

LOCATIONS = "/v2/locations"
CATALOG_SEARCH = "/v2/catalog/search"
CATALOG_RETRIEVE = "/v2/catalog/batch-retrieve"
CATALOG_UPSERT = "/v2/catalog/batch-upsert"
INVENTORY_CHANGE = "/v2/inventory/changes/batch-create"
INVENTORY_COUNTS = "/v2/inventory/counts/batch-retrieve"
INVENTORY_CHANGES = "/v2/inventory/changes/batch-retrieve"
ORDERS_SEARCH = "/v2/orders/search"

MAX_CHANGES = 100
"""BatchChangeInventory: changes per call."""
MAX_CHANGES_READ = 1000
"""BatchRetrieveInventoryChanges: changes per page (its ``limit`` at most)."""
MAX_COUNT_IDS = 1000
"""BatchRetrieveInventoryCounts: catalog object ids per call (and the page limit)."""
MAX_RETRIEVE_IDS = 1000
"""BatchRetrieveCatalogObjects: ids per call."""
MAX_ORDER_LOCATIONS = 10
"""SearchOrders: location ids per call."""
MAX_SKU_SET = 100
"""SearchCatalogObjects set_query values per call (kept modest; the limit is advisory)."""

_CHANGE_INDEX = re.compile(r"changes\[(\d+)\]")


@dataclass(frozen=True)
class SquareError:
    category: str
    code: str
    detail: str = ""
    field: str = ""

    @property
    def change_index(self) -> int | None:
        """Index of the inventory change the error names (``changes[3].adjustment...``), if any."""
        match = _CHANGE_INDEX.search(self.field) or _CHANGE_INDEX.search(self.detail)
        return int(match.group(1)) if match else None

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


def square_errors(body: object) -> list[SquareError]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [
        SquareError(
            str(e.get("category", "")),
            str(e.get("code", "")),
            str(e.get("detail") or ""),
            str(e.get("field") or ""),
        )
        for e in errors
        if isinstance(e, dict)
    ]


def describe(errors: Sequence[SquareError]) -> str:
    return "; ".join(str(e) for e in errors[:5]) or "no error detail"


def raise_for_square(response: httpx.Response, channel: str, what: str) -> None:
    if response.is_success:
        return
    try:
        codes = describe(square_errors(response.json()))
    except ValueError:
        codes = "no JSON body"
    raise error_for_status(response, channel, f"Square {what} ({codes})")


def quantity_of(value: object) -> int:
    """Square quantities are decimal strings ("5", "5.00000"); omnisync counts whole units."""
    try:
        return int(Decimal(str(value)).to_integral_value())
    except (InvalidOperation, ValueError):
        raise ProtocolError(f"Square sent a quantity that is not a number: {value!r:.40}") from None


class SquareApi:
    """One method per Square endpoint omnisync uses."""

    def __init__(self, http: httpx.AsyncClient, channel: str) -> None:
        self.http = http
        self.channel = channel

    async def post(self, path: str, body: Json, operation: str) -> httpx.Response:
        return await self.http.post(path, json=body, extensions=op(operation))

    def parse(self, response: httpx.Response, what: str) -> Json:
        raise_for_square(response, self.channel, what)
        body = json_body(response, self.channel, f"Square {what} answer")
        if not isinstance(body, dict):
            raise ProtocolError(f"Square {what} answer is not a JSON object", channel=self.channel)
        return body

    async def list_locations(self, operation: str = "prepare") -> list[Json]:
        response = await self.http.get(LOCATIONS, extensions=op(operation))
        return _objects(self.parse(response, "ListLocations"), "locations")

    async def search_variations(
        self, skus: Sequence[str], cursor: str | None
    ) -> tuple[list[Json], str | None]:
        body: Json = {
            "object_types": ["ITEM_VARIATION"],
            "query": {"set_query": {"attribute_name": "sku", "attribute_values": list(skus)}},
            "limit": 1000,
        }
        if cursor:
            body["cursor"] = cursor
        answer = self.parse(await self.post(CATALOG_SEARCH, body, "read_listings"), "SearchCatalogObjects")
        return _objects(answer, "objects"), _cursor(answer)

    async def retrieve_objects(
        self, object_ids: Sequence[str], operation: str, *, include_deleted: bool = False
    ) -> list[Json]:
        body: Json = {
            "object_ids": list(object_ids),
            "include_related_objects": False,
            "include_deleted_objects": include_deleted,
        }
        answer = self.parse(await self.post(CATALOG_RETRIEVE, body, operation), "BatchRetrieveCatalogObjects")
        return _objects(answer, "objects")

    async def retrieve_related(
        self, object_ids: Sequence[str], operation: str, related: bool
    ) -> tuple[list[Json], list[Json]]:
        """The objects, and (with ``related``) the images and item options they name."""
        body: Json = {"object_ids": list(object_ids), "include_related_objects": related}
        answer = self.parse(await self.post(CATALOG_RETRIEVE, body, operation), "BatchRetrieveCatalogObjects")
        return _objects(answer, "objects"), _objects(answer, "related_objects") if related else []

    async def upsert_objects(self, idempotency_key: str, objects: Sequence[Json]) -> httpx.Response:
        """One batch per object: Square applies each batch all-or-nothing, so one conflict stays alone."""
        body: Json = {"idempotency_key": idempotency_key, "batches": [{"objects": [o]} for o in objects]}
        return await self.post(CATALOG_UPSERT, body, "push_prices")

    async def change_inventory(self, idempotency_key: str, changes: Sequence[Json]) -> httpx.Response:
        body: Json = {
            "idempotency_key": idempotency_key,
            "changes": list(changes),
            "ignore_unchanged_counts": True,
        }
        return await self.post(INVENTORY_CHANGE, body, "push_inventory")

    async def retrieve_counts(
        self, object_ids: Sequence[str], location_ids: Sequence[str], cursor: str | None, operation: str
    ) -> tuple[list[Json], str | None]:
        body: Json = {
            "catalog_object_ids": list(object_ids),
            "location_ids": list(location_ids),
            "states": ["IN_STOCK"],
            "limit": MAX_COUNT_IDS,
        }
        if cursor:
            body["cursor"] = cursor
        answer = self.parse(
            await self.post(INVENTORY_COUNTS, body, operation), "BatchRetrieveInventoryCounts"
        )
        return _objects(answer, "counts"), _cursor(answer)

    async def retrieve_adjustments(
        self,
        object_ids: Sequence[str],
        location_ids: Sequence[str],
        updated_after: str,
        cursor: str | None,
        operation: str,
    ) -> tuple[list[Json], str | None]:
        """One page of the ADJUSTMENT changes of these variations at these locations since
        ``updated_after`` (BatchRetrieveInventoryChanges)."""
        body: Json = {
            "catalog_object_ids": list(object_ids),
            "location_ids": list(location_ids),
            "types": ["ADJUSTMENT"],
            "updated_after": updated_after,
            "limit": MAX_CHANGES_READ,
        }
        if cursor:
            body["cursor"] = cursor
        answer = self.parse(
            await self.post(INVENTORY_CHANGES, body, operation), "BatchRetrieveInventoryChanges"
        )
        changes = _objects(answer, "changes")
        return [as_dict(c.get("adjustment")) for c in changes if c.get("type") == "ADJUSTMENT"], _cursor(
            answer
        )

    async def search_orders(
        self, location_ids: Sequence[str], updated_after: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Json], str | None]:
        query: Json = {
            "filter": {"state_filter": {"states": ["OPEN", "COMPLETED", "CANCELED"]}},
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        }
        if updated_after:
            query["filter"]["date_time_filter"] = {"updated_at": {"start_at": updated_after}}
        body: Json = {
            "location_ids": list(location_ids),
            "query": query,
            "limit": limit,
            "return_entries": False,
        }
        if cursor:
            body["cursor"] = cursor
        answer = self.parse(await self.post(ORDERS_SEARCH, body, "pull_orders"), "SearchOrders")
        return _objects(answer, "orders"), _cursor(answer)


def as_dict(value: object) -> Json:
    """The value if it is a JSON object, else an empty one (Square omits empty fields)."""
    return value if isinstance(value, dict) else {}


def _objects(answer: Json, key: str) -> list[Json]:
    value = answer.get(key) or []
    if not isinstance(value, list):
        raise ProtocolError(f"Square answer field {key!r} is not a list")
    return [v for v in value if isinstance(v, dict)]


def _cursor(answer: Json) -> str | None:
    cursor = answer.get("cursor")
    return cursor if isinstance(cursor, str) and cursor else None
