"""Shopify orders -> omnisync ``Order``: from a GraphQL ``Order`` node or a REST webhook payload.

Per line, cumulative quantities:

- ``fulfilled``: units in fulfilments whose status is SUCCESS;
- ``restocked``: refunded units put back on the shelf (restock type RETURN, or LEGACY_RESTOCK of
  fulfilled units);
- ``cancelled``: when the order is cancelled, every unit not fulfilled; otherwise units refunded with
  restock type CANCEL (or LEGACY_RESTOCK beyond what was fulfilled).
- ``damaged`` / ``to_inspect``: returned units a return's reverse fulfilment order disposed of as
  NOT_RESTOCKED / PROCESSING_REQUIRED (read by the connector for orders whose ``returnStatus`` says
  something came back). A RESTOCKED disposition is a restock: the line's ``restocked`` is the larger
  of its refunds' restocked units and its RESTOCKED dispositions (Shopify may record the same unit in
  both, or in one: never counted twice); MISSING brings nothing back. All returned units together
  never exceed the fulfilled ones.

``location`` is the ledger code of the order's POS retail location, else of a pick-up fulfilment
order's assigned location, when ``settings.locations`` maps it. ``return_location`` is the mapped
location refunded units were restocked at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from omnisync.sdk import Order, OrderLine, OrderStatus, ProtocolError

from .settings import ShopifySettings


@dataclass
class _Facts:
    """What both payload shapes reduce to before the arithmetic."""

    external_id: str
    created_at: datetime | None
    updated_at: datetime
    cancelled: bool
    closed: bool
    currency: str | None
    lines: list[tuple[str, str, int]] = field(default_factory=list)  # (line id, sku, quantity)
    unit_prices: dict[str, Decimal] = field(default_factory=dict)  # line id -> charged per unit
    fulfilled: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refunds: list[tuple[str, int, str, str | None]] = field(default_factory=list)  # line, qty, type, location
    dispositions: list[tuple[str, int, str, str | None]] = field(default_factory=list)  # the same, of returns
    location_gids: list[str] = field(default_factory=list)  # in order of preference


def parse_time(value: object, what: str = "timestamp") -> datetime:
    if not isinstance(value, str):
        raise ProtocolError(f"order {what} missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ProtocolError(f"order {what} {value!r} is not ISO 8601") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _id(obj: object) -> str | None:
    if isinstance(obj, Mapping) and isinstance(obj.get("id"), str):
        return str(obj["id"])
    return None


def _nodes(connection: object) -> list[Mapping[str, Any]]:
    if isinstance(connection, Mapping):
        items = connection.get("nodes")
        if items is None and isinstance(connection.get("edges"), list):
            items = [edge.get("node") for edge in connection["edges"] if isinstance(edge, Mapping)]
        return [n for n in items or [] if isinstance(n, Mapping)]
    return []


RETURNS_RECEIVED = frozenset({"IN_PROGRESS", "RETURNED", "INSPECTION_COMPLETE"})
"""``Order.returnStatus`` values under which a return may have dispositions to read."""


def dispositions_of(returns: object) -> list[tuple[str, int, str, str | None]]:
    """(line id, quantity, disposition type, location gid) of an ``Order.returns`` connection (as
    selected by ``documents.ORDER_RETURNS``)."""
    found: list[tuple[str, int, str, str | None]] = []
    for ret in _nodes(returns):
        for rfo in _nodes(ret.get("reverseFulfillmentOrders")):
            for item in _nodes(rfo.get("lineItems")):
                fli = item.get("fulfillmentLineItem")
                line_id = _id(fli.get("lineItem")) if isinstance(fli, Mapping) else None
                if line_id is None:
                    continue
                for d in item.get("dispositions") or []:
                    if isinstance(d, Mapping):
                        found.append(
                            (line_id, int(d.get("quantity") or 0), str(d.get("type")), _id(d.get("location")))
                        )
    return found


def from_graphql(
    node: Mapping[str, Any],
    settings: ShopifySettings,
    extra_lines: Iterable[Mapping[str, Any]] = (),
    dispositions: Iterable[tuple[str, int, str, str | None]] = (),
) -> Order:
    """Normalise a GraphQL ``Order`` (as selected by ``documents.ORDERS``), with the dispositions of
    its returns (:func:`dispositions_of`) when it has some."""
    if not isinstance(node.get("id"), str):
        raise ProtocolError("order without id")
    facts = _Facts(
        external_id=node["id"],
        created_at=parse_time(node["createdAt"], "createdAt") if node.get("createdAt") else None,
        updated_at=parse_time(node.get("updatedAt"), "updatedAt"),
        cancelled=node.get("cancelledAt") is not None,
        closed=bool(node.get("closed")),
        currency=node.get("currencyCode"),
    )
    for line in [*_nodes(node.get("lineItems")), *extra_lines]:
        line_id = _id(line)
        if line_id is not None:
            facts.lines.append((line_id, str(line.get("sku") or ""), int(line.get("quantity") or 0)))
            bag = line.get("discountedUnitPriceAfterAllDiscountsSet")
            shop = bag.get("shopMoney") if isinstance(bag, Mapping) else None
            price = _decimal(shop.get("amount")) if isinstance(shop, Mapping) else None
            if price is not None:
                facts.unit_prices[line_id] = price
    for fulfillment in node.get("fulfillments") or []:
        if fulfillment.get("status") != "SUCCESS":
            continue
        for item in _nodes(fulfillment.get("fulfillmentLineItems")):
            line_id = _id(item.get("lineItem"))
            if line_id is not None:
                facts.fulfilled[line_id] += int(item.get("quantity") or 0)
    for refund in node.get("refunds") or []:
        for item in _nodes(refund.get("refundLineItems")):
            line_id = _id(item.get("lineItem"))
            if line_id is not None:
                facts.refunds.append(
                    (
                        line_id,
                        int(item.get("quantity") or 0),
                        str(item.get("restockType")),
                        _id(item.get("location")),
                    )
                )
    facts.dispositions.extend(dispositions)
    retail = _id(node.get("retailLocation"))
    if retail:
        facts.location_gids.append(retail)
    for fo in _nodes(node.get("fulfillmentOrders")):
        method = fo.get("deliveryMethod")
        if isinstance(method, Mapping) and method.get("methodType") == "PICK_UP":
            assigned = fo.get("assignedLocation")
            gid = _id(assigned.get("location")) if isinstance(assigned, Mapping) else None
            if gid:
                facts.location_gids.append(gid)
    return _build(facts, settings, raw=node)


def from_rest(payload: Mapping[str, Any], settings: ShopifySettings) -> Order:
    """Normalise a REST-shaped order (the body of ``orders/*`` webhooks)."""
    if payload.get("id") is None:
        raise ProtocolError("webhook order without id")
    facts = _Facts(
        external_id=str(payload.get("admin_graphql_api_id") or f"gid://shopify/Order/{payload['id']}"),
        created_at=parse_time(payload["created_at"], "created_at") if payload.get("created_at") else None,
        updated_at=parse_time(payload.get("updated_at"), "updated_at"),
        cancelled=payload.get("cancelled_at") is not None,
        closed=payload.get("closed_at") is not None,
        currency=payload.get("currency"),
    )
    for line in payload.get("line_items") or []:
        line_id, quantity = _line_gid(line.get("id")), int(line.get("quantity") or 0)
        facts.lines.append((line_id, str(line.get("sku") or ""), quantity))
        price = _decimal(line.get("price"))
        if price is not None and quantity > 0:
            # ``price`` is before discounts; each discount allocation is the line's share in total
            off = sum(
                (_decimal(a.get("amount")) or Decimal(0)
                 for a in line.get("discount_allocations") or [] if isinstance(a, Mapping)),
                Decimal(0),
            )  # fmt: skip
            facts.unit_prices[line_id] = (price - off / quantity).quantize(Decimal("0.01"))
    for fulfillment in payload.get("fulfillments") or []:
        if str(fulfillment.get("status", "")).lower() != "success":
            continue
        for item in fulfillment.get("line_items") or []:
            facts.fulfilled[_line_gid(item.get("id"))] += int(item.get("quantity") or 0)
    for refund in payload.get("refunds") or []:
        for item in refund.get("refund_line_items") or []:
            location = item.get("location_id")
            facts.refunds.append(
                (
                    _line_gid(item.get("line_item_id")),
                    int(item.get("quantity") or 0),
                    str(item.get("restock_type") or "no_restock").upper(),
                    f"gid://shopify/Location/{location}" if location else None,
                )
            )
    if payload.get("location_id"):
        facts.location_gids.append(f"gid://shopify/Location/{payload['location_id']}")
    return _build(facts, settings, raw=payload)


def _decimal(value: object) -> Decimal | None:
    """A money amount as Shopify writes it (a string such as ``"12.50"``); None when absent or not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _line_gid(value: object) -> str:
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/LineItem/{text}"


def _build(facts: _Facts, settings: ShopifySettings, raw: Mapping[str, Any]) -> Order:
    returned: dict[str, int] = defaultdict(int)
    legacy: dict[str, int] = defaultdict(int)
    cancel: dict[str, int] = defaultdict(int)
    kept: dict[str, int] = defaultdict(int)
    """Refunded without a restock (the customer keeps the item, or it is written off)."""
    return_location: str | None = None
    for line_id, qty, restock_type, location in facts.refunds:
        if restock_type == "RETURN":
            returned[line_id] += qty
        elif restock_type == "LEGACY_RESTOCK":
            legacy[line_id] += qty
        elif restock_type == "CANCEL":
            cancel[line_id] += qty
        else:
            kept[line_id] += qty
            continue
        if return_location is None and restock_type != "CANCEL":
            return_location = settings.location_code(location)
    disposed: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line_id, qty, kind, location in facts.dispositions:
        disposed[line_id][kind] += qty
        if return_location is None and kind in ("RESTOCKED", "NOT_RESTOCKED", "PROCESSING_REQUIRED"):
            return_location = settings.location_code(location)
    lines = []
    all_done = True
    for line_id, sku, quantity in facts.lines:
        fulfilled = min(quantity, facts.fulfilled.get(line_id, 0))
        put_back = returned.get(line_id, 0) + legacy.get(line_id, 0)
        kinds = disposed.get(line_id, {})
        restocked = min(fulfilled, max(put_back, kinds.get("RESTOCKED", 0)))
        damaged = min(fulfilled - restocked, kinds.get("NOT_RESTOCKED", 0))
        to_inspect = min(fulfilled - restocked - damaged, kinds.get("PROCESSING_REQUIRED", 0))
        open_units = quantity - fulfilled
        if facts.cancelled:
            cancelled = open_units
        else:
            cancelled = min(open_units, cancel.get(line_id, 0) + max(0, put_back - fulfilled))
        all_done = all_done and fulfilled + cancelled >= quantity
        lines.append(
            OrderLine(
                line_id=line_id,
                channel_sku=sku,
                quantity=quantity,
                fulfilled=fulfilled,
                cancelled=cancelled,
                restocked=restocked,
                refunded=min(fulfilled, put_back + kept.get(line_id, 0)),
                unit_price=facts.unit_prices.get(line_id),
                damaged=damaged,
                to_inspect=to_inspect,
            )
        )
    if facts.cancelled:
        status = OrderStatus.CANCELLED
    elif facts.closed and facts.refunds:
        status = OrderStatus.CLOSED
    elif lines and all_done:
        status = OrderStatus.FULFILLED
    elif facts.closed:
        status = OrderStatus.CLOSED
    else:
        status = OrderStatus.OPEN
    location = next((c for c in map(settings.location_code, facts.location_gids) if c is not None), None)
    return Order(
        external_id=facts.external_id,
        status=status,
        updated_at=facts.updated_at,
        lines=tuple(lines),
        created_at=facts.created_at,
        location=location,
        return_location=return_location if return_location != location else None,
        currency=facts.currency,
        raw=dict(raw),
    )
