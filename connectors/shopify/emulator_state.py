"""The emulated shop's state: products, variants, inventory items and levels, orders, idempotency.

Inventory follows Shopify's quantity names: an order moves units from ``available`` to ``committed``
(on hand unchanged); a fulfilment takes them out of ``committed`` and ``on_hand``; a cancellation with
restock moves committed units back to ``available``; a refund with restock type RETURN puts units
back into ``available`` and ``on_hand`` at the refund's location.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

QUANTITY_NAMES = ("available", "committed", "on_hand")


@dataclass
class Variant:
    id: str
    product_id: str
    inventory_item_id: str
    sku: str
    price: Decimal
    compare_at: Decimal | None
    updated_at: datetime
    inventory_policy: str = "DENY"
    """``CONTINUE``: the variant sells on when out of stock (a preorder, a backorder)."""


@dataclass
class Line:
    id: str
    sku: str
    quantity: int
    variant_id: str | None
    inventory_item_id: str | None
    unit_price: Decimal = Decimal("0")
    """The variant's price when the order was placed (the emulator grants no discounts)."""


@dataclass
class Fulfillment:
    id: str
    status: str  # FulfillmentStatus
    created_at: datetime
    location_id: str
    lines: list[tuple[str, int]]  # (line id, quantity)


@dataclass
class Refund:
    id: str
    created_at: datetime
    lines: list[tuple[str, int, str, str | None]]  # (line id, quantity, restock type, location id)


@dataclass
class Return:
    """A return with one reverse fulfilment order: per line, its dispositions (type, quantity, location
    id) as the merchant disposed of the returned units."""

    id: str
    created_at: datetime
    lines: list[tuple[str, list[tuple[str, int, str]]]]


@dataclass
class OrderRecord:
    id: str
    number: int
    created_at: datetime
    updated_at: datetime
    currency: str
    location_id: str
    """Where the units are committed and fulfilled from."""
    lines: list[Line]
    pickup: bool = False
    retail: bool = False
    cancelled_at: datetime | None = None
    closed_at: datetime | None = None
    fulfillments: list[Fulfillment] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)

    def fulfilled(self, line_id: str) -> int:
        return sum(
            q for f in self.fulfillments if f.status == "SUCCESS" for lid, q in f.lines if lid == line_id
        )

    def refunded(self, line_id: str) -> int:
        return sum(q for r in self.refunds for lid, q, _, _ in r.lines if lid == line_id)

    def unfulfilled(self, line: Line) -> int:
        if self.cancelled_at is not None:
            return 0
        removed = sum(
            q for r in self.refunds for lid, q, kind, _ in r.lines if lid == line.id and kind == "CANCEL"
        )
        return max(0, line.quantity - self.fulfilled(line.id) - removed)


class ShopState:
    def __init__(self, currency: str = "USD") -> None:
        self.currency = currency
        self._ids = itertools.count(1001)
        self.locations: dict[str, dict[str, object]] = {}
        self.products: dict[str, dict[str, object]] = {}
        self.variants: dict[str, Variant] = {}
        self.by_sku: dict[str, list[str]] = defaultdict(list)
        self.by_item: dict[str, str] = {}
        self.variant_content: dict[str, dict[str, object]] = {}
        """variant id -> options, barcode and position written by productSet."""
        self.levels: dict[tuple[str, str], dict[str, int]] = {}
        self.level_updated: dict[tuple[str, str], datetime] = {}
        self.orders: dict[str, OrderRecord] = {}
        self.adjustment_groups = 0
        self.idempotency: dict[str, tuple[str, object]] = {}
        """key -> (fingerprint of the variables, the payload answered)."""

    def new_id(self, kind: str) -> str:
        return f"gid://shopify/{kind}/{next(self._ids)}"

    # -- catalogue -------------------------------------------------------------------------------
    def add_location(self, name: str, active: bool = True) -> str:
        gid = self.new_id("Location")
        self.locations[gid] = {"id": gid, "name": name, "isActive": active}
        return gid

    def add_variant(
        self, sku: str, price: Decimal, now: datetime, product_id: str | None = None, title: str | None = None
    ) -> Variant:
        if product_id is None:
            product_id = self.new_id("Product")
            self.products[product_id] = {
                "id": product_id,
                "title": title or sku,
                "handle": sku.lower(),
                "updatedAt": now,
            }
        variant = Variant(
            self.new_id("ProductVariant"), product_id, self.new_id("InventoryItem"), sku, price, None, now
        )
        self.variants[variant.id] = variant
        self.by_sku[sku].append(variant.id)
        self.by_item[variant.inventory_item_id] = variant.id
        return variant

    def stock(self, item_id: str, location_id: str, available: int, now: datetime) -> None:
        self.levels[(item_id, location_id)] = {"available": available, "committed": 0, "on_hand": available}
        self.level_updated[(item_id, location_id)] = now

    def variant_for_sku(self, sku: str) -> Variant | None:
        ids = self.by_sku.get(sku)
        return self.variants[ids[0]] if ids else None

    def move(self, item_id: str, location_id: str, now: datetime, **deltas: int) -> None:
        level = self.levels.get((item_id, location_id))
        if level is None:
            return
        for name, delta in deltas.items():
            level[name] += delta
        self.level_updated[(item_id, location_id)] = now

    # -- orders ----------------------------------------------------------------------------------
    def create_order(
        self,
        items: list[tuple[str, int]],
        location_id: str,
        now: datetime,
        *,
        pickup: bool = False,
        retail: bool = False,
    ) -> OrderRecord:
        lines = []
        for sku, quantity in items:
            variant = self.variant_for_sku(sku)
            lines.append(
                Line(
                    self.new_id("LineItem"),
                    sku,
                    quantity,
                    variant.id if variant else None,
                    variant.inventory_item_id if variant else None,
                    variant.price if variant else Decimal("0"),
                )
            )
        number = len(self.orders) + 1001
        order = OrderRecord(
            self.new_id("Order"),
            number,
            now,
            now,
            self.currency,
            location_id,
            lines,
            pickup=pickup,
            retail=retail,
        )
        self.orders[order.id] = order
        for line in lines:
            if line.inventory_item_id:
                self.move(
                    line.inventory_item_id,
                    location_id,
                    now,
                    available=-line.quantity,
                    committed=line.quantity,
                )
        return order

    def fulfill(self, order: OrderRecord, now: datetime, quantities: dict[str, int] | None = None) -> None:
        parts = []
        for line in order.lines:
            qty = (
                order.unfulfilled(line)
                if quantities is None
                else min(quantities.get(line.sku, 0), order.unfulfilled(line))
            )
            if qty > 0:
                parts.append((line.id, qty))
                if line.inventory_item_id:
                    self.move(line.inventory_item_id, order.location_id, now, committed=-qty, on_hand=-qty)
        if parts:
            order.fulfillments.append(
                Fulfillment(self.new_id("Fulfillment"), "SUCCESS", now, order.location_id, parts)
            )
        order.updated_at = now
        if all(order.unfulfilled(line) == 0 for line in order.lines):
            order.closed_at = order.closed_at or now

    def cancel(self, order: OrderRecord, now: datetime, restock: bool = True) -> None:
        refund_lines: list[tuple[str, int, str, str | None]] = []
        for line in order.lines:
            open_units = order.unfulfilled(line)
            if open_units > 0:
                refund_lines.append(
                    (line.id, open_units, "CANCEL" if restock else "NO_RESTOCK", order.location_id)
                )
                if line.inventory_item_id:
                    back = {"available": open_units} if restock else {"on_hand": -open_units}
                    self.move(line.inventory_item_id, order.location_id, now, committed=-open_units, **back)
        if refund_lines:
            order.refunds.append(Refund(self.new_id("Refund"), now, refund_lines))
        order.cancelled_at = now
        order.closed_at = now
        order.updated_at = now

    def return_items(
        self,
        order: OrderRecord,
        sku: str,
        dispositions: dict[str, int],
        now: datetime,
        location_id: str | None = None,
    ) -> None:
        """A return of the line of ``sku``, its units disposed of as ``dispositions`` (RESTOCKED,
        NOT_RESTOCKED, PROCESSING_REQUIRED, MISSING -> units) at the location, and refunded: the refund
        restocks nothing itself (NO_RESTOCK); a RESTOCKED unit goes back on the shelf."""
        line = next(li for li in order.lines if li.sku == sku)
        location = location_id or order.location_id
        disposed = [(kind, n, location) for kind, n in dispositions.items() if n]
        order.returns.append(Return(self.new_id("Return"), now, [(line.id, disposed)]))
        total = sum(n for _, n, _ in disposed)
        order.refunds.append(Refund(self.new_id("Refund"), now, [(line.id, total, "NO_RESTOCK", location)]))
        back = dispositions.get("RESTOCKED", 0)
        if back and line.inventory_item_id:
            self.move(line.inventory_item_id, location, now, available=back, on_hand=back)
        order.updated_at = now

    def refund(
        self,
        order: OrderRecord,
        sku: str,
        quantity: int,
        now: datetime,
        restock: bool = True,
        location_id: str | None = None,
    ) -> None:
        line = next(li for li in order.lines if li.sku == sku)
        location = location_id or order.location_id
        kind = "RETURN" if restock else "NO_RESTOCK"
        entry: tuple[str, int, str, str | None] = (line.id, quantity, kind, location)
        order.refunds.append(Refund(self.new_id("Refund"), now, [entry]))
        if restock and line.inventory_item_id:
            self.move(line.inventory_item_id, location, now, available=quantity, on_hand=quantity)
        order.updated_at = now
