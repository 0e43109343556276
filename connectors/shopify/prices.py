"""Variant updates: ``productVariantsBulkUpdate`` per product, several products per document (aliases).

Each product's variants go in one ``productVariantsBulkUpdate`` with ``allowPartialUpdates: true``,
so one refused variant does not hold the others. Up to ``PRODUCTS_PER_CALL`` products share one
HTTP call as aliased root fields (each costs its 10 points). Two pushes use it: prices
(``compare_at`` None leaves the variant's compare-at price as it is) and the inventory policy that
signals a preorder (``CONTINUE`` while a variant sells ahead of stock on order, else ``DENY``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from omnisync.sdk import InventoryUpdate, ItemResult, PriceUpdate, chunked

from . import documents as docs
from .client import AdminGraphQL

PRODUCTS_PER_CALL = 50
"""50 aliased mutations request 500 points, half the single-query maximum."""

Answer = ItemResult | Mapping[str, Any]
"""Per variant: the variant as the mutation answered it, or the item's result when it failed."""


async def update_variants(
    graphql: AdminGraphQL,
    changes: Sequence[tuple[str, Mapping[str, str], dict[str, Any]]],
    document: Callable[[int], str],
    operation: str,
) -> list[Answer]:
    """``changes``: (SKU, the listing's ids, the variant's input fields besides its id). One answer per
    change, in order."""
    results: dict[int, Answer] = {}
    groups: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    for index, (sku, ids, fields) in enumerate(changes):
        variant, product = ids.get("variant_id"), ids.get("product_id")
        if not variant or not product:
            results[index] = ItemResult.rejected(
                sku, "no variant_id/product_id known: read the listing first"
            )
        else:
            groups.setdefault(product, []).append((index, sku, {"id": variant, **fields}))
    for chunk in chunked(list(groups.items()), PRODUCTS_PER_CALL):
        variables: dict[str, Any] = {}
        for i, (product, members) in enumerate(chunk):
            variables[f"p{i}"] = product
            variables[f"v{i}"] = [entry for _, _, entry in members]
        answer = await graphql.execute(
            document(len(chunk)),
            variables,
            operation=operation,
            estimate=docs.MUTATION_COST * len(chunk),
            name=f"productVariantsBulkUpdate×{len(chunk)}",
        )
        for i, (_, members) in enumerate(chunk):
            _map_group(answer.data.get(f"p{i}"), members, results)
    return [results[i] for i in range(len(changes))]


async def push_price_groups(graphql: AdminGraphQL, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
    changes = [(u.sku, u.ids, _price_input(u)) for u in updates]
    answers = await update_variants(graphql, changes, docs.price_update_document, "push_prices")
    return [
        a if isinstance(a, ItemResult) else ItemResult.accepted(u.sku, _decimal(a.get("price")) or u.price)
        for u, a in zip(updates, answers, strict=True)
    ]


async def set_inventory_policies(
    graphql: AdminGraphQL, updates: Sequence[InventoryUpdate]
) -> list[ItemResult | None]:
    """Each variant's inventory policy as its update's preorder says (``CONTINUE`` with one, ``DENY``
    without). Per update: None when the variant holds it now, else why not."""
    changes = [(u.sku, u.ids, {"inventoryPolicy": "CONTINUE" if u.preorder else "DENY"}) for u in updates]
    answers = await update_variants(graphql, changes, docs.policy_update_document, "push_inventory")
    return [a if isinstance(a, ItemResult) else None for a in answers]


def _price_input(update: PriceUpdate) -> dict[str, Any]:
    entry: dict[str, Any] = {"price": _money_text(update.price)}
    if update.compare_at is not None:
        entry["compareAtPrice"] = _money_text(update.compare_at)
    return entry


def _money_text(value: Decimal) -> str:
    return format(value, "f")


def _map_group(
    payload: object, members: list[tuple[int, str, dict[str, Any]]], results: dict[int, Answer]
) -> None:
    if not isinstance(payload, Mapping):
        for index, sku, _ in members:
            results[index] = ItemResult.retry(sku, "productVariantsBulkUpdate returned no payload")
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
    held: dict[str, Mapping[str, Any]] = {}
    for variant in payload.get("productVariants") or []:
        if isinstance(variant, Mapping) and isinstance(variant.get("id"), str):
            held[variant["id"]] = variant
    for position, (index, sku, entry) in enumerate(members):
        error = by_item.get(position) or (general[0] if general else None)
        if error is not None:
            results[index] = ItemResult.rejected(
                sku, f"{error.get('code') or 'ERROR'}: {error.get('message')}"
            )
            continue
        results[index] = held.get(entry["id"], {})


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
