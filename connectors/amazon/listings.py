"""Amazon listings: putListingsItem with the product type's attributes, checked first against the
product type's JSON Schema (getDefinitionsProductType, the schema downloaded once and cached by its
checksum).

A product with options becomes a variation family: a parent SKU (the catalogue product's key, no
offer) with ``variation_theme``, and one child per variant pointing at it through
``child_parent_sku_relationship``; a product without options is one listing. A new listing is put
whole, with its offer and 0 units (the stock push takes over); an existing one gets its content
attributes replaced with patchListingsItem, so a content edit never touches its quantity or offer.
Unpublishing deletes the offer (``purchasable_offer``): the listing stays, not buyable. Amazon's
issues (the local schema's, or the answer's) are the listing's issues.

From ``feed_listings_from`` products in one push, the same messages go as JSON_LISTINGS_FEED feeds of
at most 25,000 messages, submitted together: an ``UPDATE`` (the whole listing, ``requirements``
LISTING) for a new SKU, a ``PATCH`` of the content attributes for an existing one; each message is
checked against the product type's schema first, and the processing report's issues are mapped back to
their SKU by ``messageId``; as many discontinued products go as ``PATCH`` messages deleting each
variant's offer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft201909Validator

from omnisync.sdk import (
    ItemError,
    ListingContent,
    ListingRef,
    ListingResult,
    ListingVariant,
    ProtocolError,
    RetryableError,
)

from .client import SpApi
from .feeds import FeedOutcome, FeedRunner
from .schema_check import schema_issues, validator
from .settings import AmazonSettings

CONDITIONS = {"new": "new_new", "used": "used_good", "refurbished": "refurbished_refurbished"}
OFFER_ATTRIBUTES = ("purchasable_offer", "fulfillment_availability")
OFFER_DELETE = ({"op": "delete", "path": "/attributes/purchasable_offer"},)
"""Unpublishing: the offer deleted, the listing kept (not buyable)."""
DEFINITION_TTL_S = 3600.0
"""How long a product type definition is trusted before it is asked again (its checksum then says
whether the schema itself changed)."""
THEMES = {"size": "SIZE", "color": "COLOR", "colour": "COLOR"}


@dataclass(frozen=True)
class Message:
    """One listing item to write: its SKU, the channel's ids known for it, its attributes."""

    sku: str
    ids: Mapping[str, str]
    attributes: dict[str, Any]


def _one(value: Any, marketplace: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"value": value, "marketplace_id": marketplace, **extra}]


def _gtin_type(code: str) -> str:
    return {12: "upc", 13: "ean"}.get(len(code), "gtin")


def messages(listing: ListingContent, settings: AmazonSettings, language: str = "en_US") -> list[Message]:
    """The listing items for ``listing`` (a parent first when it has options). Pure."""
    market = settings.marketplace_id
    common: dict[str, Any] = {
        "item_name": _one(listing.title, market, language_tag=language),
        "brand": _one(listing.brand, market),
        "product_description": _one(listing.description, market, language_tag=language),
        "condition_type": _one(CONDITIONS.get(listing.condition, listing.condition), market),
    }
    if listing.images:
        common["main_product_image_locator"] = [
            {"media_location": listing.images[0], "marketplace_id": market}
        ]
    for n, url in enumerate(listing.images[1:9], 1):
        common[f"other_product_image_locator_{n}"] = [{"media_location": url, "marketplace_id": market}]
    common.update({name: _one(value, market) for name, value in listing.attributes.items()})
    out: list[Message] = []
    family = bool(listing.options)
    if family:
        theme = "/".join(THEMES.get(o.lower(), o.upper()) for o in listing.options)
        parent = {
            **common,
            "parentage_level": _one("parent", market),
            "variation_theme": [{"name": theme, "marketplace_id": market}],
        }
        out.append(Message(listing.key, listing.ids, parent))
    for v in listing.variants:
        out.append(Message(v.channel_sku, v.ids, _child(listing, v, common, market, family)))
    return out


def _child(
    listing: ListingContent, v: ListingVariant, common: dict[str, Any], market: str, family: bool
) -> dict[str, Any]:
    attributes = {
        **common,
        "item_name": _one(v.title, market, language_tag=common["item_name"][0]["language_tag"]),
    }
    attributes.update({name: _one(value, market) for name, value in v.attributes.items()})
    if v.barcode:
        attributes["externally_assigned_product_identifier"] = [
            {"type": _gtin_type(v.barcode), "value": v.barcode, "marketplace_id": market}
        ]
    if family:
        attributes["parentage_level"] = _one("child", market)
        attributes["child_parent_sku_relationship"] = [
            {"child_relationship_type": "variation", "parent_sku": listing.key, "marketplace_id": market}
        ]
        for name, value in v.options.items():
            attributes[THEMES.get(name.lower(), name.lower()).lower()] = _one(value, market)
    attributes["purchasable_offer"] = [
        {
            "marketplace_id": market,
            "currency": v.currency,
            "our_price": [{"schedule": [{"value_with_tax": float(v.price)}]}],
        }
    ]
    attributes["fulfillment_availability"] = [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]
    return attributes


def content_patches(m: Message) -> list[dict[str, Any]]:
    """An existing listing's content replaced, its offer and quantity left alone."""
    return [
        {"op": "replace", "path": f"/attributes/{name}", "value": value}
        for name, value in m.attributes.items()
        if name not in OFFER_ATTRIBUTES
    ]


def feed_message(m: Message, product_type: str) -> dict[str, Any]:
    """The JSON_LISTINGS_FEED message writing ``m``: UPDATE (whole listing) when new, else PATCH."""
    if not m.ids:
        return {
            "sku": m.sku,
            "operationType": "UPDATE",
            "productType": product_type,
            "requirements": "LISTING",
            "attributes": m.attributes,
        }
    return {
        "sku": m.sku,
        "operationType": "PATCH",
        "productType": product_type,
        "patches": content_patches(m),
    }


class ListingWriter:
    def __init__(self, api: SpApi, settings: AmazonSettings, feeds: FeedRunner | None = None) -> None:
        self.api = api
        self.settings = settings
        self.feeds = feeds
        self._schemas: dict[str, tuple[str, Draft201909Validator, float]] = {}
        """product type -> (schema checksum, its validator, when the definition was last asked)."""

    async def schema(self, product_type: str) -> Draft201909Validator:
        """The product type's schema validator: the definition asked again after DEFINITION_TTL_S, the
        schema downloaded again only when its checksum moves."""
        cached = self._schemas.get(product_type)
        now = self.api.context.clock.monotonic()
        if cached is not None and now - cached[2] < DEFINITION_TTL_S:
            return cached[1]
        definition = await self.api.product_type_definition(product_type)
        link = definition.get("schema") or {}
        checksum = str(link.get("checksum") or "")
        if cached is not None and cached[0] == checksum:
            self._schemas[product_type] = (checksum, cached[1], now)
            return cached[1]
        resource = str((link.get("link") or {}).get("resource") or "")
        if not resource:
            raise ProtocolError(
                f"product type {product_type}: the definition has no schema link", channel=self.api.channel
            )
        check = validator(await self.api.fetch_json(resource, f"{product_type} schema"))
        self._schemas[product_type] = (checksum, check, now)
        return check

    async def upsert(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        most = self.settings.feed_listings_from
        if self.feeds is not None and most is not None and len(listings) >= most:
            return await self._upsert_feed(self.feeds, listings)
        return [await self._one(listing) for listing in listings]

    async def _prepare(self, listing: ListingContent) -> tuple[str, list[Message]] | ListingResult:
        """The listing's product type and items, checked against its schema; else its result."""
        product_type = listing.category or "PRODUCT"
        try:
            check = await self.schema(product_type)
        except ItemError as exc:
            return ListingResult.rejected(listing.key, f"product type {product_type}: {exc.message}")
        except (RetryableError, ProtocolError) as exc:
            return ListingResult.retry(listing.key, exc.message)
        items = messages(listing, self.settings)
        local = [f"{m.sku}: {text}" for m in items for _, text in schema_issues(check, m.attributes)]
        if local:  # checked against the product type before any call
            return ListingResult.rejected(listing.key, *local)
        return product_type, items

    def _accepted(
        self, listing: ListingContent, product_type: str, skus: Sequence[str], warnings: Sequence[str] = ()
    ) -> ListingResult:
        ids = {"marketplace_id": self.settings.marketplace_id, "product_type": product_type}
        return ListingResult.accepted(
            listing.key,
            {"sku": listing.key, "product_type": product_type},
            {sku: dict(ids) for sku in skus if sku != listing.key or not listing.options},
            tuple(warnings),
        )

    async def _one(self, listing: ListingContent) -> ListingResult:
        prepared = await self._prepare(listing)
        if isinstance(prepared, ListingResult):
            return prepared
        product_type, items = prepared
        issues: list[str] = []
        for m in items:
            try:
                answer = await self._write(m, product_type)
            except (RetryableError, ProtocolError) as exc:
                return ListingResult.retry(listing.key, exc.message)
            except ItemError as exc:
                return ListingResult.rejected(listing.key, f"{m.sku}: {exc.message}")
            errors = [
                i for i in answer.get("issues") or [] if isinstance(i, dict) and i.get("severity") == "ERROR"
            ]
            if answer.get("status") != "ACCEPTED" or errors:
                issues += [f"{m.sku}: {i.get('message')}" for i in errors] or [
                    f"{m.sku}: {answer.get('status')}"
                ]
        if issues:
            return ListingResult.rejected(listing.key, *issues)
        return self._accepted(listing, product_type, [m.sku for m in items])

    async def _upsert_feed(
        self, feeds: FeedRunner, listings: Sequence[ListingContent]
    ) -> list[ListingResult]:
        results: dict[int, ListingResult] = {}
        sent: list[tuple[int, str, list[Message]]] = []
        batch: list[dict[str, Any]] = []
        for n, listing in enumerate(listings):
            prepared = await self._prepare(listing)
            if isinstance(prepared, ListingResult):
                results[n] = prepared
                continue
            product_type, items = prepared
            sent.append((n, product_type, items))
            batch += [feed_message(m, product_type) for m in items]
        try:
            feeds_done = await feeds.run_messages(batch) if batch else []
        except (RetryableError, ProtocolError) as exc:
            return [results.get(n) or ListingResult.retry(x.key, exc.message) for n, x in enumerate(listings)]
        except ItemError as exc:
            return [
                results.get(n) or ListingResult.rejected(x.key, exc.message) for n, x in enumerate(listings)
            ]
        answers = iter(feed_answers(feeds_done))
        for n, product_type, items in sent:
            listing = listings[n]
            errors, warnings, unsettled = settle([m.sku for m in items], answers)
            if errors:
                results[n] = ListingResult.rejected(listing.key, *errors)
            elif unsettled is not None:
                results[n] = ListingResult.retry(listing.key, unsettled)
            else:
                results[n] = self._accepted(listing, product_type, [m.sku for m in items], warnings)
        return [results[n] for n in range(len(listings))]

    async def _write(self, m: Message, product_type: str) -> dict[str, Any]:
        if not m.ids:
            return await self.api.put_listings_item(m.sku, product_type, m.attributes)
        return await self.api.patch_listings_item(m.sku, product_type, content_patches(m))

    async def unpublish(self, refs: Sequence[ListingRef]) -> list[ListingResult]:
        most = self.settings.feed_listings_from
        if self.feeds is not None and most is not None and len(refs) >= most:
            return await self._unpublish_feed(self.feeds, refs)
        out = []
        for ref in refs:
            product_type = ref.ids.get("product_type") or "PRODUCT"
            problems: list[str] = []
            for sku in ref.channel_skus:
                patch = list(OFFER_DELETE)
                try:
                    answer = await self.api.patch_listings_item(sku, product_type, patch)
                except (RetryableError, ProtocolError) as exc:
                    problems.append(f"{sku}: {exc.message}")
                    continue
                if answer.get("status") != "ACCEPTED":
                    problems += [
                        f"{sku}: {i.get('message')}"
                        for i in answer.get("issues") or []
                        if isinstance(i, dict)
                    ]
            out.append(
                ListingResult.rejected(ref.key, *problems)
                if problems
                else ListingResult.accepted(ref.key, ref.ids)
            )
        return out

    async def _unpublish_feed(self, feeds: FeedRunner, refs: Sequence[ListingRef]) -> list[ListingResult]:
        """Each variant's offer deleted by a ``PATCH`` message, in feeds of at most 25,000."""
        batch = [
            {
                "sku": sku,
                "operationType": "PATCH",
                "productType": ref.ids.get("product_type") or "PRODUCT",
                "patches": list(OFFER_DELETE),
            }
            for ref in refs
            for sku in ref.channel_skus
        ]
        try:
            feeds_done = await feeds.run_messages(batch) if batch else []
        except (RetryableError, ProtocolError) as exc:
            return [ListingResult.retry(ref.key, exc.message) for ref in refs]
        except ItemError as exc:
            return [ListingResult.rejected(ref.key, exc.message) for ref in refs]
        answers = iter(feed_answers(feeds_done))
        out = []
        for ref in refs:
            errors, warnings, unsettled = settle(ref.channel_skus, answers)
            if errors:
                out.append(ListingResult.rejected(ref.key, *errors))
            elif unsettled is not None:
                out.append(ListingResult.retry(ref.key, unsettled))
            else:
                out.append(ListingResult.accepted(ref.key, ref.ids, issues=tuple(warnings)))
        return out


def feed_answers(feeds_done: Sequence[tuple[range, FeedOutcome]]) -> list[tuple[FeedOutcome, int]]:
    """Per message sent, in order: its feed's outcome and its ``messageId`` there."""
    return [(outcome, position - chunk.start + 1) for chunk, outcome in feeds_done for position in chunk]


def settle(
    skus: Sequence[str], answers: Iterator[tuple[FeedOutcome, int]]
) -> tuple[list[str], list[str], str | None]:
    """The next ``len(skus)`` messages' answers: ERROR issues, other issues, and why they are not
    settled (their feed did not end DONE), each issue named by its SKU."""
    errors: list[str] = []
    warnings: list[str] = []
    unsettled: str | None = None
    for sku in skus:
        outcome, message_id = next(answers)
        for issue in outcome.issues.get(message_id, []):
            text = f"{sku}: {issue.get('code', 'issue')}: {issue.get('message', '')}"
            (errors if issue.get("severity") == "ERROR" else warnings).append(text)
        if outcome.status != "DONE":
            unsettled = outcome.reason or f"feed {outcome.feed_id} ended {outcome.status}"
    return errors, warnings, unsettled
