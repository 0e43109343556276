"""The emulator's catalog items and its asynchronous Batch API (``items_batch`` handles).

Submission validates every request at once (answered in ``validation_status``: bad method, missing
id, invalid availability or visibility, malformed price); the rest is ingested later, when virtual
time reaches the handle's settle time, and failures found then (an unknown retailer id without
``allow_upsert``) are reported by ``check_batch_request_status`` (a sample in ``errors``, every id in
``ids_of_invalid_requests``).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import InstagramEmulator

AVAILABILITY = frozenset(
    {"available for order", "discontinued", "in stock", "mark_as_sold", "out of stock", "pending", "preorder"}
)
VISIBILITY = frozenset({"published", "staging"})
METHODS = frozenset({"CREATE", "UPDATE", "DELETE"})
HTML_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
PRICE = re.compile(r"^(\d+(?:\.\d{1,2})?) ([A-Z]{3})$")
ERROR_SAMPLE = 100
"""Meta returns only a sample of the errors; ``ids_of_invalid_requests`` names them all."""


@dataclass
class CatalogItem:
    item_id: str
    retailer_id: str
    name: str
    inventory: int
    price: Decimal
    currency: str
    availability: str = "in stock"
    visibility: str = "published"
    sale_price: Decimal | None = None
    content: dict[str, Any] = field(default_factory=dict)
    """Listing content (description, brand, condition, url, image_url, additional_image_urls,
    retailer_product_group_id, gtin, variant fields...) as last written."""


@dataclass
class Batch:
    handle: str
    settle_at: float
    requests: list[tuple[int, dict[str, Any]]]
    allow_upsert: bool
    status: str = "started"
    errors: list[dict[str, Any]] = field(default_factory=list)
    invalid_ids: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _price(value: object) -> tuple[Decimal, str] | None:
    match = PRICE.match(value) if isinstance(value, str) else None
    return (Decimal(match.group(1)), match.group(2)) if match else None


CONDITIONS = frozenset(
    {"cpo", "new", "open_box_new", "refurbished", "used", "used_fair", "used_good", "used_like_new"}
)
REQUIRED_ON_CREATE = (
    "name",
    "description",
    "availability",
    "condition",
    "price",
    "url",
    "image_url",
    "brand",
)
MAX_ADDITIONAL_IMAGES = 20
CONTENT_FIELDS = frozenset(
    {
        "description", "brand", "condition", "url", "image_url", "additional_image_urls",
        "retailer_product_group_id", "gtin", "category", "size", "color", "material", "pattern", "gender",
        "additional_variant_attributes", "age_group", "product_type", "fb_product_category",
        "short_description", "custom_label_0", "custom_label_1", "custom_label_2", "custom_label_3",
        "custom_label_4",
    }
)  # fmt: skip
"""ProductItem fields the emulator keeps as listing content; any other key is refused."""
KNOWN_FIELDS = CONTENT_FIELDS | {
    "id",
    "name",
    "price",
    "sale_price",
    "inventory",
    "availability",
    "visibility",
}


def _content_problems(data: dict[str, Any], method: str) -> list[str]:
    problems = [f"Unknown field {k!r} for a product item." for k in data if k not in KNOWN_FIELDS]
    if method == "CREATE":
        problems += [f"The required field {f} is missing." for f in REQUIRED_ON_CREATE if not data.get(f)]
    if "condition" in data and data["condition"] not in CONDITIONS:
        problems.append(f"Invalid value for condition: {data['condition']!r}.")
    for key in ("url", "image_url"):
        value = data.get(key)
        if value and not (isinstance(value, str) and value.startswith(("http://", "https://"))):
            problems.append(f"Invalid URL for {key}: {value!r}.")
    extra = data.get("additional_image_urls")
    if extra is not None and (not isinstance(extra, list) or len(extra) > MAX_ADDITIONAL_IMAGES):
        problems.append(f"additional_image_urls: at most {MAX_ADDITIONAL_IMAGES} image URLs.")
    if len(str(data.get("name") or "")) > 200:
        problems.append("name: at most 200 characters.")
    if HTML_TAG.search(str(data.get("description") or "")):
        problems.append("description: HTML is not supported; use plain text.")
    return problems


def validate(data: dict[str, Any], method: str = "UPDATE") -> list[str]:
    """Errors Meta reports synchronously for one request's ``data``."""
    problems: list[str] = []
    if not isinstance(data.get("id"), str) or not data["id"]:
        problems.append("The required field id (retailer id) is missing.")
    problems += _content_problems(data, method)
    if "availability" in data and data["availability"] not in AVAILABILITY:
        problems.append(f"Invalid value for availability: {data['availability']!r}.")
    if "visibility" in data and data["visibility"] not in VISIBILITY:
        problems.append(f"Invalid value for visibility: {data['visibility']!r}.")
    if "price" in data and _price(data["price"]) is None:
        problems.append(
            f"Invalid price format {data['price']!r}: use an amount and an ISO 4217 code, e.g. 9.99 USD."
        )
    if "sale_price" in data and data["sale_price"] != "" and _price(data["sale_price"]) is None:
        problems.append(f"Invalid sale_price format {data['sale_price']!r}.")
    inventory = data.get("inventory")
    if "inventory" in data and (
        not isinstance(inventory, int) or isinstance(inventory, bool) or inventory < 0
    ):
        problems.append(f"Invalid inventory {inventory!r}: must be a non-negative integer.")
    return problems


class BatchProcessor:
    def __init__(self, emulator: InstagramEmulator, *, settle_s: float, per_item_s: float) -> None:
        self._emulator = emulator
        self._settle_s = settle_s
        self._per_item_s = per_item_s
        self.batches: dict[str, Batch] = {}
        self.warnings: dict[str, str] = {}
        """Retailer id -> the warning its next ingested request gets (``InstagramEmulator.warn``)."""

    def submit(self, requests: list[Any], allow_upsert: bool) -> dict[str, Any]:
        """Answer of ``POST /{catalog_id}/items_batch``: ``handles`` and ``validation_status``."""
        validation: list[dict[str, Any]] = []
        accepted: list[tuple[int, dict[str, Any]]] = []
        for line, request in enumerate(requests):
            data = request.get("data") if isinstance(request, dict) else None
            retailer_id = str(data.get("id", "")) if isinstance(data, dict) else ""
            if not isinstance(request, dict) or request.get("method") not in METHODS:
                method = request.get("method") if isinstance(request, dict) else None
                problems = [f"Unknown request method: {method!r}."]
            elif not isinstance(data, dict):
                problems = ["The request has no data object."]
            else:
                problems = validate(data, str(request["method"]))
            if problems:
                validation.append(
                    {"retailer_id": retailer_id, "errors": [{"message": p} for p in problems], "warnings": []}
                )
            else:
                accepted.append((line, {"method": request["method"], "data": data}))
        handles: list[str] = []
        if accepted:
            raw = f"{self._emulator.catalog_id}:{self._emulator.next_id()}".encode()
            handle = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            settle_at = self._emulator.clock.monotonic() + self._settle_s + self._per_item_s * len(accepted)
            self.batches[handle] = Batch(handle, settle_at, accepted, allow_upsert)
            handles.append(handle)
        return {"handles": handles, "validation_status": validation}

    def settle_due(self) -> None:
        now = self._emulator.clock.monotonic()
        for batch in self.batches.values():
            if batch.status != "finished" and now >= batch.settle_at:
                self._apply(batch)

    def status(self, handle: str, load_ids: bool) -> dict[str, Any] | None:
        self.settle_due()
        batch = self.batches.get(handle)
        if batch is None:
            return None
        element: dict[str, Any] = {
            "handle": handle,
            "status": batch.status,
            "errors_total_count": len(batch.errors),
            "errors": batch.errors[:ERROR_SAMPLE],
            "warnings_total_count": len(batch.warnings),
            "warnings": batch.warnings[:ERROR_SAMPLE],
        }
        if load_ids:
            element["ids_of_invalid_requests"] = list(batch.invalid_ids)
        return element

    def _apply(self, batch: Batch) -> None:
        items = self._emulator.items
        for line, request in batch.requests:
            data, method = request["data"], request["method"]
            retailer_id = data["id"]
            item = items.get(retailer_id)
            if method == "DELETE":
                items.pop(retailer_id, None)
                continue
            if item is None and (method == "UPDATE" and not batch.allow_upsert):
                self._fail(
                    batch,
                    line,
                    retailer_id,
                    f"Product with retailer id {retailer_id} does not exist in catalog.",
                )
                continue
            if item is None:
                price = _price(data.get("price"))
                if price is None or not data.get("name"):
                    self._fail(
                        batch, line, retailer_id, "Required fields missing for a new item: name, price."
                    )
                    continue
                item = self._emulator.seed_item(
                    retailer_id, 0, price[0], currency=price[1], name=str(data["name"])
                )
            self._update(item, data)
            warning = self.warnings.pop(retailer_id, None)
            if warning is not None:  # ingested, with Meta's remark on it
                batch.warnings.append({"line": line, "id": retailer_id, "message": warning})
        batch.status = "finished"

    @staticmethod
    def _fail(batch: Batch, line: int, retailer_id: str, message: str) -> None:
        batch.errors.append({"line": line, "id": retailer_id, "message": message})
        batch.invalid_ids.append(retailer_id)

    @staticmethod
    def _update(item: CatalogItem, data: dict[str, Any]) -> None:
        if "inventory" in data:
            item.inventory = data["inventory"]
        if "availability" in data:
            item.availability = data["availability"]
        if "visibility" in data:
            item.visibility = data["visibility"]
        if "name" in data:
            item.name = str(data["name"])
        item.content.update({k: v for k, v in data.items() if k in CONTENT_FIELDS})
        price = _price(data.get("price"))
        if price is not None:
            item.price, item.currency = price
        if "sale_price" in data:
            sale = _price(data["sale_price"])
            item.sale_price = sale[0] if sale else None
