"""The emulator's executable schema: ``admin_subset.graphql`` plus resolvers over a ``ShopState``.

Objects are plain dicts; a value that needs arguments is a callable ``(info, **args)``, which
graphql-core's default resolver calls. Mutations follow the documented 2026-04 behaviour:
``inventorySetQuantities`` requires ``@idempotent``, ``changeFromQuantity`` on every quantity and
applies all quantities or none; ``productVariantsBulkUpdate`` with ``allowPartialUpdates`` applies
the valid variants.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib.resources import files
from typing import Any, cast

from graphql import (
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
    build_schema,
    value_from_ast,
)

from .emulator_state import QUANTITY_NAMES, OrderRecord, ShopState, Variant

MAX_PAGE = 250
MAX_INPUT_ARRAY = 250
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
_TERM = re.compile(r'(\w+):(>=|<=|>|<)?(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|(\S+))')


@lru_cache(maxsize=1)
def subset_schema() -> GraphQLSchema:
    sdl = files(__package__).joinpath("admin_subset.graphql").read_text(encoding="utf-8")
    schema = build_schema(sdl)
    node = schema.type_map["Node"]
    node.resolve_type = lambda value, _info, _type: value.get("__typename")  # type: ignore[attr-defined]
    return schema


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def money_bag(value: Decimal, currency: str) -> dict[str, Any]:
    """A ``MoneyBag``: the shop's and the buyer's currency are the same in the emulator."""
    amount = {"amount": money(value), "currencyCode": currency}
    return {"shopMoney": amount, "presentmentMoney": dict(amount)}


def search_terms(query: str | None) -> list[tuple[str, str, str]]:
    """``field:value`` terms of Shopify search syntax as (field, comparator, value)."""
    out = []
    for m in _TERM.finditer(query or ""):
        value = (
            m.group(3) if m.group(3) is not None else (m.group(4) if m.group(4) is not None else m.group(5))
        )
        out.append((m.group(1), m.group(2) or ":", re.sub(r"\\(.)", r"\1", value)))
    return out


def connection(
    items: Sequence[Any],
    args: dict[str, Any],
    key: Callable[[Any], str],
    view: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """A Relay connection over ``items`` (``view`` turns the page's items into nodes)."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if (first or 0) > MAX_PAGE or (last or 0) > MAX_PAGE:
        raise GraphQLError(f"first and last cannot exceed {MAX_PAGE}")
    keys = [key(i) for i in items]
    start, end = 0, len(items)
    if args.get("after"):
        after = _decode(args["after"])
        start = next((n + 1 for n, k in enumerate(keys) if k == after), len(items))
    if args.get("before"):
        before = _decode(args["before"])
        end = next((n for n, k in enumerate(keys) if k == before), len(items))
    window = list(range(start, end))
    window = window[:first] if first is not None else window[-(last or 0) :]
    nodes = [view(items[n]) if view else items[n] for n in window]
    cursors = [_encode(keys[n]) for n in window]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": bool(window) and window[-1] < end - 1,
            "hasPreviousPage": bool(window) and window[0] > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last_id": key}).encode()).decode()


def _decode(cursor: str) -> str:
    try:
        return str(json.loads(base64.urlsafe_b64decode(cursor.encode()))["last_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GraphQLError("Invalid cursor for current pagination sort.") from exc


class Views:
    """Dict views of the state, shaped like the schema's objects."""

    def __init__(self, state: ShopState, now: Callable[[], datetime]) -> None:
        self.state = state
        self.now = now

    def location(self, gid: str | None) -> dict[str, Any] | None:
        loc = self.state.locations.get(gid or "")
        return {"__typename": "Location", **loc} if loc else None

    def item(self, item_id: str) -> dict[str, Any] | None:
        variant_id = self.state.by_item.get(item_id)
        if variant_id is None:
            return None
        variant = self.state.variants[variant_id]
        return {
            "__typename": "InventoryItem",
            "id": item_id,
            "sku": variant.sku,
            "tracked": True,
            "updatedAt": iso(variant.updated_at),
            "inventoryLevel": lambda _info, locationId, includeInactive=False: self.level(
                item_id, locationId
            ),
        }

    def level(self, item_id: str, location_id: str) -> dict[str, Any] | None:
        level = self.state.levels.get((item_id, location_id))
        if level is None:
            return None
        updated = iso(self.state.level_updated[(item_id, location_id)])
        number = item_id.rsplit("/", 1)[-1]
        level_id = f"gid://shopify/InventoryLevel/{location_id.rsplit('/', 1)[-1]}?inventory_item_id={number}"

        def quantities(_info: GraphQLResolveInfo, names: list[str]) -> list[dict[str, Any]]:
            return [
                {
                    "id": f"gid://shopify/InventoryQuantity/{number}?name={n}",
                    "name": n,
                    "quantity": level[n],
                    "updatedAt": updated,
                }
                for n in names
                if n in QUANTITY_NAMES
            ]

        return {
            "__typename": "InventoryLevel",
            "id": level_id,
            "updatedAt": updated,
            "item": lambda _info: self.item(item_id),
            "location": lambda _info: self.location(location_id),
            "quantities": quantities,
        }

    def product(self, product_id: str) -> dict[str, Any] | None:
        product = self.state.products.get(product_id)
        if product is None:
            return None
        defaults = {"status": "ACTIVE", "vendor": "", "productType": "", "descriptionHtml": ""}
        content = self.state.variant_content
        variants = sorted(
            (v for v in self.state.variants.values() if v.product_id == product_id),
            key=lambda v: int(content.get(v.id, {}).get("position") or 0),  # type: ignore[call-overload]
        )
        number = product_id.rsplit("/", 1)[-1]
        stored = list(product.get("options") or []) or [{"name": "Title", "values": ["Default Title"]}]  # type: ignore[call-overload]
        options = [
            {
                "id": f"gid://shopify/ProductOption/{number}{n}",
                "name": o["name"],
                "position": n,
                "values": o["values"],
            }
            for n, o in enumerate(stored, 1)
        ]
        media = [
            {"__typename": "MediaImage", "id": f"gid://shopify/MediaImage/{number}{n}", "alt": None,
             "image": {"id": None, "url": url}}
            for n, url in enumerate(cast("list[str]", product.get("media") or []), 1)
        ]  # fmt: skip
        return {
            "__typename": "Product",
            **defaults,
            **product,
            "updatedAt": iso(product["updatedAt"]),  # type: ignore[arg-type]
            "options": lambda _info, first=None: options[:first] if first is not None else options,
            "media": lambda _info, **args: connection(media, args, lambda m: str(m["id"])),
            "variants": lambda _info, **args: connection(variants, args, lambda v: v.id, self.variant),
        }

    def variant(self, variant: Variant) -> dict[str, Any]:
        content = self.state.variant_content.get(variant.id, {})
        options: dict[str, str] = dict(content.get("options") or {})  # type: ignore[call-overload]
        position = int(content.get("position") or 1)  # type: ignore[call-overload]
        levels = (self.state.levels.get((variant.inventory_item_id, loc)) for loc in self.state.locations)
        available = sum(level["available"] for level in levels if level)
        return {
            "__typename": "ProductVariant",
            "id": variant.id,
            "sku": variant.sku,
            "title": " / ".join(options.values()) if options else "Default Title",
            "barcode": content.get("barcode") or None,
            "position": position,
            "selectedOptions": [
                {"name": k, "value": v} for k, v in (options or {"Title": "Default Title"}).items()
            ],
            "price": money(variant.price),
            "compareAtPrice": money(variant.compare_at) if variant.compare_at is not None else None,
            "inventoryQuantity": available,
            "inventoryPolicy": variant.inventory_policy,
            "updatedAt": iso(variant.updated_at),
            "product": lambda _info: self.product(variant.product_id),
            "inventoryItem": lambda _info: self.item(variant.inventory_item_id),
        }

    def order(self, order: OrderRecord) -> dict[str, Any]:
        lines = {line.id: line for line in order.lines}

        def line_view(line_id: str) -> dict[str, Any]:
            line = lines[line_id]
            return {
                "__typename": "LineItem",
                "id": line.id,
                "name": line.sku,
                "sku": line.sku,
                "quantity": line.quantity,
                "currentQuantity": line.quantity - order.refunded(line.id),
                "unfulfilledQuantity": order.unfulfilled(line),
                "originalUnitPriceSet": money_bag(line.unit_price, order.currency),
                "discountedUnitPriceAfterAllDiscountsSet": money_bag(line.unit_price, order.currency),
            }

        def by_id(item: dict[str, Any]) -> str:
            return str(item.get("id") or id(item))

        fulfillments = [
            {
                "__typename": "Fulfillment",
                "id": f.id,
                "status": f.status,
                "createdAt": iso(f.created_at),
                "updatedAt": iso(f.created_at),
                "location": self.location(f.location_id),
                "fulfillmentLineItems": lambda _info, f=f, **args: connection(
                    [
                        {"id": f"{f.id}/{lid}", "quantity": q, "lineItem": line_view(lid)}
                        for lid, q in f.lines
                    ],
                    args,
                    by_id,
                ),
            }
            for f in order.fulfillments
        ]
        refunds = [
            {
                "__typename": "Refund",
                "id": r.id,
                "createdAt": iso(r.created_at),
                "updatedAt": iso(r.created_at),
                "refundLineItems": lambda _info, r=r, **args: connection(
                    [
                        {
                            "id": f"{r.id}/{lid}",
                            "quantity": q,
                            "restockType": kind,
                            "restocked": kind != "NO_RESTOCK",
                            "location": self.location(loc),
                            "lineItem": line_view(lid),
                        }
                        for lid, q, kind, loc in r.lines
                    ],
                    args,
                    by_id,
                ),
            }
            for r in order.refunds
        ]

        def fulfilment_line(line_id: str) -> dict[str, Any]:
            return {"id": f"{order.id}/FulfillmentLineItem/{line_id}", "lineItem": line_view(line_id)}

        returns = [
            {
                "__typename": "Return",
                "id": r.id,
                "status": "CLOSED",
                "reverseFulfillmentOrders": lambda _info, r=r, **args: connection(
                    [
                        {
                            "id": r.id.replace("/Return/", "/ReverseFulfillmentOrder/"),
                            "status": "CLOSED",
                            "lineItems": lambda _info, r=r, **args: connection(
                                [
                                    {
                                        "id": f"{r.id}/{lid}",
                                        "totalQuantity": sum(n for _, n, _ in disposed),
                                        "fulfillmentLineItem": fulfilment_line(lid),
                                        "dispositions": [
                                            {
                                                "id": f"{r.id}/{lid}/{kind}",
                                                "type": kind,
                                                "quantity": n,
                                                "location": self.location(loc),
                                            }
                                            for kind, n, loc in disposed
                                        ],
                                    }
                                    for lid, disposed in r.lines
                                ],
                                args,
                                by_id,
                            ),
                        }
                    ],
                    args,
                    by_id,
                ),
            }
            for r in order.returns
        ]
        fulfillment_order = {
            "id": order.id.replace("/Order/", "/FulfillmentOrder/"),
            "status": "CLOSED" if order.closed_at else "OPEN",
            "deliveryMethod": {
                "id": order.id.replace("/Order/", "/DeliveryMethod/"),
                "methodType": "PICK_UP" if order.pickup else ("RETAIL" if order.retail else "SHIPPING"),
            },
            "assignedLocation": {
                "name": str(self.state.locations[order.location_id]["name"]),
                "location": self.location(order.location_id),
            },
        }
        return {
            "__typename": "Order",
            "id": order.id,
            "name": f"#{order.number}",
            "createdAt": iso(order.created_at),
            "processedAt": iso(order.created_at),
            "updatedAt": iso(order.updated_at),
            "cancelledAt": iso(order.cancelled_at) if order.cancelled_at else None,
            "closed": order.closed_at is not None,
            "closedAt": iso(order.closed_at) if order.closed_at else None,
            "currencyCode": order.currency,
            "displayFulfillmentStatus": _fulfillment_status(order),
            "returnStatus": "RETURNED" if order.returns else "NO_RETURN",
            "returns": lambda _info, **args: connection(returns, args, by_id),
            "retailLocation": self.location(order.location_id) if order.retail else None,
            "lineItems": lambda _info, **args: connection(
                [line_view(li.id) for li in order.lines], args, by_id
            ),
            "fulfillments": lambda _info, first=None, query=None: fulfillments[:first],
            "refunds": lambda _info, first=None: refunds[:first],
            "fulfillmentOrders": lambda _info, **args: connection([fulfillment_order], args, by_id),
        }

    def node(self, gid: str) -> dict[str, Any] | None:
        kind = gid.split("/")[3] if gid.count("/") >= 4 else ""
        if kind == "Location":
            return self.location(gid)
        if kind == "InventoryItem":
            return self.item(gid)
        if kind == "ProductVariant" and gid in self.state.variants:
            return self.variant(self.state.variants[gid])
        if kind == "Product":
            return self.product(gid)
        if kind == "Order" and gid in self.state.orders:
            return self.order(self.state.orders[gid])
        return None


def _fulfillment_status(order: OrderRecord) -> str:
    fulfilled = sum(order.fulfilled(line.id) for line in order.lines)
    remaining = sum(order.unfulfilled(line) for line in order.lines)
    if remaining == 0 and fulfilled > 0:
        return "FULFILLED"
    if fulfilled > 0:
        return "PARTIALLY_FULFILLED"
    if order.cancelled_at is not None and fulfilled == 0:
        return "RESTOCKED"
    return "UNFULFILLED"


def decimal_or_none(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def idempotency_key(info: GraphQLResolveInfo) -> str | None:
    for directive in info.field_nodes[0].directives or ():
        if directive.name.value == "idempotent":
            for arg in directive.arguments:
                if arg.name.value == "key":
                    value = value_from_ast(arg.value, GraphQLString, info.variable_values)
                    return value if isinstance(value, str) else None
    return None
