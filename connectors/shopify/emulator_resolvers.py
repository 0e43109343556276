"""Root fields of the emulated Admin API: the queries and the two mutations omnisync uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from omnisync.sdk import ProtocolError

from .emulator_graphql import (
    MAX_INPUT_ARRAY,
    REASONS,
    Views,
    decimal_or_none,
    idempotency_key,
    iso,
    search_terms,
)
from .emulator_graphql import connection as paginate
from .emulator_products import ProductWrites
from .emulator_state import ShopState
from .orders import parse_time


class Roots:
    def __init__(self, state: ShopState, now: Callable[[], datetime]) -> None:
        self.state = state
        self.now = now
        self.views = Views(state, now)
        self.products = ProductWrites(state, now, self.views)

    def query(self) -> dict[str, Any]:
        return {
            "productVariants": self.product_variants,
            "orders": self.orders,
            "order": lambda _info, id: self.views.node(id) if "/Order/" in id else None,
            "nodes": lambda _info, ids: [self.views.node(gid) for gid in ids],
            "location": lambda _info, id=None: self.views.location(id),
            "products": self.products_page,
            "shop": lambda _info: {"currencyCode": self.state.currency},
        }

    def mutation(self) -> dict[str, Any]:
        return {
            "inventorySetQuantities": self.set_quantities,
            "productVariantsBulkUpdate": self.bulk_update,
            **self.products.mutations(),
        }

    # -- queries ---------------------------------------------------------------------------------
    def products_page(self, _info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        """``products`` by id (the default sort key; TITLE and UPDATED_AT also sort)."""
        key = {
            "TITLE": lambda gid: (str(self.state.products[gid].get("title")), gid),
            "UPDATED_AT": lambda gid: (str(self.state.products[gid].get("updatedAt")), gid),
        }.get(str(args.get("sortKey") or "ID"), lambda gid: int(gid.rsplit("/", 1)[-1]))
        ids = sorted(self.state.products, key=key, reverse=bool(args.get("reverse")))
        return paginate(ids, args, lambda gid: gid, self.views.product)

    def product_variants(self, _info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        state = self.state
        if args.get("query"):
            skus = {value for name, _, value in search_terms(args.get("query")) if name == "sku"}
            ids = [vid for sku in skus for vid in state.by_sku.get(sku, ())]
        else:
            ids = list(state.variants)
        ids.sort(key=lambda gid: int(gid.rsplit("/", 1)[-1]), reverse=bool(args.get("reverse")))
        return paginate(ids, args, str, lambda gid: self.views.variant(state.variants[gid]))

    def orders(self, _info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        records = list(self.state.orders.values())
        for name, comparator, value in search_terms(args.get("query")):
            if name not in ("updated_at", "created_at"):
                continue
            try:
                bound = parse_time(value)
            except ProtocolError as exc:
                raise GraphQLError(f"invalid {name} value {value!r}") from exc
            attr = "updated_at" if name == "updated_at" else "created_at"
            records = [o for o in records if _compare(getattr(o, attr), comparator, bound)]
        sort = args.get("sortKey") or "PROCESSED_AT"
        if sort == "UPDATED_AT":
            records.sort(key=lambda o: (o.updated_at, o.number))
        else:
            records.sort(key=lambda o: (o.created_at, o.number))
        if args.get("reverse"):
            records.reverse()
        keyed = [
            (self.views.order(o), f"{iso(o.updated_at if sort == 'UPDATED_AT' else o.created_at)}|{o.id}")
            for o in records
        ]
        keys = {id(view): key for view, key in keyed}
        return paginate([view for view, _ in keyed], args, lambda n: keys[id(n)])

    # -- mutations -------------------------------------------------------------------------------
    def set_quantities(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        key = idempotency_key(info)
        if key is None or not key.strip():
            raise GraphQLError(
                "The @idempotent directive is required for this mutation.",
                extensions={"code": "BAD_REQUEST"},
            )
        if len(input["quantities"]) > MAX_INPUT_ARRAY:
            raise GraphQLError(
                f"The input array size of {len(input['quantities'])} is greater than the maximum allowed of "
                f"{MAX_INPUT_ARRAY}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        if key in self.state.idempotency:
            seen, payload = self.state.idempotency[key]
            if seen == fingerprint:
                return self._group_view(payload)  # type: ignore[arg-type]  # the original result, not a rerun
            return {
                "inventoryAdjustmentGroup": None,
                "userErrors": [
                    {
                        "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                        "field": None,
                        "message": "The same idempotency key cannot be used with different parameters.",
                    }
                ],
            }
        payload = self._apply_set(input)
        self.state.idempotency[key] = (fingerprint, payload)
        return self._group_view(payload)

    def _apply_set(self, data: dict[str, Any]) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []
        name = data["name"]
        if name not in ("available", "on_hand"):
            errors.append(
                _err("INVALID_NAME", ["input", "name"], "The quantity name must be available or on_hand.")
            )
        if data["reason"] not in REASONS:
            errors.append(_err("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
        seen: set[tuple[str, str]] = set()
        for i, q in enumerate(data["quantities"]):
            path = ["input", "quantities", str(i)]
            pair = (q["inventoryItemId"], q["locationId"])
            level = self.state.levels.get(pair)
            if "changeFromQuantity" not in q:
                errors.append(
                    _err(
                        "COMPARE_QUANTITY_REQUIRED",
                        [*path, "changeFromQuantity"],
                        "changeFromQuantity must be given for each quantity (null opts out).",
                    )
                )
            elif pair in seen:
                errors.append(
                    _err(
                        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                        path,
                        "The combination of inventoryItemId and locationId must be unique.",
                    )
                )
            elif pair[0] not in self.state.by_item:
                errors.append(
                    _err(
                        "INVALID_INVENTORY_ITEM",
                        [*path, "inventoryItemId"],
                        "The specified inventory item could not be found.",
                    )
                )
            elif pair[1] not in self.state.locations:
                errors.append(
                    _err(
                        "INVALID_LOCATION",
                        [*path, "locationId"],
                        "The specified location could not be found.",
                    )
                )
            elif level is None:
                errors.append(
                    _err(
                        "ITEM_NOT_STOCKED_AT_LOCATION",
                        [*path, "inventoryItemId"],
                        "The specified inventory item is not stocked at the location.",
                    )
                )
            elif abs(q["quantity"]) > 1_000_000_000:
                errors.append(
                    _err(
                        "INVALID_QUANTITY_TOO_HIGH" if q["quantity"] > 0 else "INVALID_QUANTITY_TOO_LOW",
                        [*path, "quantity"],
                        "The quantity is out of range.",
                    )
                )
            elif (
                q["changeFromQuantity"] is not None
                and name in level
                and q["changeFromQuantity"] != level[name]
            ):
                errors.append(
                    _err(
                        "CHANGE_FROM_QUANTITY_STALE",
                        [*path, "changeFromQuantity"],
                        "The changeFromQuantity value does not match persisted value.",
                    )
                )
            seen.add(pair)
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        now = self.now()
        changes: list[tuple[str, int, int, str, str]] = []  # name, delta, after, item, location
        for q in data["quantities"]:
            item, loc = q["inventoryItemId"], q["locationId"]
            level = self.state.levels[(item, loc)]
            delta = q["quantity"] - level[name]
            moved = {"available": delta, "on_hand": delta} if name == "available" else {"on_hand": delta}
            self.state.move(item, loc, now, **moved)
            changes.extend((n, d, level[n], item, loc) for n, d in moved.items())
        self.state.adjustment_groups += 1
        group = {
            "id": self.state.new_id("InventoryAdjustmentGroup"),
            "createdAt": iso(now),
            "reason": data["reason"],
            "referenceDocumentUri": data.get("referenceDocumentUri"),
            "changes": changes,
        }
        return {"inventoryAdjustmentGroup": group, "userErrors": []}

    def _group_view(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as the schema shapes it; stored payloads stay compact (tuples, no views)."""
        group = payload["inventoryAdjustmentGroup"]
        if group is None:
            return payload
        changes: list[tuple[str, int, int, str, str]] = group["changes"]

        def select(
            _info: GraphQLResolveInfo,
            inventoryItemIds: list[str] | None = None,
            locationIds: list[str] | None = None,
            quantityNames: list[str] | None = None,
        ) -> list[dict[str, Any]]:
            return [
                {
                    "name": name,
                    "delta": delta,
                    "quantityAfterChange": after,
                    "ledgerDocumentUri": None,
                    "item": lambda _i, item=item: self.views.item(item),
                    "location": lambda _i, loc=loc: self.views.location(loc),
                }
                for name, delta, after, item, loc in changes
                if (inventoryItemIds is None or item in inventoryItemIds)
                and (locationIds is None or loc in locationIds)
                and (quantityNames is None or name in quantityNames)
            ]

        return {"inventoryAdjustmentGroup": {**group, "changes": select}, "userErrors": payload["userErrors"]}

    def bulk_update(
        self,
        _info: GraphQLResolveInfo,
        productId: str,
        variants: list[dict[str, Any]],
        allowPartialUpdates: bool = False,
        **_: Any,
    ) -> dict[str, Any]:
        if productId not in self.state.products:
            return {
                "product": None,
                "productVariants": None,
                "userErrors": [_err("PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist")],
            }
        errors: list[dict[str, Any]] = []
        valid = []
        for i, entry in enumerate(variants):
            path = ["variants", str(i)]
            variant = self.state.variants.get(entry.get("id") or "")
            price = decimal_or_none(entry["price"]) if entry.get("price") is not None else None
            compare = entry.get("compareAtPrice", ...)
            if not entry.get("id"):
                errors.append(
                    _err(
                        "PRODUCT_VARIANT_ID_MISSING", [*path, "id"], "Product variant is missing ID attribute"
                    )
                )
            elif variant is None or variant.product_id != productId:
                errors.append(
                    _err("PRODUCT_VARIANT_DOES_NOT_EXIST", [*path, "id"], "Product variant does not exist")
                )
            elif entry.get("price") is not None and price is None:
                errors.append(_err("INVALID_INPUT", [*path, "price"], "Price is invalid"))
            elif price is not None and price < 0:
                errors.append(_err("NEGATIVE_PRICE_VALUE", [*path, "price"], "Price can't be negative"))
            else:
                valid.append((variant, price, compare, entry.get("inventoryPolicy")))
        if errors and not allowPartialUpdates:
            return {"product": self.views.product(productId), "productVariants": None, "userErrors": errors}
        now = self.now()
        for variant, price, compare, policy in valid:
            if price is not None:
                variant.price = price
            if compare is not ...:
                variant.compare_at = decimal_or_none(compare) if compare is not None else None
            if policy is not None:
                variant.inventory_policy = policy
            variant.updated_at = now
        return {
            "product": self.views.product(productId),
            "productVariants": [self.views.variant(v) for v, *_ in valid],
            "userErrors": errors,
        }


def _err(code: str, field: list[str] | None, message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


def _compare(value: datetime, comparator: str, bound: datetime) -> bool:
    if comparator == ">=":
        return value >= bound
    if comparator == ">":
        return value > bound
    if comparator == "<=":
        return value <= bound
    if comparator == "<":
        return value < bound
    return value == bound
