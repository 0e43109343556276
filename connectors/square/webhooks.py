"""Square webhook notifications: signature check and normalisation.

Square signs ``notification_url + raw body`` with the subscription's signature key (HMAC-SHA256,
base64) in ``x-square-hmacsha256-signature``. The URL must be the one registered in the subscription,
byte for byte, so the configured ``notification_url`` wins over the URL the request arrived at (a
proxy may rewrite it). Notifications carry ids, not whole orders: the engine pulls the orders.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from omnisync.sdk import ProtocolError, WebhookEvent, WebhookKind, WebhookVerificationError

SIGNATURE_HEADER = "x-square-hmacsha256-signature"
ORDER_TYPES = frozenset({"order.created", "order.updated", "order.fulfillment.updated"})
INVENTORY_TYPES = frozenset({"inventory.count.updated"})


def signature(key: str, notification_url: str, body: bytes) -> str:
    digest = hmac.new(key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(headers: Mapping[str, str], body: bytes, notification_url: str | None, key: str | None) -> None:
    if not key:
        raise WebhookVerificationError("no webhook_signature_key configured: Square webhooks are refused")
    if not notification_url:
        raise WebhookVerificationError("no notification_url configured or given: cannot check the signature")
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get(SIGNATURE_HEADER)
    if not given:
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    if not hmac.compare_digest(given.strip().encode(), signature(key, notification_url, body).encode()):
        raise WebhookVerificationError("Square webhook signature does not match")


def events(body: bytes) -> list[WebhookEvent]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise ProtocolError("signed Square webhook body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("event_id"), str):
        raise ProtocolError("signed Square webhook body has no event_id")
    topic = str(payload.get("type") or "")
    if topic in ORDER_TYPES:
        kind = WebhookKind.ORDER
    elif topic in INVENTORY_TYPES:
        kind = WebhookKind.INVENTORY
    else:
        kind = WebhookKind.OTHER
    return [WebhookEvent(event_id=payload["event_id"], kind=kind, topic=topic)]
