"""The emulator's Notifications API: destinations (grantless), subscriptions, and the notifications it
publishes as its orders and quantities change, in Amazon's payload shapes (see ``notification_views``).

A destination names an SQS queue by ARN; the emulator reaches a queue through a sink the test, demo or
simulation attaches (:meth:`NotificationsMixin.attach_queue`): a function taking the message body,
usually ``omnisync.testing.sqs.SqsSink`` (boto3 ``SendMessage`` to a real SQS, moto's server on
loopback). Like Amazon,
the emulator publishes a notification type only while a subscription to it exists, and only to the
subscription's destination.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .emulator_state import EmulatedOrder, Json, Listing
from .orders import iso

if TYPE_CHECKING:
    from omnisync.clock import Clock

ORDER_CHANGE = "ORDER_CHANGE"
QUANTITY_CHANGE = "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"
PAYLOAD_VERSIONS = {ORDER_CHANGE: "1.0", QUANTITY_CHANGE: "1.0"}
APPLICATION_ID = "amzn1.sellerapps.app.00000000-0000-4000-8000-0000emulator"
Sink = Callable[[str], None]


@dataclass
class Destination:
    destination_id: str
    name: str
    arn: str

    def json(self) -> Json:
        return {
            "name": self.name,
            "destinationId": self.destination_id,
            "resource": {"sqs": {"arn": self.arn}},
        }


@dataclass
class Subscription:
    subscription_id: str
    notification_type: str
    payload_version: str
    destination_id: str

    def json(self) -> Json:
        return {
            "subscriptionId": self.subscription_id,
            "payloadVersion": self.payload_version,
            "destinationId": self.destination_id,
        }


class NotificationsMixin:
    """State and publishing of the Notifications API (mixed into :class:`AmazonEmulator`)."""

    clock: Clock
    seller_id: str
    marketplace_id: str

    def _init_notifications(self) -> None:
        self.destinations: dict[str, Destination] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.sinks: dict[str, Sink] = {}
        """Queue ARN -> where its messages go."""
        self.published: list[Json] = []
        """Every notification sent, in order (tests read them)."""
        self.notifications_paused = False
        """While set nothing is published (a test's or the simulation's lost notifications)."""

    def attach_queue(self, arn: str, sink: Sink) -> None:
        """Messages for the queue ``arn`` go to ``sink`` (called with the message body)."""
        self.sinks[arn] = sink

    # -- the API's state -------------------------------------------------------------------------------
    def create_destination(self, name: str, arn: str) -> Destination | None:
        """A new destination, or None when one for this ARN exists (Amazon answers 409)."""
        if any(d.arn == arn for d in self.destinations.values()):
            return None
        found = Destination(str(uuid.uuid4()), name, arn)
        self.destinations[found.destination_id] = found
        return found

    def create_subscription(self, notification_type: str, version: str, destination_id: str) -> Subscription:
        found = Subscription(str(uuid.uuid4()), notification_type, version, destination_id)
        self.subscriptions[notification_type] = found
        return found

    # -- publishing ------------------------------------------------------------------------------------
    def _publish(self, notification_type: str, payload: Json) -> None:
        subscription = self.subscriptions.get(notification_type)
        if subscription is None or self.notifications_paused:
            return
        destination = self.destinations.get(subscription.destination_id)
        sink = self.sinks.get(destination.arn) if destination else None
        now = iso_ms(self.clock)
        message = {
            "NotificationVersion": "1.0",
            "NotificationType": notification_type,
            "PayloadVersion": subscription.payload_version,
            "EventTime": now,
            "Payload": payload,
            "NotificationMetadata": {
                "ApplicationId": APPLICATION_ID,
                "SubscriptionId": subscription.subscription_id,
                "PublishTime": now,
                "NotificationId": str(uuid.uuid4()),
            },
        }
        self.published.append(message)
        if sink is not None:
            sink(json.dumps(message))

    def publish_order_change(self, order: EmulatedOrder, reason: str) -> None:
        self._publish(ORDER_CHANGE, {"OrderChangeNotification": order_change(order, self.seller_id, reason)})

    def publish_quantity(self, listing: Listing, before: int | None) -> None:
        if listing.quantity is None or listing.quantity == before:
            return
        self._publish(
            QUANTITY_CHANGE,
            {
                "SellerId": self.seller_id,
                "FulfillmentChannelCode": "DEFAULT",
                "Sku": listing.sku,
                "Quantity": listing.quantity,
            },
        )


def iso_ms(clock: Clock) -> str:
    """Amazon's notification timestamps: ISO 8601, milliseconds, Z."""
    now = clock.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def order_change(order: EmulatedOrder, seller_id: str, reason: str) -> Json:
    """An ``OrderChangeNotification`` (order level) for the order as it stands."""
    items: list[Json] = [
        {
            "OrderItemId": item.item_id,
            "SellerSKU": item.sku,
            "SupplySourceId": None,
            "OrderItemStatus": "Shipped" if item.shipped >= item.quantity else "Unshipped",
            "Quantity": item.quantity,
            "QuantityShipped": item.shipped,
        }
        for item in order.items
    ]
    shipped = sum(i.shipped for i in order.items)
    unshipped = 0 if order.status == "Canceled" else sum(i.quantity - i.shipped for i in order.items)
    return {
        "NotificationLevel": "OrderLevel",
        "SellerId": seller_id,
        "AmazonOrderId": order.order_id,
        "OrderChangeType": "OrderStatusChange",
        "OrderChangeTrigger": {"TimeOfOrderChange": iso(order.updated), "ChangeReason": reason},
        "Summary": {
            "MarketplaceId": order.marketplace_id,
            "OrderStatus": order.status,
            "PurchaseDate": iso(order.purchased),
            "DestinationPostalCode": None,
            "FulfillmentType": order.fulfillment,
            "OrderType": "StandardOrder",
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": unshipped,
            "OrderItems": items,
        },
    }
