"""State of the Amazon emulator: listings, orders, feed documents and feeds, and how Amazon applies
listings patches and JSON_LISTINGS_FEED messages to them. No HTTP here (see emulator_app.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Json = dict[str, Any]
INVALID_CODE = "90000900"
"""Amazon's issue code for 'The attributes are invalid.'"""
MISSING_CODE = "99022"
"""Amazon's issue code for 'does not have enough values'."""
MAX_FEED_MESSAGES = 25_000


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Listing:
    sku: str
    product_type: str
    asin: str | None
    quantity: int | None
    price: Decimal | None
    currency: str
    item_name: str
    created: datetime
    updated: datetime
    attributes: Json = field(default_factory=dict)
    issues: list[Json] = field(default_factory=list)
    """What Amazon says about the listing after accepting it (``includedData=issues``)."""
    restock: Json = field(default_factory=dict)
    """The DEFAULT fulfillment availability's ``restock_date`` and ``lead_time_to_ship_max_days``, when
    given (a seller's backorder / preorder: the date stock comes in, the handling time until then)."""


@dataclass
class OrderItem:
    item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    unit_price: Decimal
    shipped: int = 0


@dataclass
class EmulatedOrder:
    order_id: str
    status: str
    purchased: datetime
    updated: datetime
    items: list[OrderItem]
    currency: str
    marketplace_id: str
    fulfillment: str = "MFN"
    """MFN: the seller ships; AFN: Amazon ships from its fulfilment centres (FBA)."""


@dataclass
class FeedDocument:
    doc_id: str
    content_type: str
    url_expires: datetime
    content: bytes | None = None
    compression: str | None = None


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_doc: str
    created: datetime
    start_s: float
    end_s: float
    messages: int
    status: str = "IN_QUEUE"
    started: datetime | None = None
    ended: datetime | None = None
    result_doc: str | None = None
    fatal: str | None = None


def issue(code: str, message: str, attribute: str | None = None) -> Json:
    """A Listings Items API Issue (code, message, severity, categories)."""
    found: Json = {"code": code, "message": message, "severity": "ERROR", "categories": []}
    if attribute:
        found["attributeNames"] = [attribute]
        found["categories"] = ["INVALID_ATTRIBUTE"]
    return found


def _entries(patch: Json) -> list[Json] | None:
    value = patch.get("value")
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return None
    return value


def apply_patches(
    listing: Listing, patches: list[Any], *, marketplace_id: str, currency: str, now: datetime
) -> list[Json]:
    """Apply JSON Patch operations to top-level attributes as Amazon does; the issues if any (then nothing
    is applied)."""
    changes: list[tuple[str, Any]] = []
    for patch in patches:
        if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "merge", "delete"):
            return [issue(INVALID_CODE, "The attributes are invalid.")]
        path = patch.get("path")
        if not isinstance(path, str) or not path.startswith("/attributes/") or path.count("/") != 2:
            return [issue(INVALID_CODE, "Only top-level attributes can be patched.")]
        name = path.removeprefix("/attributes/")
        if patch["op"] == "delete":
            changes.append((name, None))
            continue
        entries = _entries(patch)
        if entries is None:
            return [issue(INVALID_CODE, "The attributes are invalid.", name)]
        if name == "fulfillment_availability":
            found = _quantity(entries)
            if isinstance(found, dict):
                return [found]
            restock = _restock(entries)
            if restock is None:
                return [issue(INVALID_CODE, "The attributes are invalid.", "fulfillment_availability")]
            changes.append(("quantity", found))
            changes.append(("restock", restock))
        elif name == "purchasable_offer":
            offer = _price(entries, marketplace_id, currency)
            if isinstance(offer, dict):
                return [offer]
            changes.append(("price", offer))
        else:
            changes.append((name, entries))
    for name, value in changes:
        if name == "quantity":
            listing.quantity = value
        elif name == "restock":
            listing.restock = value
        elif name == "price":
            listing.price = value
        elif name == "fulfillment_availability":
            listing.quantity = None
            listing.restock = {}
        elif name == "purchasable_offer":
            listing.price = None
        elif value is None:
            listing.attributes.pop(name, None)
        else:
            listing.attributes[name] = value
            if name == "item_name" and isinstance(value[0], dict) and value[0].get("value"):
                listing.item_name = str(value[0]["value"])  # the summary's itemName follows
    listing.updated = now
    return []


def _quantity(entries: list[Json]) -> int | Json:
    default = [e for e in entries if e.get("fulfillment_channel_code") == "DEFAULT"]
    if not default:
        return issue(
            MISSING_CODE,
            "The field 'fulfillment_channel_code' for the attribute 'fulfillment_availability' does not have "
            "enough values. The required minimum is '1' value(s).",
            "fulfillment_availability",
        )
    quantity = default[0].get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        return issue(INVALID_CODE, "The attributes are invalid.", "fulfillment_availability")
    return quantity


def _restock(entries: list[Json]) -> Json | None:
    """The DEFAULT entry's restock date (``YYYY-MM-DD``) and handling time (whole days ≥ 0), as
    given; None when either is malformed."""
    entry = next(e for e in entries if e.get("fulfillment_channel_code") == "DEFAULT")
    out: Json = {}
    if "restock_date" in entry:
        try:
            out["restock_date"] = date.fromisoformat(str(entry["restock_date"])).isoformat()
        except ValueError:
            return None
    if "lead_time_to_ship_max_days" in entry:
        days = entry["lead_time_to_ship_max_days"]
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            return None
        out["lead_time_to_ship_max_days"] = days
    return out


def _price(entries: list[Json], marketplace_id: str, currency: str) -> Decimal | Json:
    offers = [e for e in entries if e.get("marketplace_id") == marketplace_id]
    schedule = None
    if offers and isinstance(offers[0].get("our_price"), list) and offers[0]["our_price"]:
        first = offers[0]["our_price"][0]
        schedule = first.get("schedule") if isinstance(first, dict) else None
    if not isinstance(schedule, list) or not schedule or not isinstance(schedule[0], dict):
        return issue(
            MISSING_CODE,
            "The field 'prices' for the attribute 'purchasable_offer.our_price' does not have enough values. "
            "The required minimum is '1' value(s).",
            "purchasable_offer",
        )
    if offers[0].get("currency") != currency:
        return issue(
            INVALID_CODE, f"The currency must be {currency} in this marketplace.", "purchasable_offer"
        )
    raw = schedule[0].get("value_with_tax")
    try:
        price = Decimal(str(raw)) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    except InvalidOperation:
        price = None
    if price is None or price <= 0:
        return issue(INVALID_CODE, "The attributes are invalid.", "purchasable_offer")
    return price


def parse_feed(content: bytes | None, seller_id: str) -> tuple[list[Json], str | None]:
    """The messages of a listings feed (v2), or the fatal reason why it cannot be processed."""
    if content is None:
        return [], "The feed document was never uploaded."
    try:
        document = json.loads(content)
    except ValueError:
        return [], "The feed document is not valid JSON."
    if not isinstance(document, dict):
        return [], "The feed document is not a JSON object."
    header, messages = document.get("header"), document.get("messages")
    if not isinstance(header, dict) or header.get("version") != "2.0":
        return [], "The feed header is missing or its version is not 2.0."
    if header.get("sellerId") != seller_id:
        return [], "The sellerId in the feed header does not match the selling partner of the request."
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_FEED_MESSAGES:
        return [], f"A feed must carry between 1 and {MAX_FEED_MESSAGES} messages."
    return [m for m in messages if isinstance(m, dict)], None


def report_issue(message: Json, found: Json) -> Json:
    """A processing-report issue for one message, from a Listings Items issue."""
    entry: Json = {"severity": found["severity"], "message": found["message"], "code": found["code"]}
    if isinstance(message.get("messageId"), int) and message["messageId"] >= 1:
        entry["messageId"] = message["messageId"]
    if isinstance(message.get("sku"), str) and message["sku"]:
        entry["sku"] = message["sku"]
    if found.get("attributeNames"):
        entry["attributeName"] = found["attributeNames"][0]
    return entry
