"""Shopify listings: one ``productSet`` per product (options, variants, media by URL, content) and
``publishablePublish`` / ``publishableUnpublish`` on the configured sales channel publication.

``productSet`` is found by handle (the catalogue product's, slugged) until the product's id is known,
so a create repeated after a lost answer updates the product instead of making a second one. The
variables are built by :func:`product_set_input` (pure); the answer's ``userErrors`` are the
listing's issues. A product without options gets Shopify's own ``Title`` / ``Default Title``.
Unpublishing sets the product to DRAFT and takes it off the publication: never deleted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from omnisync.sdk import ItemError, ListingContent, ListingRef, ListingResult, ProtocolError, RetryableError

from . import documents as docs
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


class ListingWriter:
    def __init__(self, graphql: AdminGraphQL, publication_id: str | None) -> None:
        self.graphql = graphql
        self.publication_id = publication_id

    async def upsert(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        return [await self._one(listing) for listing in listings]

    async def _one(self, listing: ListingContent) -> ListingResult:
        product_id = listing.ids.get("product_id")
        identifier = {"id": product_id} if product_id else {"handle": handle_for(listing.key)}
        try:
            answer = await self.graphql.execute(
                docs.PRODUCT_SET,
                {"input": product_set_input(listing), "identifier": identifier},
                operation="push_listings",
                estimate=docs.estimate_product_set(len(listing.variants)),
                name="productSet",
            )
        except (RetryableError, ProtocolError) as exc:
            return ListingResult.retry(listing.key, exc.message)
        except ItemError as exc:
            return ListingResult.rejected(listing.key, exc.message)
        payload = answer.data.get("productSet") or {}
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
        published = await self._publication(gid, listing.publish)
        return ListingResult.accepted(listing.key, {"product_id": gid}, variant_ids, published)

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
