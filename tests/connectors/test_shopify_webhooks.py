"""Shopify webhooks: HMAC verification, topics, dedupe ids."""

from __future__ import annotations

import json

import pytest
from omnisync_connectors.shopify.webhooks import sign
from shopify_fixtures import make

from omnisync.sdk import OrderStatus, WebhookKind, WebhookVerificationError


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    emulator, connector = make()
    emulator.seed("A", 5)
    return emulator, connector


def test_a_valid_order_webhook_carries_the_normalised_order(shop) -> None:  # type: ignore[no-untyped-def]
    emulator, connector = shop
    order = emulator.place_order("A", 3)
    emulator.fulfill(order, {"A": 1})
    headers, body, url = emulator.signed_webhook(order, "orders/updated")
    [event] = connector.parse_webhook(headers, body, url)
    assert (event.kind, event.topic, event.event_id) == (
        WebhookKind.ORDER,
        "orders/updated",
        headers["X-Shopify-Event-Id"],
    )
    assert event.order is not None
    assert event.order.status is OrderStatus.OPEN
    assert (event.order.lines[0].quantity, event.order.lines[0].fulfilled) == (3, 1)


def test_webhook_and_poll_agree_on_ids(shop) -> None:  # type: ignore[no-untyped-def]
    emulator, connector = shop
    order = emulator.place_order("A", 1)
    headers, body, _ = emulator.signed_webhook(order)
    [event] = connector.parse_webhook(headers, body)
    assert event.order is not None
    assert event.order.external_id == order
    assert event.order.lines[0].line_id == emulator.state.orders[order].lines[0].id


def test_a_cancelled_order_webhook(shop) -> None:  # type: ignore[no-untyped-def]
    emulator, connector = shop
    order = emulator.place_order("A", 2)
    emulator.cancel(order)
    headers, body, _ = emulator.signed_webhook(order, "orders/cancelled")
    [event] = connector.parse_webhook(headers, body)
    assert event.order is not None
    assert event.order.status is OrderStatus.CANCELLED
    assert event.order.lines[0].cancelled == 2


@pytest.mark.parametrize("tamper", ["body", "signature", "missing", "other-shop"])
def test_tampered_webhooks_are_refused(shop, tamper: str) -> None:  # type: ignore[no-untyped-def]
    emulator, connector = shop
    headers, body, _ = emulator.signed_webhook(emulator.place_order("A", 1))
    if tamper == "body":
        body = body.replace(b'"quantity": 1', b'"quantity": 9')
    elif tamper == "signature":
        headers["X-Shopify-Hmac-Sha256"] = sign("not-the-secret", body)
    elif tamper == "missing":
        del headers["X-Shopify-Hmac-Sha256"]
    else:
        headers["X-Shopify-Shop-Domain"] = "someone-else.myshopify.com"
    with pytest.raises(WebhookVerificationError):
        connector.parse_webhook(headers, body)


def test_without_a_secret_every_webhook_is_refused() -> None:
    emulator, connector = make(webhook_secret=None)
    emulator.seed("A", 1)
    headers, body, _ = emulator.signed_webhook(emulator.place_order("A", 1))
    with pytest.raises(WebhookVerificationError):
        connector.parse_webhook(headers, body)


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("refunds/create", WebhookKind.ORDER),
        ("inventory_levels/update", WebhookKind.INVENTORY),
        ("products/update", WebhookKind.OTHER),
    ],
)
def test_other_topics(shop, topic: str, kind: WebhookKind) -> None:  # type: ignore[no-untyped-def]
    emulator, connector = shop
    body = json.dumps({"id": 1, "order_id": 2, "inventory_item_id": 3}).encode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(emulator.webhook_secret, body),
        "X-Shopify-Event-Id": "evt-1",
    }
    [event] = connector.parse_webhook(headers, body)
    assert (event.kind, event.event_id, event.order) == (kind, "evt-1", None)
