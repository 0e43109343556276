"""Orders v0 payloads → normalised ``Order`` values (pure functions).

Pending, Unshipped, PartiallyShipped (and the other not-yet-shipped states) reserve stock; Shipped
fulfils what shipped; Canceled releases what did not ship. Lines keep Amazon's SellerSKU: the engine
maps it to the master SKU and quarantines unknown ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from omnisync.sdk import LocationStock, Order, OrderLine, OrderStatus, ProtocolError

Json = Mapping[str, Any]

STATUS_MAP: dict[str, OrderStatus] = {
    "Pending": OrderStatus.OPEN,
    "PendingAvailability": OrderStatus.OPEN,
    "InvoiceUnconfirmed": OrderStatus.OPEN,
    "Unshipped": OrderStatus.OPEN,
    "PartiallyShipped": OrderStatus.OPEN,
    "Shipped": OrderStatus.FULFILLED,
    "Canceled": OrderStatus.CANCELLED,
    "Unfulfillable": OrderStatus.CANCELLED,
}


def parse_time(value: object, channel: str) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError("order timestamp missing", channel=channel)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ProtocolError(f"order timestamp {value!r} is not ISO 8601", channel=channel) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as Amazon writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value: object) -> Decimal | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return Decimal(str(value.get("Amount")))
    except (InvalidOperation, ValueError):
        return None


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def order_line(item: Json, status: str) -> OrderLine:
    ordered = _int(item.get("QuantityOrdered"))
    shipped = min(_int(item.get("QuantityShipped")), ordered)
    total = _money(item.get("ItemPrice"))  # the units' selling price; promotions come apart
    if total is not None:
        total -= _money(item.get("PromotionDiscount")) or Decimal(0)
    unit = (total / ordered).quantize(Decimal("0.01")) if total is not None and ordered else None
    if status == "Shipped":
        shipped = ordered  # a Shipped order has handed over every unit
    cancelled = ordered - shipped if STATUS_MAP.get(status) is OrderStatus.CANCELLED else 0
    return OrderLine(
        line_id=str(item.get("OrderItemId")),
        channel_sku=str(item.get("SellerSKU") or item.get("ASIN") or ""),
        quantity=ordered,
        fulfilled=shipped,
        cancelled=cancelled,
        unit_price=unit,
    )


def normalise(order: Json, items: Sequence[Json], channel: str, location: str | None = None) -> Order:
    """``location``: where the order ships from when Amazon ships it (an FBA location)."""
    status = str(order.get("OrderStatus"))
    if status not in STATUS_MAP:
        raise ProtocolError(f"unknown OrderStatus {status!r}", channel=channel)
    total = order.get("OrderTotal")
    currency = total.get("CurrencyCode") if isinstance(total, Mapping) else None
    return Order(
        external_id=str(order["AmazonOrderId"]),
        status=STATUS_MAP[status],
        updated_at=parse_time(order.get("LastUpdateDate"), channel),
        created_at=parse_time(order.get("PurchaseDate"), channel),
        lines=tuple(order_line(item, status) for item in items),
        currency=str(currency) if currency else None,
        location=location,
        raw={"order": dict(order), "items": [dict(i) for i in items]},
    )


def fba_stock(location: str, summary: Json) -> LocationStock | None:
    """An FBA Inventory ``InventorySummary`` (with details) as the count of ``location``: fulfillable
    units plus those Amazon holds for customer orders (None without a SKU or details)."""
    sku, details = summary.get("sellerSku"), summary.get("inventoryDetails")
    if not isinstance(sku, str) or not isinstance(details, Mapping):
        return None
    reserved = details.get("reservedQuantity")
    reserved = reserved if isinstance(reserved, Mapping) else {}
    fulfillable = _int(details.get("fulfillableQuantity"))
    pending = _int(reserved.get("pendingCustomerOrderQuantity"))
    inbound = sum(
        _int(details.get(k))
        for k in ("inboundWorkingQuantity", "inboundShippedQuantity", "inboundReceivingQuantity")
    )
    return LocationStock(
        location=location,
        channel_sku=sku,
        quantity=fulfillable + pending,
        details={
            "fulfillable": fulfillable,
            "inbound": inbound,
            "reserved": _int(reserved.get("totalReservedQuantity")),
        },
    )
