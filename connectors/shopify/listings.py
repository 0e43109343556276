"""Shopify listings: one ``productSet`` per product (options, variants, media by URL, content); from
``bulk_listings_from`` products in one push, one ``productSet`` bulk operation (``bulk.py``).

``ProductSetInput`` has no publication field, so putting a product on the configured sales channel
publication is a step of its own, taken only where the ledger does not record the product as
published already (new products, republished ones): an update of published products is the
``productSet`` calls (or the one bulk operation) alone. The step takes the fewer calls of
``publicationUpdate`` (``publishablesToAdd`` / ``publishablesToRemove``, at most 50 products a call as
documented) and a bulk operation of ``publishablePublish`` / ``publishableUnpublish`` (stagedUploadsCreate,
the upload, bulkOperationRunMutation, at least one poll, the result: 5 calls whatever the count):
``publicationUpdate`` up to 250 products, the bulk operation beyond. A product whose publishing
failed is answered accepted but not published, so the next push publishes it again.

``productSet`` is found by handle (the catalogue product's, slugged) until the product's id is known,
so a create repeated after a lost answer updates the product instead of making a second one. The
variables are built by :func:`product_set_input` (pure); the answer's ``userErrors`` are the
listing's issues. A product without options gets Shopify's own ``Title`` / ``Default Title``.
Unpublishing sets the products to DRAFT the same way (one ``productSet`` each, or one bulk operation)
and takes them off the publication by the same publish step: never deleted.
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
    chunked,
)

from . import documents as docs
from .bulk import BulkOutcome, BulkRunner
from .client import AdminGraphQL

DEFAULT_OPTION = ("Title", "Default Title")
PUBLICATION_UPDATE_MAX = 50
"""Publishables per ``publicationUpdate`` list, as ``PublicationUpdateInput`` documents it."""
BULK_CALLS = 5
"""Calls a bulk operation takes at the least: stagedUploadsCreate, the upload,
bulkOperationRunMutation, one poll, the result download."""
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


def draft_variables(gid: str) -> dict[str, Any]:
    """``productSet`` variables setting only the product's status to DRAFT (hidden, not deleted)."""
    return {"input": {"status": "DRAFT"}, "identifier": {"id": gid}}


def draft_result(key: str, gid: str, payload: Mapping[str, Any]) -> ListingResult:
    issues = _issues(payload.get("userErrors"))
    return (
        ListingResult.rejected(key, *issues) if issues else ListingResult.accepted(key, {"product_id": gid})
    )


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
            results = await self._upsert_bulk(bulk, listings)
        else:
            results = [await self._one(listing) for listing in listings]
        moves = [
            (n, listings[n].publish)
            for n, r in enumerate(results)
            if r.status is ItemStatus.ACCEPTED and listings[n].published is not listings[n].publish
        ]
        for on in (True, False):
            picked = [n for n, wanted in moves if wanted is on]
            answers = await self._publications([results[n].ids["product_id"] for n in picked], on)
            for n, (warnings, done) in zip(picked, answers, strict=True):
                shown = None if done else not on
                if warnings or shown is not None:
                    results[n] = replace(results[n], issues=results[n].issues + warnings, published=shown)
        return results

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
        return product_result(listing, answer.data.get("productSet") or {})

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
        return results

    async def unpublish(self, refs: Sequence[ListingRef]) -> list[ListingResult]:
        """Each product to DRAFT (one ``productSet`` each, or one bulk operation from ``bulk_from``),
        then off the sales channel publication: never deleted."""
        out: dict[int, ListingResult] = {}
        found: list[tuple[int, str]] = []
        for n, ref in enumerate(refs):
            gid = ref.ids.get("product_id") or next(
                (ids.get("product_id") for ids in ref.variant_ids.values() if ids.get("product_id")), None
            )
            if gid:
                found.append((n, gid))
            else:
                out[n] = ListingResult.rejected(ref.key, "no Shopify product id for this listing")
        bulk = self._bulk(len(found))
        if bulk is not None:
            out |= await self._drafts_bulk(bulk, [(n, refs[n].key, gid) for n, gid in found])
        else:
            for n, gid in found:
                out[n] = await self._draft(refs[n].key, gid)
        hidden = [n for n, r in sorted(out.items()) if r.status is ItemStatus.ACCEPTED]
        answers = await self._publications([out[n].ids["product_id"] for n in hidden], False)
        for n, (warnings, _) in zip(hidden, answers, strict=True):
            if warnings:  # a DRAFT product is shown nowhere, on the publication or not
                out[n] = replace(out[n], issues=warnings)
        return [out[n] for n in range(len(refs))]

    async def _draft(self, key: str, gid: str) -> ListingResult:
        try:
            answer = await self.graphql.execute(
                docs.PRODUCT_STATUS,
                draft_variables(gid),
                operation="push_listings",
                estimate=docs.MUTATION_COST,
                name="productSetStatus",
            )
        except (RetryableError, ProtocolError) as exc:
            return ListingResult.retry(key, exc.message)
        except ItemError as exc:
            return ListingResult.rejected(key, exc.message)
        return draft_result(key, gid, answer.data.get("productSet") or {})

    async def _drafts_bulk(
        self, bulk: BulkRunner, found: Sequence[tuple[int, str, str]]
    ) -> dict[int, ListingResult]:
        try:
            outcome = await bulk.run(docs.PRODUCT_STATUS, [draft_variables(gid) for _, _, gid in found])
        except (RetryableError, ProtocolError) as exc:
            return {n: ListingResult.retry(key, exc.message) for n, key, _ in found}
        except ItemError as exc:
            return {n: ListingResult.rejected(key, exc.message) for n, key, _ in found}
        out: dict[int, ListingResult] = {}
        for i, (n, key, gid) in enumerate(found):
            line = outcome.answers.get(i)
            if line is None:
                out[n] = ListingResult.retry(key, outcome.missing())
            elif line_errors(line):
                out[n] = ListingResult.rejected(key, *line_errors(line))
            else:
                out[n] = draft_result(key, gid, (line.get("data") or {}).get("productSet") or {})
        return out

    async def _publications(self, gids: Sequence[str], on: bool) -> list[tuple[tuple[str, ...], bool]]:
        """Put the products on (or take them off) the sales channel publication, in the fewer calls:
        ``publicationUpdate`` 50 a call, or one bulk operation when that takes more than
        :data:`BULK_CALLS`. Per product, in order: the warnings and whether it was done."""
        if not self.publication_id or not gids:
            return [((), True) for _ in gids]
        calls = -(-len(gids) // PUBLICATION_UPDATE_MAX)
        if self.bulk is not None and self.bulk_from is not None and calls > BULK_CALLS:
            return await self._publications_bulk(self.bulk, gids, on)
        found: list[tuple[tuple[str, ...], bool]] = []
        for chunk in chunked(gids, PUBLICATION_UPDATE_MAX):
            found += await self._publication_update(chunk, on)
        return found

    async def _publication_update(self, gids: Sequence[str], on: bool) -> list[tuple[tuple[str, ...], bool]]:
        """One ``publicationUpdate`` of at most 50 products. Any userError leaves every product of the
        call undone (tried again at the next push); one naming a product by position is its own."""
        name = "publishablesToAdd" if on else "publishablesToRemove"
        try:
            answer = await self.graphql.execute(
                docs.PUBLICATION_UPDATE,
                {"id": self.publication_id, "input": {name: list(gids)}},
                operation="push_listings",
                estimate=docs.MUTATION_COST + 1,
                name="publicationUpdate",
            )
        except (RetryableError, ProtocolError, ItemError) as exc:
            return [((f"publication: {exc.message}",), False) for _ in gids]
        errors = [
            e
            for e in (answer.data.get("publicationUpdate") or {}).get("userErrors") or []
            if isinstance(e, Mapping)
        ]
        if not errors:
            return [((), True) for _ in gids]
        own: dict[int, list[str]] = {}
        shared: list[str] = []
        for e in errors:
            path = [str(x) for x in e.get("field") or []]
            if len(path) == 3 and path[1] == name and path[2].isdigit():
                own.setdefault(int(path[2]), []).append(f"publication: {e.get('message')}")
            else:
                shared.append(f"publication: {e.get('message')}")
        return [
            (
                tuple(
                    own.get(n) or shared or ["publication: not applied (another product of the call refused)"]
                ),
                False,
            )
            for n in range(len(gids))
        ]

    async def _publications_bulk(
        self, bulk: BulkRunner, gids: Sequence[str], on: bool
    ) -> list[tuple[tuple[str, ...], bool]]:
        lines = [{"id": gid, "input": [{"publicationId": self.publication_id}]} for gid in gids]
        field = "publishablePublish" if on else "publishableUnpublish"
        try:
            outcome = await bulk.run(docs.PUBLISH if on else docs.UNPUBLISH, lines)
        except (RetryableError, ProtocolError, ItemError) as exc:
            outcome = BulkOutcome(None, "FAILED", reason=exc.message)
        found: list[tuple[tuple[str, ...], bool]] = []
        for i in range(len(gids)):
            line = outcome.answers.get(i)
            if line is None:
                found.append(((f"publication: {outcome.missing()}",), False))
                continue
            data = (line.get("data") or {}).get(field) or {}
            errors = line_errors(line) or _issues(data.get("userErrors"))
            found.append((tuple(f"publication: {e}" for e in errors), not errors))
        return found
