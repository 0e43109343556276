"""Commerce orders -> normalised ``Order`` values (pure functions, no I/O).

A Meta order arrives as the order node plus its edges: ``items`` (lines by retailer id), and the
``cancellations``, ``refunds`` and ``shipments`` made so far, each with the items and quantities it
concerns (none listed: the whole order). Per line, cumulatively:

- ``fulfilled`` = units shipped,
- ``cancelled`` = units cancelled before shipping (capped at what was not shipped),
- ``restocked`` = units refunded after shipping (treated as returned to stock, capped at shipped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from omnisync.sdk import Order, OrderLine, OrderStatus

JSONDict = dict[str, Any]


def parse_time(value: object) -> datetime | None:
    """Graph datetimes: "2026-01-01T10:00:00+0000", ISO 8601 with a colon, or a unix timestamp."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def edge_items(record: Mapping[str, Any]) -> list[JSONDict]:
    """The ``items`` of a cancellation/refund/shipment: a list or a Graph ``{"data": [...]}`` edge."""
    items = record.get("items")
    if isinstance(items, dict):
        items = items.get("data")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _quantity(value: object) -> int:
    try:
        return max(0, int(str(value)))
    except (TypeError, ValueError):
        return 0


def _money(value: object) -> tuple[Decimal | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    try:
        amount = Decimal(str(value.get("amount")))
    except (InvalidOperation, ValueError):
        amount = None
    currency = value.get("currency")
    return amount, str(currency) if currency else None


@dataclass
class _Line:
    item_id: str
    retailer_id: str
    quantity: int
    unit_price: Decimal | None
    fulfilled: int = 0
    cancelled: int = 0
    restocked: int = 0


def _lines_for(lines: list[_Line], item: Mapping[str, Any]) -> list[_Line]:
    item_id = str(item.get("id") or item.get("item_id") or "")
    by_id = [line for line in lines if item_id and line.item_id == item_id]
    if by_id:
        return by_id
    retailer_id = str(item.get("retailer_id") or "")
    return [line for line in lines if retailer_id and line.retailer_id == retailer_id]


def _apply(lines: list[_Line], records: Sequence[Mapping[str, Any]], kind: str) -> None:
    for record in records:
        items = edge_items(record)
        if not items:  # the whole order
            for line in lines:
                _add(line, kind, line.quantity)
            continue
        for item in items:
            remaining = _quantity(item.get("quantity"))
            for line in _lines_for(lines, item):
                remaining -= _add(line, kind, remaining)
                if remaining <= 0:
                    break


def _add(line: _Line, kind: str, units: int) -> int:
    """Add up to ``units`` of ``kind`` to the line within its caps; returns what was taken."""
    if kind in ("fulfilled", "cancelled"):  # both take from the units still open
        room = line.quantity - line.fulfilled - line.cancelled
    else:  # restocked
        room = line.fulfilled - line.restocked
    taken = max(0, min(units, room))
    setattr(line, kind, getattr(line, kind) + taken)
    return taken


def _status(state: str, lines: Sequence[_Line]) -> OrderStatus:
    total = sum(line.quantity for line in lines)
    cancelled = sum(line.cancelled for line in lines)
    fulfilled = sum(line.fulfilled for line in lines)
    if total and cancelled >= total:
        return OrderStatus.CANCELLED
    if any(line.restocked for line in lines):
        return OrderStatus.CLOSED
    if state == "COMPLETED" or (total and fulfilled + cancelled >= total):
        return OrderStatus.FULFILLED
    return OrderStatus.OPEN


def normalise_order(
    order: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    *,
    cancellations: Sequence[Mapping[str, Any]] = (),
    refunds: Sequence[Mapping[str, Any]] = (),
    shipments: Sequence[Mapping[str, Any]] = (),
) -> Order:
    order_id = str(order["id"])
    currency: str | None = None
    lines: list[_Line] = []
    for index, item in enumerate(items):
        price, item_currency = _money(item.get("price_per_unit"))
        currency = currency or item_currency
        lines.append(
            _Line(
                item_id=str(item.get("id") or f"{order_id}:{index}"),
                retailer_id=str(item.get("retailer_id") or ""),
                quantity=_quantity(item.get("quantity")),
                unit_price=price,
            )
        )
    # Shipments first (a cancellation can only take what was not shipped), then cancellations, refunds.
    _apply(lines, shipments, "fulfilled")
    _apply(lines, cancellations, "cancelled")
    _apply(lines, refunds, "restocked")
    status_obj = order.get("order_status")
    state = str(status_obj.get("state", "")) if isinstance(status_obj, dict) else ""
    created = parse_time(order.get("created"))
    updated = parse_time(order.get("last_updated")) or created or datetime.now(UTC)
    raw = dict(order)
    raw["items"] = {"data": [dict(i) for i in items]}
    for name, records in (("cancellations", cancellations), ("refunds", refunds), ("shipments", shipments)):
        if records:
            raw[name] = {"data": [dict(r) for r in records]}
    return Order(
        external_id=order_id,
        status=_status(state, lines),
        updated_at=updated,
        created_at=created,
        currency=currency,
        lines=tuple(
            OrderLine(
                line_id=line.item_id,
                channel_sku=line.retailer_id,
                quantity=line.quantity,
                fulfilled=line.fulfilled,
                cancelled=line.cancelled,
                restocked=line.restocked,
                unit_price=line.unit_price,
            )
            for line in lines
        ),
        raw=raw,
    )
