"""Amazon's Notifications API on the connector and the emulator: subscriptions set up idempotently
(grantless destinations), the payloads the emulator publishes (checked against Amazon's notification
schemas), how the connector reads them, and the targeted order read an ORDER_CHANGE triggers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from amazon_fixtures import make, seed
from omnisync_connectors.amazon.connector import AmazonConnector
from omnisync_connectors.amazon.emulator import AmazonEmulator

from omnisync.sdk import ConfigurationError, ProtocolError, WebhookKind

ARN = "arn:aws:sqs:us-east-1:123456789012:omnisync-amazon"


def subscribed(**settings: Any) -> tuple[AmazonConnector, AmazonEmulator, list[str]]:
    connector, emulator = make(notifications={"queue_arn": ARN}, **settings)
    bodies: list[str] = []
    emulator.attach_queue(ARN, bodies.append)
    return connector, emulator, bodies


async def test_subscriptions_are_created_once_then_listed() -> None:
    connector, emulator, _ = subscribed()
    first = await connector.subscribe_notifications()
    assert [line.split()[0] for line in first] == ["destination", "subscription", "subscription"]
    assert all(line.endswith("(created)") for line in first)
    assert set(emulator.subscriptions) == {"ORDER_CHANGE", "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"}
    again = await connector.subscribe_notifications()
    assert all(line.endswith("(existing)") for line in again)
    assert emulator.calls["createDestination"] == 1
    assert emulator.calls["createSubscription"] == 2
    assert emulator.calls["getDestinations"] == 2
    # destinations are grantless: the application's own token (client_credentials), which the emulator
    # takes for them and refuses for every other operation, as Amazon does
    assert len(emulator.grantless) == 1
    assert len(emulator.tokens) == 2
    await connector.aclose()


async def test_a_subscription_to_another_destination_is_a_configuration_problem() -> None:
    connector, emulator, _ = subscribed()
    other = emulator.create_destination("elsewhere", "arn:aws:sqs:us-east-1:123456789012:other")
    assert other is not None
    emulator.create_subscription("ORDER_CHANGE", "1.0", other.destination_id)
    with pytest.raises(ConfigurationError, match="ORDER_CHANGE subscription delivers to destination"):
        await connector.subscribe_notifications()
    await connector.aclose()


async def test_nothing_is_published_without_a_subscription() -> None:
    connector, emulator, bodies = subscribed()
    seed(emulator, 1)
    emulator.place_order("AMZ-00000", 1)
    assert bodies == []
    await connector.subscribe_notifications()
    emulator.place_order("AMZ-00000", 1)
    assert [json.loads(b)["NotificationType"] for b in bodies] == [
        "ORDER_CHANGE",
        "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
    ]
    await connector.aclose()


async def test_published_payloads_follow_amazons_schemas(specs_dir: Path) -> None:
    folder = specs_dir / "amazon-sp-api"
    schemas = {
        "ORDER_CHANGE": json.loads((folder / "OrderChangeNotification.json").read_text()),
        "LISTINGS_ITEM_MFN_QUANTITY_CHANGE": json.loads(
            (folder / "ListingsItemMfnQuantityChange.json").read_text()
        ),
    }
    connector, emulator, bodies = subscribed()
    await connector.subscribe_notifications()
    seed(emulator, 2, quantity=5)
    shipped = emulator.place_order("AMZ-00000", 2)
    emulator.ship_order(shipped)
    cancelled = emulator.place_order_lines([("AMZ-00000", 1), ("AMZ-00001", 2)])
    emulator.cancel_order(cancelled)
    await connector.push_inventory([])  # nothing
    emulator.patch("AMZ-00001", "PRODUCT", _quantity_patch(9), emulator.clock.now())
    kinds = [json.loads(b)["NotificationType"] for b in bodies]
    assert kinds.count("ORDER_CHANGE") == 4
    assert kinds.count("LISTINGS_ITEM_MFN_QUANTITY_CHANGE") == 6  # 1 + 2 placed, 2 cancelled, 1 patch
    for body in bodies:
        message = json.loads(body)
        jsonschema.Draft7Validator(schemas[message["NotificationType"]]).validate(message)
    await connector.aclose()


def _quantity_patch(quantity: int) -> list[dict[str, Any]]:
    value = [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]
    return [{"op": "replace", "path": "/attributes/fulfillment_availability", "value": value}]


async def test_the_connector_reads_what_the_emulator_publishes() -> None:
    connector, emulator, bodies = subscribed()
    await connector.subscribe_notifications()
    seed(emulator, 1, quantity=5)
    order_id = emulator.place_order("AMZ-00000", 2)
    order_event, quantity_event = (connector.parse_notification(b)[0] for b in bodies)
    assert order_event.kind is WebhookKind.ORDER
    assert order_event.order_id == order_id
    assert order_event.order is None, "the summary is not the order: the engine reads it"
    assert quantity_event.kind is WebhookKind.INVENTORY
    assert (quantity_event.channel_sku, quantity_event.quantity) == ("AMZ-00000", 3)
    assert order_event.event_id != quantity_event.event_id
    await connector.aclose()


async def test_notifications_for_someone_else_change_nothing_and_garbage_is_refused() -> None:
    connector, emulator, bodies = subscribed()
    await connector.subscribe_notifications()
    seed(emulator, 1)
    emulator.place_order("AMZ-00000", 1)
    message = json.loads(bodies[0])
    message["Payload"]["OrderChangeNotification"]["SellerId"] = "ANOTHERSELLER"
    assert [e.kind for e in connector.parse_notification(json.dumps(message))] == [WebhookKind.OTHER]
    quantity = json.loads(bodies[1])
    quantity["Payload"]["FulfillmentChannelCode"] = "AMAZON_NA"
    assert [e.kind for e in connector.parse_notification(json.dumps(quantity))] == [WebhookKind.OTHER]
    for garbage in ("not json", "[]", json.dumps({"NotificationType": "ORDER_CHANGE"})):
        with pytest.raises(ProtocolError):
            connector.parse_notification(garbage)
    del quantity["Payload"]["Quantity"]
    with pytest.raises(ProtocolError, match="Quantity"):
        connector.parse_notification(json.dumps(quantity))
    await connector.aclose()


async def test_read_orders_reads_each_order_alone_not_the_window() -> None:
    connector, emulator = make()
    seed(emulator, 2, quantity=5)
    first = emulator.place_order("AMZ-00000", 2)
    second = emulator.place_order("AMZ-00001", 1)
    page = await connector.read_orders([first, second, first, "113-0000000-0000000"])
    assert sorted(o.external_id for o in page.orders) == sorted([first, second])
    assert page.failed == []
    assert page.next_page_token is None
    assert emulator.calls["getOrders"] == 0
    assert emulator.calls["getOrder"] == 3
    assert emulator.calls["getOrderItems"] == 2
    await connector.aclose()


async def test_validate_connect_lists_the_destination_and_subscriptions(tmp_path: Path) -> None:
    import contextlib

    import yaml

    from omnisync.clock import SystemClock
    from omnisync.config import load_config
    from omnisync.connectcheck import check_all
    from omnisync.demo.channels import free_socket
    from omnisync.demo.world import start_server

    emulator = AmazonEmulator(SystemClock())
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server, task = await start_server(emulator.app, sock)
    try:
        settings = {
            **emulator.settings(endpoint=base, token_url=base + "/auth/o2/token"),
            "marketplace_ids": [emulator.marketplace_id],
            "client_secret": "${AMZ_SECRET}",
            "refresh_token": "${AMZ_REFRESH}",
            "notifications": {"queue_arn": ARN},
        }
        config = {
            "ledger": {"url": f"sqlite:///{tmp_path / 'l.db'}"},
            "locations": [{"code": "WH"}],
            "channels": {"amazon": {"connector": "amazon", "sources": ["WH"], "settings": settings}},
        }
        (tmp_path / "omnisync.yaml").write_text(yaml.safe_dump(config))
        env = {"AMZ_SECRET": emulator.client_secret, "AMZ_REFRESH": emulator.refresh_token}
        loaded = load_config(tmp_path / "omnisync.yaml", env=env)
        seed(emulator, 1)  # validate --connect also reads one listing of the seller
        first, again = (await check_all(loaded))[0], (await check_all(loaded))[0]
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
    assert first.ok, first.detail
    assert f"destination {next(iter(emulator.destinations))} for {ARN} (created)" in first.detail
    assert "subscription ORDER_CHANGE" in first.detail
    assert "subscription LISTINGS_ITEM_MFN_QUANTITY_CHANGE" in first.detail
    assert again.ok, again.detail
    assert again.detail.count("(existing)") == 3, "idempotent: what exists is listed, not created again"
