"""The emulator's Fulfillment by Amazon: stock in Amazon's fulfilment centres, AFN orders shipped from
it, and the FBA Inventory API's ``getInventorySummaries`` over it. Mixed into ``AmazonEmulator``.

An AFN order reserves its units at once (``pendingCustomerOrderQuantity``, out of the fulfillable
count) and Amazon ships it; a cancelled one puts them back to fulfillable. The seller never sets these
counts through the API: inbound shipments arrive (:meth:`FbaMixin.receive_fba`), orders take them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .emulator_state import EmulatedOrder, Json, Listing, OrderItem
from .orders import iso, parse_time

if TYPE_CHECKING:
    from omnisync.clock import Clock

    from .emulator import AmazonEmulator

SUMMARIES_PAGE = 50
"""Summaries per page (Amazon pages getInventorySummaries by 50)."""


@dataclass
class FbaItem:
    sku: str
    asin: str
    fn_sku: str
    fulfillable: int = 0
    pending_orders: int = 0
    inbound_working: int = 0
    inbound_shipped: int = 0
    inbound_receiving: int = 0
    updated: datetime | None = None

    def summary(self, details: bool, product_name: str) -> Json:
        found: Json = {
            "asin": self.asin,
            "fnSku": self.fn_sku,
            "sellerSku": self.sku,
            "condition": "NewItem",
            "lastUpdatedTime": iso(self.updated) if self.updated else None,
            "productName": product_name,
            "totalQuantity": self.fulfillable + self.pending_orders + self.inbound,
        }
        if details:
            found["inventoryDetails"] = {
                "fulfillableQuantity": self.fulfillable,
                "inboundWorkingQuantity": self.inbound_working,
                "inboundShippedQuantity": self.inbound_shipped,
                "inboundReceivingQuantity": self.inbound_receiving,
                "reservedQuantity": {
                    "totalReservedQuantity": self.pending_orders,
                    "pendingCustomerOrderQuantity": self.pending_orders,
                    "pendingTransshipmentQuantity": 0,
                    "fcProcessingQuantity": 0,
                },
                "researchingQuantity": {"totalResearchingQuantity": 0, "researchingQuantityBreakdown": []},
                "unfulfillableQuantity": {"totalUnfulfillableQuantity": 0},
            }
        return found

    @property
    def inbound(self) -> int:
        return self.inbound_working + self.inbound_shipped + self.inbound_receiving


class FbaMixin:
    clock: Clock
    currency: str
    marketplace_id: str
    listings: dict[str, Listing]
    orders: dict[str, EmulatedOrder]
    next_id: Callable[[], int]
    publish_order_change: Callable[[EmulatedOrder, str], None]

    def _init_fba(self) -> None:
        self.fba: dict[str, FbaItem] = {}

    def seed_fba(self, sku: str, fulfillable: int, *, inbound: int = 0) -> FbaItem:
        """Units of ``sku`` in Amazon's fulfilment centres (and on their way there)."""
        listing = self.listings.get(sku)
        asin = listing.asin if listing and listing.asin else f"B0FBA{len(self.fba):05d}"
        item = FbaItem(sku, asin, "X00" + asin[-7:], fulfillable, inbound_shipped=inbound)
        item.updated = self.clock.now().replace(microsecond=0)
        self.fba[sku] = item
        return item

    def receive_fba(self, sku: str, units: int) -> None:
        """An inbound shipment is received: units move from inbound to fulfillable."""
        item = self.fba[sku]
        item.inbound_shipped = max(0, item.inbound_shipped - units)
        item.fulfillable += units
        item.updated = self.clock.now().replace(microsecond=0)

    def place_fba_order(self, sku: str, quantity: int = 1, price: Decimal | None = None) -> str:
        """A shopper buys an FBA offer: Amazon reserves the units in its fulfilment centre."""
        item = self.fba.get(sku)
        if item is None or quantity < 1 or item.fulfillable < quantity:
            raise ValueError(f"cannot buy {quantity} of {sku!r} from FBA")
        item.fulfillable -= quantity
        item.pending_orders += quantity
        now = self.clock.now().replace(microsecond=0)
        item.updated = now
        seq = self.next_id()
        order_id = f"114-{seq:07d}-{(seq * 7919) % 10_000_000:07d}"
        listing = self.listings.get(sku)
        unit = price if price is not None else (listing.price if listing and listing.price else Decimal("0"))
        line = OrderItem(f"{seq:07d}0000001", sku, item.asin, f"FBA item {sku}", quantity, unit)
        order = EmulatedOrder(
            order_id, "Unshipped", now, now, [line], self.currency, self.marketplace_id, fulfillment="AFN"
        )
        self.orders[order_id] = order
        self.publish_order_change(order, "Order placed")
        return order_id

    def settle_fba(self, order: EmulatedOrder, *, shipped: bool) -> None:
        """Amazon shipped (the units leave) or cancelled (they go back to fulfillable) an AFN order."""
        for line in order.items:
            item = self.fba[line.sku]
            open_units = line.quantity - line.shipped
            item.pending_orders = max(0, item.pending_orders - open_units)
            if not shipped:
                item.fulfillable += open_units
            item.updated = self.clock.now().replace(microsecond=0)


def fba_routes(emu: AmazonEmulator, sp_api: Callable[..., Any]) -> list[Route]:
    async def summaries(request: Request) -> Response:
        q = request.query_params
        if (
            q.get("granularityType") != "Marketplace"
            or q.get("granularityId") != emu.marketplace_id
            or q.get("marketplaceIds") != emu.marketplace_id
        ):
            return _bad(
                "granularityType=Marketplace, granularityId and marketplaceIds must name the marketplace."
            )
        items = sorted(emu.fba.values(), key=lambda i: i.sku)
        start = q.get("startDateTime")
        if start:
            try:
                since = parse_time(start, "emulator")
            except Exception:
                return _bad("startDateTime must be ISO 8601.")
            items = [i for i in items if i.updated is not None and i.updated >= since]
        else:
            wanted = [s for s in q.get("sellerSkus", "").split(",") if s] or (
                [q["sellerSku"]] if q.get("sellerSku") else []
            )
            if len(wanted) > 50:
                return _bad("sellerSkus takes at most 50 SKUs.")
            if wanted:
                items = [i for i in items if i.sku in wanted]
        offset = 0
        if q.get("nextToken"):
            decoded = _decode(q["nextToken"])
            if decoded is None:
                return _bad("Invalid nextToken.")
            offset = decoded
        page = items[offset : offset + SUMMARIES_PAGE]
        details = q.get("details") == "true"
        body: Json = {
            "payload": {
                "granularity": {"granularityType": "Marketplace", "granularityId": emu.marketplace_id},
                "inventorySummaries": [
                    i.summary(details, emu.listings[i.sku].item_name if i.sku in emu.listings else i.sku)
                    for i in page
                ],
            }
        }
        if offset + SUMMARIES_PAGE < len(items):
            body["pagination"] = {"nextToken": _encode(offset + SUMMARIES_PAGE)}
        return JSONResponse(body)

    return [Route("/fba/inventory/v1/summaries", sp_api("getInventorySummaries", summaries), methods=["GET"])]


def _bad(message: str) -> Response:
    return JSONResponse({"errors": [{"code": "InvalidInput", "message": message}]}, status_code=400)


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode(token: str) -> int | None:
    try:
        found = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        return None
    offset = found.get("offset") if isinstance(found, dict) else None
    return offset if isinstance(offset, int) and offset >= 0 else None
