"""Price push: ``productVariantsBulkUpdate`` per product, several products per document (aliases).

Each product's variants go in one ``productVariantsBulkUpdate`` with ``allowPartialUpdates: true``,
so one refused variant does not hold the others. Up to ``PRODUCTS_PER_CALL`` products share one
HTTP call as aliased root fields (each costs its 10 points). ``compare_at`` None leaves the variant's
compare-at price as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from omnisync.sdk import ItemResult, PriceUpdate, chunked

from . import documents as docs
from .client import AdminGraphQL

PRODUCTS_PER_CALL = 50
"""50 aliased mutations request 500 points, half the single-query maximum."""


async def push_price_groups(graphql: AdminGraphQL, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
    results: dict[int, ItemResult] = {}
    groups: dict[str, list[tuple[int, PriceUpdate]]] = {}
    for index, update in enumerate(updates):
        variant = update.ids.get("variant_id")
        product = update.ids.get("product_id")
        if not variant or not product:
            results[index] = ItemResult.rejected(
                update.sku, "no variant_id/product_id known: read the listing first"
            )
        else:
            groups.setdefault(product, []).append((index, update))
    for chunk in chunked(list(groups.items()), PRODUCTS_PER_CALL):
        variables: dict[str, Any] = {}
        for i, (product, members) in enumerate(chunk):
            variables[f"p{i}"] = product
            variables[f"v{i}"] = [_variant_input(u) for _, u in members]
        answer = await graphql.execute(
            docs.price_update_document(len(chunk)),
            variables,
            operation="push_prices",
            estimate=docs.MUTATION_COST * len(chunk),
            name=f"productVariantsBulkUpdate×{len(chunk)}",
        )
        for i, (_, members) in enumerate(chunk):
            _map_group(answer.data.get(f"p{i}"), members, results)
    return [results[i] for i in range(len(updates))]


def _variant_input(update: PriceUpdate) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": update.ids["variant_id"], "price": _money_text(update.price)}
    if update.compare_at is not None:
        entry["compareAtPrice"] = _money_text(update.compare_at)
    return entry


def _money_text(value: Decimal) -> str:
    return format(value, "f")


def _map_group(
    payload: object, members: list[tuple[int, PriceUpdate]], results: dict[int, ItemResult]
) -> None:
    if not isinstance(payload, Mapping):
        for index, update in members:
            results[index] = ItemResult.retry(update.sku, "productVariantsBulkUpdate returned no payload")
        return
    by_item: dict[int, Mapping[str, Any]] = {}
    general: list[Mapping[str, Any]] = []
    for error in payload.get("userErrors") or []:
        field = error.get("field")
        position = None
        if isinstance(field, list) and len(field) >= 2 and field[0] == "variants":
            try:
                position = int(field[1])
            except (TypeError, ValueError):
                position = None
        if position is None or not 0 <= position < len(members):
            general.append(error)
        else:
            by_item.setdefault(position, error)
    held = {}
    for variant in payload.get("productVariants") or []:
        if isinstance(variant, Mapping) and isinstance(variant.get("id"), str):
            held[variant["id"]] = variant.get("price")
    for position, (index, update) in enumerate(members):
        error = by_item.get(position) or (general[0] if general else None)
        if error is not None:
            results[index] = ItemResult.rejected(
                update.sku, f"{error.get('code') or 'ERROR'}: {error.get('message')}"
            )
            continue
        results[index] = ItemResult.accepted(
            update.sku, _decimal(held.get(update.ids["variant_id"])) or update.price
        )


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
