"""Shopify listings: one ``productSet`` per product (options, variants, media by URL, content) and
``publishablePublish`` / ``publishableUnpublish`` on the configured sales channel publication; from
``bulk_listings_from`` products in one push, the same mutations as bulk operations (``bulk.py``): one
``productSet`` bulk operation, then one for the publications.

``productSet`` is found by handle (the catalogue product's, slugged) until the product's id is known,
so a create repeated after a lost answer updates the product instead of making a second one. The
variables are built by :func:`product_set_input` (pure); the answer's ``userErrors`` are the
listing's issues. A product without options gets Shopify's own ``Title`` / ``Default Title``.
Unpublishing sets the product to DRAFT and takes it off the publication: never deleted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from omnisync.sdk import (
    ItemError,
    ItemStatus,
    ListingContent,
    ListingRef,
    ListingResult,
    ProtocolError,
    RetryableError,
)

from . import documents as docs
from .bulk import BulkOutcome, BulkRunner
from .client import AdminGraphQL

DEFAULT_OPTION = ("Title", "Default Title")
_SLUG = re.compile(r"[^a-z0-9]+")


def handle_for(key: str) -> str:
    """The Shopify handle of catalogue product ``key`` (``Classic Tee/2`` -> ``classic-tee-2``)."""
    return _SLUG.sub("-", key.lower()).strip("-") or "product"


def product_set_input(listing: ListingContent) -> dict[str, Any]:
    """``ProductSetInput`` for the listing: every list field given, so the product is exactly this."""
    options = list(listing.options) or [DEFAULT_OPTION[0]]
    values: dict[str, list[str]] = {name: [] for name in options}
    variants = []
    for position, v in enumerate(listing.variants, 1):
        chosen = dict(v.options) if listing.options else {DEFAULT_OPTION[0]: DEFAULT_OPTION[1]}
        for name in options:
            if chosen.get(name) and chosen[name] not in values[name]:
                values[name].append(chosen[name])
        entry: dict[str, Any] = {
            "optionValues": [{"optionName": name, "name": chosen.get(name, "")} for name in options],
            "price": str(v.price),
            "position": position,
            "inventoryItem": {"sku": v.channel_sku, "tracked": True},
        }
        if v.barcode:
            entry["barcode"] = v.barcode
        if v.ids.get("variant_id"):
            entry["id"] = v.ids["variant_id"]
        variants.append(entry)
    return {
        "title": listing.title,
        "descriptionHtml": listing.description,
        "vendor": listing.brand,
        "productType": listing.category,
        "status": "ACTIVE" if listing.publish else "DRAFT",
        "handle": handle_for(listing.key),
        "productOptions": [
            {"name": name, "position": n, "values": [{"name": x} for x in values[name]]}
            for n, name in enumerate(options, 1)
        ],
        "files": [{"originalSource": url, "contentType": "IMAGE"} for url in listing.images],
        "variants": variants,
    }


def _issues(errors: object) -> tuple[str, ...]:
    if not isinstance(errors, list):
        return ()
    return tuple(
        f"{'.'.join(e.get('field') or []) or 'product'}: {e.get('message')}"
        for e in errors
        if isinstance(e, Mapping)
    )


def identifier(listing: ListingContent) -> dict[str, str]:
    """``ProductSetIdentifiers``: the product's id once known, else its handle (so a repeated create
    updates the product instead of making a second one)."""
    product_id = listing.ids.get("product_id")
    return {"id": product_id} if product_id else {"handle": handle_for(listing.key)}


def product_result(listing: ListingContent, payload: Mapping[str, Any]) -> ListingResult:
    """The listing's result from a ``ProductSetPayload`` (publication not included)."""
    issues = _issues(payload.get("userErrors"))
    product = payload.get("product")
    if issues or not isinstance(product, Mapping):
        return ListingResult.rejected(listing.key, *(issues or ("productSet returned no product",)))
    gid = str(product["id"])
    variant_ids = {
        str(node.get("sku")): {
            "variant_id": str(node.get("id")),
            "product_id": gid,
            "inventory_item_id": str((node.get("inventoryItem") or {}).get("id")),
        }
        for node in (product.get("variants") or {}).get("nodes") or []
    }
    return ListingResult.accepted(listing.key, {"product_id": gid}, variant_ids)


def line_errors(line: Mapping[str, Any]) -> tuple[str, ...]:
    """The GraphQL errors a bulk result line carries instead of data."""
    return tuple(
        str(e.get("message")) for e in line.get("errors") or [] if isinstance(e, Mapping) and e.get("message")
    )


class ListingWriter:
    def __init__(
        self,
        graphql: AdminGraphQL,
        publication_id: str | None,
        bulk: BulkRunner | None = None,
        bulk_from: int | None = None,
    ) -> None:
        self.graphql = graphql
        self.publication_id = publication_id
        self.bulk = bulk
        self.bulk_from = bulk_from
        """Products in one push from which the bulk operations are used (None: never)."""

    def _bulk(self, count: int) -> BulkRunner | None:
        return self.bulk if self.bulk_from is not None and count >= self.bulk_from else None

    async def upsert(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        bulk = self._bulk(len(listings))
        if bulk is not None:
            return await self._upsert_bulk(bulk, listings)
        return [await self._one(listing) for listing in listings]

    async def _one(self, listing: ListingContent) -> ListingResult:
        try:
            answer = await self.graphql.execute(
                docs.PRODUCT_SET,
                {"input": product_set_input(listing), "identifier": identifier(listing)},
                operation="push_listings",
                estimate=docs.estimate_product_set(len(listing.variants)),
                name="productSet",
            )
        except (RetryableError, ProtocolError) as exc:
            return ListingResult.retry(listing.key, exc.message)
        except ItemError as exc:
            return ListingResult.rejected(listing.key, exc.message)
        result = product_result(listing, answer.data.get("productSet") or {})
        if result.status is not ItemStatus.ACCEPTED:
            return result
        published = await self._publication(result.ids["product_id"], listing.publish)
        return replace(result, issues=published)

    async def _upsert_bulk(self, bulk: BulkRunner, listings: Sequence[ListingContent]) -> list[ListingResult]:
        lines = [{"input": product_set_input(x), "identifier": identifier(x)} for x in listings]
        try:
            outcome = await bulk.run(docs.PRODUCT_SET, lines)
        except (RetryableError, ProtocolError) as exc:
            return [ListingResult.retry(x.key, exc.message) for x in listings]
        except ItemError as exc:
            return [ListingResult.rejected(x.key, exc.message) for x in listings]
        results: list[ListingResult] = []
        for n, listing in enumerate(listings):
            line = outcome.answers.get(n)
            if line is None:
                results.append(ListingResult.retry(listing.key, outcome.missing()))
            elif line_errors(line):
                results.append(ListingResult.rejected(listing.key, *line_errors(line)))
            else:
                results.append(product_result(listing, (line.get("data") or {}).get("productSet") or {}))
        accepted = [
            (n, r.ids["product_id"], listings[n].publish)
            for n, r in enumerate(results)
            if r.status is ItemStatus.ACCEPTED
        ]
        warnings = await self._publications([(gid, on) for _, gid, on in accepted])
        for (n, _, _), found in zip(accepted, warnings, strict=True):
            if found:
                results[n] = replace(results[n], issues=found)
        return results

    async def unpublish(self, refs: Sequence[ListingRef]) -> list[ListingResult]:
        out = []
        for ref in refs:
            gid = ref.ids.get("product_id") or next(
                (ids.get("product_id") for ids in ref.variant_ids.values() if ids.get("product_id")), None
            )
            if not gid:
                out.append(ListingResult.rejected(ref.key, "no Shopify product id for this listing"))
                continue
            try:
                answer = await self.graphql.execute(
                    docs.PRODUCT_STATUS,
                    {"input": {"status": "DRAFT"}, "identifier": {"id": gid}},
                    operation="push_listings",
                    estimate=docs.MUTATION_COST,
                    name="productSetStatus",
                )
            except (RetryableError, ProtocolError) as exc:
                out.append(ListingResult.retry(ref.key, exc.message))
                continue
            issues = _issues((answer.data.get("productSet") or {}).get("userErrors"))
            if issues:
                out.append(ListingResult.rejected(ref.key, *issues))
                continue
            warnings = await self._publication(gid, False)
            out.append(ListingResult.accepted(ref.key, {"product_id": gid}, issues=warnings))
        return out

    async def _publication(self, gid: str, on: bool) -> tuple[str, ...]:
        """Put the product on (or take it off) the sales channel; its userErrors come back as warnings."""
        if not self.publication_id:
            return ()
        answer = await self.graphql.execute(
            docs.PUBLISH if on else docs.UNPUBLISH,
            {"id": gid, "input": [{"publicationId": self.publication_id}]},
            operation="push_listings",
            estimate=docs.MUTATION_COST,
            name="publishablePublish" if on else "publishableUnpublish",
        )
        field = "publishablePublish" if on else "publishableUnpublish"
        return _issues((answer.data.get(field) or {}).get("userErrors"))

    async def _publications(self, products: Sequence[tuple[str, bool]]) -> list[tuple[str, ...]]:
        """Put each product on (or off) the publication, as one bulk operation per direction when there
        are many; the warnings per product, in order."""
        if not self.publication_id:
            return [() for _ in products]
        found: list[tuple[str, ...]] = [() for _ in products]
        for on in (True, False):
            picked = [(n, gid) for n, (gid, wanted) in enumerate(products) if wanted is on]
            bulk = self._bulk(len(picked))
            if bulk is None:
                for n, gid in picked:
                    try:
                        found[n] = await self._publication(gid, on)
                    except (RetryableError, ProtocolError, ItemError) as exc:
                        found[n] = (f"publication: {exc.message}",)
                continue
            lines = [{"id": gid, "input": [{"publicationId": self.publication_id}]} for _, gid in picked]
            field = "publishablePublish" if on else "publishableUnpublish"
            try:
                outcome = await bulk.run(docs.PUBLISH if on else docs.UNPUBLISH, lines)
            except (RetryableError, ProtocolError, ItemError) as exc:
                outcome = BulkOutcome(None, "FAILED", reason=exc.message)
            for i, (n, _) in enumerate(picked):
                line = outcome.answers.get(i)
                if line is None:
                    found[n] = (f"publication: {outcome.missing()}",)
                else:
                    data = (line.get("data") or {}).get(field) or {}
                    found[n] = line_errors(line) or _issues(data.get("userErrors"))
        return found
