"""The REST representation of an order, as Shopify sends it in ``orders/*`` webhook bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .emulator_state import OrderRecord


def _number(gid: str | None) -> int | None:
    return int(gid.rsplit("/", 1)[-1]) if gid else None


def rest_order(order: OrderRecord) -> dict[str, Any]:
    """The REST representation Shopify sends in ``orders/*`` webhooks (the fields omnisync reads)."""
    return {
        "id": _number(order.id),
        "admin_graphql_api_id": order.id,
        "name": f"#{order.number}",
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "closed_at": order.closed_at.isoformat() if order.closed_at else None,
        "currency": order.currency,
        "location_id": _number(order.location_id) if order.retail else None,
        "line_items": [
            {
                "id": _number(li.id),
                "admin_graphql_api_id": li.id,
                "sku": li.sku,
                "quantity": li.quantity,
                "price": str(li.unit_price.quantize(Decimal("0.01"))),
                "discount_allocations": [],
                "fulfillable_quantity": order.unfulfilled(li),
                "variant_id": _number(li.variant_id),
            }
            for li in order.lines
        ],
        "fulfillments": [
            {
                "id": _number(f.id),
                "status": f.status.lower(),
                "location_id": _number(f.location_id),
                "line_items": [{"id": _number(lid), "quantity": q} for lid, q in f.lines],
            }
            for f in order.fulfillments
        ],
        "refunds": [
            {
                "id": _number(r.id),
                "refund_line_items": [
                    {
                        "line_item_id": _number(lid),
                        "quantity": q,
                        "restock_type": kind.lower(),
                        "location_id": _number(loc),
                    }
                    for lid, q, kind, loc in r.lines
                ],
            }
            for r in order.refunds
        ],
    }
