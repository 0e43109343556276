"""A stateful emulator of the Meta Graph API slice the Instagram connector uses.

State: a product catalog keyed by retailer id (inventory, price, sale price, availability, visibility),
asynchronous ``items_batch`` handles that settle on the injected clock, commerce orders placed by
simulated shoppers (which lower the catalog inventory, as Meta does), their cancellations, refunds and
shipments, and the hourly call budgets behind ``X-Business-Use-Case-Usage`` / ``X-App-Usage`` with the
real throttle answers (error 80014, error 4). Faults can be injected (``fail_next``).

Drive it synchronously (``seed_item``, ``place_order``, ``cancel_order``...) and talk to it over HTTP
through ``transport()`` in-process, or on loopback::

    python -m omnisync_connectors.instagram.emulator --port 8086
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from omnisync.clock import Clock, SystemClock
from omnisync.testing.harness import Fault
from omnisync.testing.latency import RoundTrip, WithLatency

from .emulator_app import build_app
from .emulator_batch import BatchProcessor, CatalogItem

HOUR_S = 3600.0


@dataclass
class OrderItem:
    item_id: str
    retailer_id: str
    product_id: str
    quantity: int
    price: Decimal
    currency: str


@dataclass
class CommerceOrder:
    order_id: str
    state: str
    created: datetime
    last_updated: datetime
    items: list[OrderItem]
    cancellations: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    acknowledge_key: str | None = None

    def shipped(self, item: OrderItem) -> int:
        return _units(self.shipments, item)

    def cancelled(self, item: OrderItem) -> int:
        return _units(self.cancellations, item)

    def open_units(self, item: OrderItem) -> int:
        return item.quantity - self.shipped(item) - self.cancelled(item)


def _units(records: list[dict[str, Any]], item: OrderItem) -> int:
    return sum(i["quantity"] for r in records for i in r["items"]["data"] if i["id"] == item.item_id)


class InstagramEmulator(WithLatency):
    def __init__(
        self,
        clock: Clock | None = None,
        *,
        access_token: str = "emulator-system-user-token",  # noqa: S107 - the emulator's own fake token
        catalog_id: str = "1000000000000001",
        cms_id: str = "2000000000000002",
        business_id: str = "3000000000000003",
        currency: str = "USD",
        page_size: int = 25,
        batch_settle_s: float = 2.0,
        batch_per_item_s: float = 0.001,
        batch_calls_per_hour: int = 2000,
        app_calls_per_hour: int = 100_000,
        throttle_minutes: int = 1,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock or SystemClock()
        self.access_token = access_token
        self.catalog_id = catalog_id
        self.cms_id = cms_id
        self.business_id = business_id
        self.currency = currency
        self.page_size = page_size
        self.batch_calls_per_hour = batch_calls_per_hour
        self.app_calls_per_hour = app_calls_per_hour
        self.throttle_minutes = throttle_minutes
        self.items: dict[str, CatalogItem] = {}
        self.orders: dict[str, CommerceOrder] = {}
        self.batches = BatchProcessor(self, settle_s=batch_settle_s, per_item_s=batch_per_item_s)
        self.calls: Counter[str] = Counter()
        """Answered calls by endpoint name (``items_batch``, ``check_batch_request_status``, ...)."""
        self.batch_sizes: list[int] = []
        """Number of requests in every ``items_batch`` call received."""
        self.batch_acknowledgements: dict[str, tuple[list[str], list[dict[str, Any]]]] = {}
        """``acknowledge_orders`` answers by idempotency key."""
        self.faults: deque[Fault] = deque()
        self._batch_window: deque[float] = deque()
        self._app_window: deque[float] = deque()
        self._ids = itertools.count(10_000_000_000_001)
        self.app = RoundTrip(build_app(self), self.clock, latency)

    # -- wiring ------------------------------------------------------------------------------------
    def transport(self) -> httpx.AsyncBaseTransport:
        """In-process transport; injected TIMEOUT faults raise ``httpx.ReadTimeout`` here."""
        return _EmulatorTransport(self)

    def next_id(self) -> str:
        return str(next(self._ids))

    # -- catalog control -----------------------------------------------------------------------------
    def seed_item(
        self,
        retailer_id: str,
        inventory: int,
        price: Decimal | str | int,
        *,
        currency: str | None = None,
        visibility: str = "published",
        name: str | None = None,
    ) -> CatalogItem:
        item = CatalogItem(
            item_id=self.next_id(),
            retailer_id=retailer_id,
            name=name or retailer_id,
            inventory=inventory,
            price=Decimal(str(price)),
            currency=currency or self.currency,
            availability="in stock" if inventory > 0 else "out of stock",
            visibility=visibility,
        )
        self.items[retailer_id] = item
        return item

    def seed(self, rows: Iterable[tuple[str, int, Decimal | str | int]]) -> None:
        for retailer_id, inventory, price in rows:
            self.seed_item(retailer_id, inventory, price)

    def item(self, retailer_id: str) -> CatalogItem | None:
        self.batches.settle_due()
        return self.items.get(retailer_id)

    def listing(self, group: str) -> dict[str, Any] | None:
        """The items of product group ``group`` as a shopper's listing: name, visibility, variants."""
        self.batches.settle_due()
        items = [i for i in self.items.values() if i.content.get("retailer_product_group_id") == group]
        if not items:
            return None
        return {
            "title": items[0].name,
            "published": all(i.visibility == "published" for i in items),
            "variants": sorted(i.retailer_id for i in items),
            "content": dict(items[0].content),
        }

    def quantity(self, retailer_id: str) -> int | None:
        item = self.item(retailer_id)
        return item.inventory if item else None

    def price(self, retailer_id: str) -> Decimal | None:
        item = self.item(retailer_id)
        return item.price if item else None

    def visible(self, retailer_id: str) -> bool | None:
        item = self.item(retailer_id)
        return item.visibility == "published" if item else None

    # -- shoppers and the merchant's other tools ---------------------------------------------------------
    def place_order(self, retailer_id: str, quantity: int = 1) -> str:
        """A shopper buys on Instagram: only a published, in-stock item with enough inventory sells."""
        item = self.item(retailer_id)
        if (
            item is None
            or item.visibility != "published"
            or item.availability not in ("in stock", "preorder")
        ):
            raise ValueError(f"{retailer_id} is not offered on the shop")
        if quantity < 1 or item.inventory < quantity:
            raise ValueError(f"{retailer_id}: only {item.inventory} in stock")
        item.inventory -= quantity
        if item.inventory == 0:
            item.availability = "out of stock"
        now = self.clock.now()
        order = CommerceOrder(
            order_id=self.next_id(),
            state="CREATED",
            created=now,
            last_updated=now,
            items=[
                OrderItem(
                    self.next_id(),
                    retailer_id,
                    item.item_id,
                    quantity,
                    item.sale_price or item.price,
                    item.currency,
                )
            ],
        )
        self.orders[order.order_id] = order
        return order.order_id

    def acknowledge(self, order_id: str, idempotency_key: str) -> CommerceOrder:
        order = self.orders[order_id]
        if order.acknowledge_key == idempotency_key:
            return order  # the same request again: same answer, no change
        if order.state != "CREATED":
            raise ValueError(f"order {order_id} is {order.state}; only CREATED orders can be acknowledged")
        order.state, order.acknowledge_key = "IN_PROGRESS", idempotency_key
        order.last_updated = self.clock.now()
        return order

    def acknowledge_batch(self, order_ids: list[str], idempotency_key: str) -> list[dict[str, Any]]:
        """``acknowledge_orders``: one answer per order; the same key with the same orders is answered
        the same without a change, the same key with other orders is refused (Meta's idempotency rule)."""
        known = self.batch_acknowledgements.get(idempotency_key)
        if known is not None:
            if known[0] != order_ids:
                raise ValueError("idempotency_key was already used with different orders")
            return known[1]
        answers: list[dict[str, Any]] = []
        for order_id in order_ids:
            if order_id not in self.orders:
                answers.append({"id": order_id, "error": {"code": 100, "message": "Unknown order"}})
                continue
            try:
                order = self.acknowledge(order_id, idempotency_key)
            except ValueError as exc:
                answers.append({"id": order_id, "error": {"code": 100, "message": str(exc)}})
            else:
                answers.append({"id": order.order_id, "state": order.state})
        self.batch_acknowledgements[idempotency_key] = (list(order_ids), answers)
        return answers

    def cancel_order(self, order_id: str, quantity: int | None = None, *, restock: bool = True) -> None:
        """Cancel unshipped units (all of them by default); ``restock`` puts them back in the catalog."""
        order = self.orders[order_id]
        lines = []
        for item in order.items:
            units = min(order.open_units(item), quantity if quantity is not None else item.quantity)
            if units > 0:
                lines.append({"id": item.item_id, "retailer_id": item.retailer_id, "quantity": units})
                if restock and item.retailer_id in self.items:
                    self._restock(self.items[item.retailer_id], units)
        if not lines:
            raise ValueError(f"order {order_id} has nothing left to cancel")
        order.cancellations.append(
            {
                "id": self.next_id(),
                "cancel_reason": {"reason_code": "CUSTOMER_REQUESTED"},
                "restock_items": restock,
                "items": {"data": lines},
            }
        )
        self._touch(order)

    def ship_order(self, order_id: str) -> None:
        order = self.orders[order_id]
        if order.state != "IN_PROGRESS":
            raise ValueError(f"order {order_id} must be acknowledged before it ships")
        lines = [
            {"id": i.item_id, "retailer_id": i.retailer_id, "quantity": order.open_units(i)}
            for i in order.items
            if order.open_units(i) > 0
        ]
        order.shipments.append({"id": self.next_id(), "items": {"data": lines}})
        self._touch(order)

    def refund_order(self, order_id: str, quantity: int | None = None) -> None:
        order = self.orders[order_id]
        lines = [
            {
                "id": i.item_id,
                "retailer_id": i.retailer_id,
                "quantity": min(order.shipped(i), quantity or i.quantity),
            }
            for i in order.items
            if order.shipped(i) > 0
        ]
        if not lines:
            raise ValueError(f"order {order_id} has nothing shipped to refund")
        order.refunds.append(
            {
                "id": self.next_id(),
                "refund_reason": {"reason_code": "BUYERS_REMORSE"},
                "items": {"data": lines},
            }
        )
        self._touch(order)

    def _restock(self, item: CatalogItem, units: int) -> None:
        item.inventory += units
        if item.inventory > 0 and item.availability == "out of stock":
            item.availability = "in stock"

    def _touch(self, order: CommerceOrder) -> None:
        if order.state in ("CREATED", "IN_PROGRESS") and all(order.open_units(i) == 0 for i in order.items):
            order.state = "COMPLETED"
        order.last_updated = self.clock.now()

    # -- faults and budgets ----------------------------------------------------------------------------
    def warn(self, retailer_id: str, message: str) -> None:
        """The next request ingested for ``retailer_id`` is accepted with this warning in
        ``check_batch_request_status`` (as Meta remarks on an item it takes)."""
        self.batches.warnings[retailer_id] = message

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        self.faults.extend([fault] * times)

    def count_call(self, batch: bool) -> tuple[int, int]:
        """Record a call; returns (batch %, app %) of the hourly budgets used."""
        now = self.clock.monotonic()
        for window in (self._batch_window, self._app_window):
            while window and window[0] <= now - HOUR_S:
                window.popleft()
        self._app_window.append(now)
        if batch:
            self._batch_window.append(now)
        return self.usage_percent()

    def usage_percent(self) -> tuple[int, int]:
        return (
            min(100, len(self._batch_window) * 100 // max(1, self.batch_calls_per_hour)),
            min(100, len(self._app_window) * 100 // max(1, self.app_calls_per_hour)),
        )

    def batch_budget_spent(self) -> bool:
        return len(self._batch_window) >= self.batch_calls_per_hour

    def app_budget_spent(self) -> bool:
        return len(self._app_window) >= self.app_calls_per_hour

    def regain_minutes(self, window: str = "batch") -> int:
        queue = self._batch_window if window == "batch" else self._app_window
        if not queue:
            return 0
        wait = queue[0] + HOUR_S - self.clock.monotonic()
        return max(1, int(-(-wait // 60)))

    def usage_headers(self, throttled_minutes: int = 0) -> dict[str, str]:
        batch_pct, app_pct = self.usage_percent()
        buc = {
            self.business_id: [
                {
                    "type": "catalog_batch",
                    "call_count": 100 if throttled_minutes else batch_pct,
                    "total_cputime": batch_pct // 2,
                    "total_time": batch_pct // 2,
                    "estimated_time_to_regain_access": throttled_minutes,
                }
            ]
        }
        app = {"call_count": app_pct, "total_cputime": app_pct // 2, "total_time": app_pct // 2}
        return {"x-business-use-case-usage": json.dumps(buc), "x-app-usage": json.dumps(app)}


class _EmulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, emulator: InstagramEmulator) -> None:
        self._emulator = emulator
        self._inner = httpx.ASGITransport(app=emulator.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._emulator.faults and self._emulator.faults[0] is Fault.TIMEOUT:
            self._emulator.faults.popleft()
            raise httpx.ReadTimeout("emulated timeout", request=request)
        return await self._inner.handle_async_request(request)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - exercised by the demo
    import uvicorn

    parser = argparse.ArgumentParser(description="Meta Graph API (catalog + commerce) emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8086)
    parser.add_argument("--items", type=int, default=0, help="seed this many items SKU-00001...")
    args = parser.parse_args(argv)
    emulator = InstagramEmulator()
    emulator.seed((f"SKU-{n:05d}", 10, Decimal("19.99")) for n in range(1, args.items + 1))
    print(f"token={emulator.access_token} catalog_id={emulator.catalog_id} cms_id={emulator.cms_id}")
    uvicorn.run(emulator.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    main()
