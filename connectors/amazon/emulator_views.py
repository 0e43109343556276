"""The emulator's state rendered in the SP-API's documented JSON shapes (Item, Order, OrderItem)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .emulator_state import EmulatedOrder, Json, Listing
from .orders import iso


def _money_listing(amount: Decimal, currency: str) -> Json:
    return {"currencyCode": currency, "amount": str(amount)}


def _money_order(amount: Decimal, currency: str) -> Json:
    return {"CurrencyCode": currency, "Amount": f"{amount:.2f}"}


def listing_item(listing: Listing, included: list[str], marketplace_id: str) -> Json:
    """A Listings Items API ``Item`` with the requested ``includedData`` sets."""
    item: Json = {"sku": listing.sku}
    buyable = listing.asin is not None and (listing.quantity or 0) > 0 and listing.price is not None
    if "summaries" in included:
        summary: Json = {
            "marketplaceId": marketplace_id,
            "productType": listing.product_type,
            "conditionType": "new_new",
            "status": (["BUYABLE", "DISCOVERABLE"] if buyable else ["DISCOVERABLE"]) if listing.asin else [],
            "itemName": listing.item_name,
            "createdDate": iso(listing.created),
            "lastUpdatedDate": iso(listing.updated),
        }
        if listing.asin:
            summary["asin"] = listing.asin
        item["summaries"] = [summary]
    if "attributes" in included:
        attributes: Json = dict(listing.attributes)
        if listing.quantity is not None:
            attributes["fulfillment_availability"] = [
                {"fulfillment_channel_code": "DEFAULT", "quantity": listing.quantity, **listing.restock}
            ]
        if listing.price is not None:
            attributes["purchasable_offer"] = [
                {
                    "marketplace_id": marketplace_id,
                    "currency": listing.currency,
                    "our_price": [{"schedule": [{"value_with_tax": float(listing.price)}]}],
                }
            ]
        item["attributes"] = attributes
    if "issues" in included:
        item["issues"] = [dict(i) for i in listing.issues]
    if "offers" in included:
        item["offers"] = (
            [
                {
                    "marketplaceId": marketplace_id,
                    "offerType": "B2C",
                    "price": _money_listing(listing.price, listing.currency),
                    "audience": {"value": "ALL", "displayName": "Sell on Amazon"},
                }
            ]
            if listing.price is not None
            else []
        )
    if "fulfillmentAvailability" in included:
        availability: Json = {"fulfillmentChannelCode": "DEFAULT"}
        if listing.quantity is not None:
            availability["quantity"] = listing.quantity
        item["fulfillmentAvailability"] = [availability]
    if "productTypes" in included:
        item["productTypes"] = [{"marketplaceId": marketplace_id, "productType": listing.product_type}]
    return item


def order_payload(order: EmulatedOrder) -> Json:
    """An Orders v0 ``Order``."""
    total = sum((i.unit_price * i.quantity for i in order.items), Decimal("0"))
    shipped = sum(i.shipped for i in order.items)
    unshipped = 0 if order.status == "Canceled" else sum(i.quantity - i.shipped for i in order.items)
    answer: dict[str, Any] = {
        "AmazonOrderId": order.order_id,
        "PurchaseDate": iso(order.purchased),
        "LastUpdateDate": iso(order.updated),
        "OrderStatus": order.status,
        "FulfillmentChannel": order.fulfillment,
        "SalesChannel": "Amazon.com",
        "ShipServiceLevel": "Std US D2D Dom",
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": unshipped,
        "PaymentMethod": "Other",
        "MarketplaceId": order.marketplace_id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "IsBusinessOrder": False,
        "IsPrime": False,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
    }
    if order.status != "Pending":  # Amazon shows no totals before payment is authorised
        answer["OrderTotal"] = _money_order(total, order.currency)
    return answer


def order_items_payload(order: EmulatedOrder) -> Json:
    return {
        "AmazonOrderId": order.order_id,
        "OrderItems": [
            {
                "ASIN": item.asin,
                "SellerSKU": item.sku,
                "OrderItemId": item.item_id,
                "Title": item.title,
                "QuantityOrdered": item.quantity,
                "QuantityShipped": item.shipped,
                "ItemPrice": _money_order(item.unit_price * item.quantity, order.currency),
                "IsGift": "false",
                "IsTransparency": False,
            }
            for item in order.items
        ],
    }
