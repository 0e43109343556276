"""Square orders -> omnisync orders.

* A COMPLETED order (a sale rung up at the POS, or a click-and-collect order picked up) fulfils all
  its lines at once at the order's location: a sale movement at that store.
* An OPEN order (an online order to pick up at this store) reserves its lines at the store, so the
  POS count and every online channel drawing on the store drop by it; CANCELED releases it.
* A return is a separate Square order (``returns[].source_order_id``, ``return_line_items``) at the
  location where the customer brought the goods back, which may be another store than the sale's
  ("return anywhere"). It is imported as its own order, status CLOSED, whose lines carry quantity 0
  and, at that store (``return_location``), what became of the returned units. The order does not
  say it (an ``OrderReturnLineItem`` has no restock flag): the inventory does, as adjustments naming
  the return's refund (``refund_id``) from SOLD to IN_STOCK (``restocked``: a return movement) or to
  WASTE (``damaged``: the damaged bucket); units with neither did not come back to stock. A return
  without a refund (an exchange settled otherwise) is read by ``settings.restock_returns``. An
  exchange carries both sale lines and return lines.
* Lines carry the variation's SKU (the channel SKU). A variation without a SKU is reported under its
  variation id, an ad-hoc item under ``square-item:<name>``, so the engine quarantines them visibly.
  Custom amounts and gift cards move no stock and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal

from omnisync.sdk import Order, OrderLine, OrderStatus, ProtocolError

from .client import Json, as_dict, quantity_of
from .prices import from_minor
from .settings import SquareSettings
from .timefmt import parse_rfc3339

_STATUS = {"OPEN": OrderStatus.OPEN, "COMPLETED": OrderStatus.FULFILLED, "CANCELED": OrderStatus.CANCELLED}
NOT_STOCK = frozenset({"CUSTOM_AMOUNT", "GIFT_CARD"})


def variation_ids(order: Json) -> set[str]:
    ids = {
        str(li["catalog_object_id"]) for li in _list(order.get("line_items")) if li.get("catalog_object_id")
    }
    for ret in _list(order.get("returns")):
        ids |= {
            str(li["catalog_object_id"])
            for li in _list(ret.get("return_line_items"))
            if li.get("catalog_object_id")
        }
    return ids


Disposed = dict[str, dict[str, int]]
"""Variation id -> inventory state (IN_STOCK, WASTE) -> units a return's refunds moved there."""


def refund_ids(order: Json) -> list[str]:
    """The ids of a completed return order's refunds (what its inventory adjustments name)."""
    if order.get("state") != "COMPLETED" or not _list(order.get("returns")):
        return []
    return [str(r["id"]) for r in _list(order.get("refunds")) if r.get("id")]


def disposed_by_refund(adjustments: list[Json], refunds: Mapping[str, str]) -> dict[str, Disposed]:
    """Order id -> what its refunds' adjustments did to its returned units (``refunds``: refund id ->
    return order id); adjustments naming no refund of these orders are left out."""
    found: dict[str, Disposed] = {}
    for a in adjustments:
        order_id = refunds.get(str(a.get("refund_id") or ""))
        state = str(a.get("to_state") or "")
        if order_id is None or state not in ("IN_STOCK", "WASTE"):
            continue
        per_state = found.setdefault(order_id, {}).setdefault(str(a.get("catalog_object_id")), {})
        per_state[state] = per_state.get(state, 0) + quantity_of(a.get("quantity", "0"))
    return found


def normalize(
    order: Json, settings: SquareSettings, skus: Mapping[str, str], disposed: Disposed | None = None
) -> Order:
    """One Square order as an omnisync order; ``skus`` maps variation id -> SKU; ``disposed``: what
    the return's refunds did to its units (:func:`disposed_by_refund`; None: not known)."""
    order_id = order.get("id")
    state = str(order.get("state") or "")
    updated_at = parse_rfc3339(order.get("updated_at")) or parse_rfc3339(order.get("created_at"))
    if not isinstance(order_id, str) or state not in _STATUS or updated_at is None:
        raise ProtocolError(f"Square order {order_id!r} lacks an id, a known state or updated_at")
    location = settings.ledger_location(order.get("location_id"))
    lines: list[OrderLine] = []
    for n, li in enumerate(_list(order.get("line_items"))):
        if li.get("item_type") in NOT_STOCK:
            continue
        quantity = quantity_of(li.get("quantity", "0"))
        lines.append(
            OrderLine(
                line_id=str(li.get("uid") or f"line-{n}"),
                channel_sku=_channel_sku(li, skus),
                quantity=quantity,
                fulfilled=quantity if state == "COMPLETED" else 0,
                cancelled=quantity if state == "CANCELED" else 0,
                unit_price=_net_unit_price(li, "gross_sales_money", quantity),
            )
        )
    returned = False
    remaining = {vid: dict(states) for vid, states in (disposed or {}).items()}
    """What the refunds moved and no return line has taken yet (``disposed`` is left as given)."""
    for r, ret in enumerate(_list(order.get("returns"))):
        for n, li in enumerate(_list(ret.get("return_line_items"))):
            if li.get("item_type") in NOT_STOCK:
                continue
            returned = True
            units = quantity_of(li.get("quantity", "0"))
            if disposed is None:
                restocked = units if state == "COMPLETED" and settings.restock_returns else 0
                damaged = 0
            else:  # the line's units taken from what the refunds did to its variation
                left = remaining.setdefault(str(li.get("catalog_object_id")), {})
                restocked = min(units, left.get("IN_STOCK", 0))
                damaged = min(units - restocked, left.get("WASTE", 0))
                left["IN_STOCK"] = left.get("IN_STOCK", 0) - restocked
                left["WASTE"] = left.get("WASTE", 0) - damaged
            lines.append(
                OrderLine(
                    line_id=f"return:{li.get('uid') or f'{r}-{n}'}",
                    channel_sku=_channel_sku(li, skus),
                    quantity=0,
                    restocked=restocked,
                    unit_price=_net_unit_price(li, "gross_return_money", units),
                    damaged=damaged,
                )
            )
    status = OrderStatus.CLOSED if returned and state == "COMPLETED" else _STATUS[state]
    total = as_dict(order.get("total_money"))
    return Order(
        external_id=order_id,
        status=status,
        updated_at=updated_at,
        lines=tuple(lines),
        created_at=parse_rfc3339(order.get("created_at")),
        location=location,
        return_location=location if returned else None,
        currency=str(total.get("currency")) if total.get("currency") else None,
        raw=order,
    )


def _channel_sku(line: Json, skus: Mapping[str, str]) -> str:
    vid = line.get("catalog_object_id")
    if vid:
        return skus.get(str(vid)) or str(vid)
    return f"square-item:{line.get('name') or 'unnamed'}"


def _net_unit_price(line: Json, gross_field: str, quantity: int) -> Decimal | None:
    """What a unit was charged, net of the line's discounts (taxes left out): (gross − discounts) ÷
    quantity, rounded to the currency's minor unit; the line's ``base_price_money`` when Square gives
    no gross."""
    gross = as_dict(line.get(gross_field))
    if not isinstance(gross.get("amount"), int) or quantity <= 0:
        return _money(line.get("base_price_money"))
    discount = as_dict(line.get("total_discount_money")).get("amount")
    net_minor = gross["amount"] - (discount if isinstance(discount, int) else 0)
    per_unit = (Decimal(net_minor) / quantity).to_integral_value(rounding=ROUND_HALF_EVEN)
    return from_minor(int(per_unit), str(gross.get("currency") or "USD"))


def _money(value: object) -> Decimal | None:
    if not isinstance(value, dict) or not isinstance(value.get("amount"), int):
        return None
    return from_minor(value["amount"], str(value.get("currency") or "USD"))


def _list(value: object) -> list[Json]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
