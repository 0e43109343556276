"""Shopify webhooks: verify ``X-Shopify-Hmac-Sha256`` and normalise the topics omnisync listens to.

The signature is the base64 HMAC-SHA256 of the raw body keyed with the app's client secret, compared
in constant time. ``X-Shopify-Event-Id`` identifies the event for dedupe (the same event delivered to
several subscriptions or retried keeps it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from omnisync.sdk import ProtocolError, WebhookEvent, WebhookKind, WebhookVerificationError

from .orders import from_rest
from .settings import ShopifySettings

ORDER_TOPICS = frozenset(
    {"orders/create", "orders/updated", "orders/cancelled", "orders/fulfilled", "orders/paid"}
)
REFUND_TOPICS = frozenset(
    {"refunds/create", "returns/process", "returns/close", "reverse_fulfillment_orders/dispose"}
)
"""Topics naming an order without being one (a refund, a return): the engine pulls the order."""
INVENTORY_TOPICS = frozenset(
    {"inventory_levels/update", "inventory_levels/connect", "inventory_levels/disconnect"}
)


def sign(secret: str, body: bytes) -> str:
    """The value Shopify puts in X-Shopify-Hmac-Sha256 for this body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def may_have_returns(payload: Mapping[str, object]) -> bool:
    """Whether a REST order may have returned units: it shipped some and refunded some other than by
    cancelling them (a return is refunded; cancelled units never shipped)."""
    shipped = any(
        isinstance(f, Mapping) and str(f.get("status", "")).lower() == "success"
        for f in _list(payload.get("fulfillments"))
    )
    return shipped and any(
        isinstance(item, Mapping) and str(item.get("restock_type") or "no_restock").lower() != "cancel"
        for refund in _list(payload.get("refunds"))
        if isinstance(refund, Mapping)
        for item in _list(refund.get("refund_line_items"))
    )


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def parse(
    headers: Mapping[str, str], body: bytes, settings: ShopifySettings, channel: str
) -> list[WebhookEvent]:
    h = {k.lower(): v for k, v in headers.items()}
    if settings.webhook_secret is None:
        raise WebhookVerificationError("no webhook_secret configured for this channel", channel=channel)
    given = h.get("x-shopify-hmac-sha256", "").strip()
    if not given:
        raise WebhookVerificationError("X-Shopify-Hmac-Sha256 missing", channel=channel)
    expected = sign(settings.webhook_secret.get_secret_value(), body)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise WebhookVerificationError("X-Shopify-Hmac-Sha256 does not match the body", channel=channel)
    shop = h.get("x-shopify-shop-domain", "").strip().lower()
    if shop and shop != settings.shop:
        raise WebhookVerificationError("webhook is for another shop", channel=channel)
    topic = h.get("x-shopify-topic", "").strip()
    event_id = (
        h.get("x-shopify-event-id") or h.get("x-shopify-webhook-id") or hashlib.sha256(body).hexdigest()
    )
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise ProtocolError(f"webhook {topic} body is not JSON", channel=channel) from exc
    if not isinstance(payload, dict):
        raise ProtocolError(f"webhook {topic} body is not an object", channel=channel)
    if topic in ORDER_TOPICS:
        if may_have_returns(payload):
            # The REST order does not carry its returns' dispositions: imported from it, the order
            # would read its returned units otherwise than the pull does. The pull reads it.
            return [WebhookEvent(event_id, WebhookKind.ORDER, topic)]
        return [WebhookEvent(event_id, WebhookKind.ORDER, topic, order=from_rest(payload, settings))]
    if topic in REFUND_TOPICS:
        return [WebhookEvent(event_id, WebhookKind.ORDER, topic)]
    if topic in INVENTORY_TOPICS:
        return [WebhookEvent(event_id, WebhookKind.INVENTORY, topic)]
    return [WebhookEvent(event_id, WebhookKind.OTHER, topic)]
