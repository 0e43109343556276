"""Amazon's Notifications API: what the connector subscribes to, and the notifications it reads back.

Set-up (idempotent, what exists is read first): one destination for the merchant's SQS queue
(``getDestinations`` / ``createDestination``, grantless operations), then one subscription per
notification type to it (``getSubscription`` / ``createSubscription``).

A notification is an SQS message whose body is the notification JSON (schemas in Amazon's
``schemas/notifications``). ``ORDER_CHANGE`` names an order: the engine reads that order alone
(``getOrder`` + ``getOrderItems``), it never trusts the summary as the order. ``LISTINGS_ITEM_MFN_
QUANTITY_CHANGE`` says what a listing holds now: the engine compares it with what it last
acknowledged. Notifications of another seller, marketplace or fulfilment channel are kept as OTHER
(deleted, nothing done).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from omnisync.sdk import ConfigurationError, ProtocolError, WebhookEvent, WebhookKind

from .client import SpApi
from .settings import AmazonSettings

ORDER_CHANGE = "ORDER_CHANGE"
QUANTITY_CHANGE = "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"
SUBSCRIPTIONS: dict[str, str] = {ORDER_CHANGE: "1.0", QUANTITY_CHANGE: "1.0"}
"""Notification type -> the payload version subscribed to."""


def _object(value: Any, what: str, channel: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(f"notification has no {what} object", channel=channel)
    return value


def _text(value: Any, what: str, channel: str) -> str:
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"notification has no {what}", channel=channel)
    return value


def parse_notification(body: str, settings: AmazonSettings, channel: str) -> list[WebhookEvent]:
    """The event an SQS message body carries; ProtocolError when it is not a notification."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise ProtocolError("notification body is not JSON", channel=channel) from exc
    message = _object(message, "top-level", channel)
    kind = _text(message.get("NotificationType"), "NotificationType", channel)
    metadata = _object(message.get("NotificationMetadata"), "NotificationMetadata", channel)
    event_id = _text(metadata.get("NotificationId"), "NotificationId", channel)
    payload = _object(message.get("Payload"), "Payload", channel)
    other = [WebhookEvent(event_id, WebhookKind.OTHER, kind)]
    if kind == ORDER_CHANGE:
        change = _object(payload.get("OrderChangeNotification"), "OrderChangeNotification", channel)
        order_id = _text(change.get("AmazonOrderId"), "AmazonOrderId", channel)
        summary = change.get("Summary")
        marketplace = summary.get("MarketplaceId") if isinstance(summary, Mapping) else None
        if change.get("SellerId") != settings.seller_id or (
            marketplace is not None and marketplace not in settings.marketplace_ids
        ):
            return other
        return [WebhookEvent(event_id, WebhookKind.ORDER, kind, order_id=order_id)]
    if kind == QUANTITY_CHANGE:
        sku = _text(payload.get("Sku"), "Sku", channel)
        quantity = payload.get("Quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise ProtocolError("quantity notification has no integer Quantity", channel=channel)
        if (
            payload.get("SellerId") != settings.seller_id
            or payload.get("FulfillmentChannelCode") != settings.fulfillment_channel_code
        ):
            return other
        return [WebhookEvent(event_id, WebhookKind.INVENTORY, kind, channel_sku=sku, quantity=quantity)]
    return other


async def ensure_subscriptions(api: SpApi, settings: AmazonSettings) -> list[str]:
    """The destination and subscriptions in place for ``settings.notifications`` (created where
    missing). Returns one line for each."""
    wanted = settings.notifications
    if wanted is None:
        return []
    lines: list[str] = []
    arn = wanted.queue_arn
    found = [
        d for d in await api.get_destinations() if (d.get("resource") or {}).get("sqs", {}).get("arn") == arn
    ]
    if found:
        destination = found[0]
        lines.append(f"destination {destination.get('destinationId')} for {arn} (existing)")
    else:
        destination = await api.create_destination(wanted.destination_name, arn)
        lines.append(f"destination {destination.get('destinationId')} for {arn} (created)")
    destination_id = str(destination.get("destinationId"))
    for kind, version in SUBSCRIPTIONS.items():
        subscription = await api.get_subscription(kind)
        if subscription is None:
            subscription = await api.create_subscription(kind, destination_id, version)
            lines.append(f"subscription {kind} {subscription.get('subscriptionId')} (created)")
        elif subscription.get("destinationId") != destination_id:
            raise ConfigurationError(
                f"the {kind} subscription delivers to destination {subscription.get('destinationId')}, "
                f"not to {arn}: delete it (deleteSubscriptionById) or point omnisync at that queue",
                channel=api.channel,
            )
        else:
            lines.append(f"subscription {kind} {subscription.get('subscriptionId')} (existing)")
    return lines
