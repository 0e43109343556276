"""Reading the Admin API's answers: userErrors per input element, quantities, listings, cursors."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from omnisync.sdk import ChannelListing, InventoryUpdate, ItemResult

STALE_CODES = frozenset({"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"})
RETRY_CODES = frozenset({"IDEMPOTENCY_CONCURRENT_REQUEST", "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"})


def batch_key(pending: Sequence[tuple[int, InventoryUpdate, str, str]]) -> str:
    """One @idempotent key per call, derived from each item's (channel, SKU, version) key and its
    values: a retry of the same batch is the same key, a different batch never is."""
    digest = hashlib.sha256()
    for _, u, item, loc in pending:
        digest.update(f"{u.idempotency_key}|{item}|{loc}|{u.quantity}|{u.previous}\n".encode())
    return str(uuid.UUID(bytes=digest.digest()[:16]))


def user_errors(errors: object, array: str) -> tuple[dict[int, Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Split userErrors into those naming one element of ``array`` (by position) and the rest."""
    by_item: dict[int, Mapping[str, Any]] = {}
    general: list[Mapping[str, Any]] = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, Mapping):
            continue
        position = _position(error.get("field"), array)
        if position is None:
            general.append(error)
        else:
            by_item.setdefault(position, error)
    return by_item, general


def _position(field: object, array: str) -> int | None:
    if not isinstance(field, list):
        return None
    for i, part in enumerate(field[:-1]):
        if part == array:
            try:
                return int(field[i + 1])
            except (TypeError, ValueError):
                return None
    return None


def describe(error: Mapping[str, Any]) -> str:
    return f"{error.get('code') or 'ERROR'}: {error.get('message', '')}"


def inventory_error(sku: str, error: Mapping[str, Any]) -> ItemResult:
    code = error.get("code")
    if code in STALE_CODES:
        return ItemResult.stale(sku, describe(error))
    if code in RETRY_CODES:
        return ItemResult.retry(sku, describe(error))
    return ItemResult.rejected(sku, describe(error))


def quantities_after(group: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    after: dict[tuple[str, str], int] = {}
    for change in group.get("changes") or []:
        item = (change.get("item") or {}).get("id")
        loc = (change.get("location") or {}).get("id")
        if (
            change.get("name") == "available"
            and item
            and loc
            and isinstance(change.get("quantityAfterChange"), int)
        ):
            after[(item, loc)] = change["quantityAfterChange"]
    return after


def available(level: object) -> int | None:
    if not isinstance(level, Mapping):
        return None
    for quantity in level.get("quantities") or []:
        if quantity.get("name") == "available" and isinstance(quantity.get("quantity"), int):
            return int(quantity["quantity"])
    return None


def _money(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def listing(node: Mapping[str, Any]) -> ChannelListing:
    inventory_item = node.get("inventoryItem") or {}
    ids = {
        "variant_id": str(node.get("id")),
        "product_id": str((node.get("product") or {}).get("id")),
        "inventory_item_id": str(inventory_item.get("id")),
    }
    return ChannelListing(
        channel_sku=str(node.get("sku")),
        ids=ids,
        quantity=available(inventory_item.get("inventoryLevel")),
        price=_money(node.get("price")),
    )


def next_cursor(connection: object) -> str | None:
    if not isinstance(connection, Mapping):
        return None
    info = connection.get("pageInfo")
    if isinstance(info, Mapping) and info.get("hasNextPage") and isinstance(info.get("endCursor"), str):
        return str(info["endCursor"])
    return None
