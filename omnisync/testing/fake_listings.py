"""The fake channel's listing API: products with variants, created, updated and unpublished (never
deleted), and the rules it refuses by. Served by :class:`~omnisync.testing.fake.FakeChannelAPI`:

    POST /listings            {"listings": [{"key", "id"?, "title", "description", "images",
                                "options", "publish", "variants": [{"sku", "title", "options",
                                "barcode", "price"}]}]}   (<= 20 listings)
                              -> {"results": [{"key", "status": ok|error, "id", "variants": {sku: id},
                                  "errors": [...]}]}
    POST /listings/unpublish  {"ids": [...]} -> {"results": [{"id", "status", "errors"}]}

A listing's variants become the channel's items (``GET /items`` finds them), so stock and prices
follow them as they follow items created by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from omnisync.sdk.listings import ListingContent, ListingRef, ListingResult, ListingRules

MAX_LISTINGS = 20
MAX_IMAGES = 5
TITLE_MAX = 100
RULES = ListingRules(
    "the fake channel", title_max=TITLE_MAX, html=False, max_images=MAX_IMAGES, required=("title",)
)


@dataclass
class FakeListing:
    id: str
    key: str
    title: str
    description: str
    images: list[str]
    options: list[str]
    published: bool
    variants: dict[str, str] = field(default_factory=dict)
    """Channel SKU -> item id."""


def _refusals(body: Mapping[str, Any]) -> list[str]:
    errors = []
    title = str(body.get("title") or "")
    if not title.strip():
        errors.append("title is required")
    elif len(title) > TITLE_MAX:
        errors.append(f"title is longer than {TITLE_MAX} characters")
    if len(body.get("images") or []) > MAX_IMAGES:
        errors.append(f"at most {MAX_IMAGES} images")
    if "<" in str(body.get("description") or ""):
        errors.append("description may not contain HTML")
    if not body.get("variants"):
        errors.append("a listing needs at least one variant")
    for v in body.get("variants") or []:
        try:
            price = Decimal(str(v.get("price")))
        except InvalidOperation:
            price = Decimal(-1)
        if price <= 0:
            errors.append(f"variant {v.get('sku')}: price must be above zero")
    return errors


class FakeListingStore:
    """The fake platform's listings; ``new_item(sku, price)`` creates (or adopts) the item of a variant."""

    def __init__(self, next_id: Callable[[], str], new_item: Callable[[str, Decimal], str]) -> None:
        self.listings: dict[str, FakeListing] = {}
        self._next_id = next_id
        self._new_item = new_item

    def by_key(self, key: str) -> FakeListing | None:
        return next((li for li in self.listings.values() if li.key == key), None)

    def upsert(self, body: Mapping[str, Any]) -> httpx.Response:
        given = body.get("listings") or []
        if len(given) > MAX_LISTINGS:
            return httpx.Response(400, json={"error": f"at most {MAX_LISTINGS} listings"})
        return httpx.Response(200, json={"results": [self._one(item) for item in given]})

    def _one(self, item: Mapping[str, Any]) -> dict[str, Any]:
        key = str(item.get("key"))
        errors = _refusals(item)
        listing = self.listings.get(str(item.get("id") or "")) or self.by_key(key)
        owners = {sku: li for li in self.listings.values() for sku in li.variants if li is not listing}
        errors += [
            f"SKU {v['sku']} belongs to listing {owners[v['sku']].id}"
            for v in item.get("variants") or []
            if v["sku"] in owners
        ]
        if errors:
            return {"key": key, "status": "error", "errors": errors}
        if listing is None:
            listing = FakeListing(self._next_id(), key, "", "", [], [], True)
            self.listings[listing.id] = listing
        listing.title, listing.description = str(item["title"]), str(item.get("description") or "")
        listing.images, listing.options = list(item.get("images") or []), list(item.get("options") or [])
        listing.published = bool(item.get("publish", True))
        for v in item["variants"]:
            if v["sku"] not in listing.variants:
                listing.variants[v["sku"]] = self._new_item(v["sku"], Decimal(str(v["price"])))
        return {"key": key, "status": "ok", "id": listing.id, "variants": dict(listing.variants)}

    def unpublish(self, body: Mapping[str, Any]) -> httpx.Response:
        results = []
        for lid in body.get("ids") or []:
            listing = self.listings.get(str(lid))
            if listing is None:
                results.append({"id": lid, "status": "error", "errors": ["no such listing"]})
                continue
            listing.published = False
            results.append({"id": lid, "status": "ok"})
        return httpx.Response(200, json={"results": results})


def listing_payload(c: ListingContent) -> dict[str, Any]:
    return {
        "key": c.key,
        "id": c.ids.get("id"),
        "title": c.title,
        "description": c.description,
        "images": list(c.images),
        "options": list(c.options),
        "publish": c.publish,
        "variants": [
            {
                "sku": v.channel_sku,
                "title": v.title,
                "options": dict(v.options),
                "barcode": v.barcode,
                "price": str(v.price),
            }
            for v in c.variants
        ],
    }


def listing_result(key: str, answer: Mapping[str, Any] | None) -> ListingResult:
    if answer is None:
        return ListingResult.retry(key, "no result for this listing")
    if answer.get("status") == "ok":
        variants = {sku: {"id": str(item)} for sku, item in (answer.get("variants") or {}).items()}
        return ListingResult.accepted(key, {"id": str(answer["id"])}, variants)
    return ListingResult.rejected(key, *(str(e) for e in answer.get("errors") or ()))


def unpublish_payload(refs: list[ListingRef]) -> dict[str, Any]:
    return {"ids": [r.ids.get("id") for r in refs if r.ids.get("id")]}
