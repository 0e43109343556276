"""The Instagram connector against its emulator: pushes, visibility, prices, reads, orders, pacing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from instagram_fixtures import CHANNEL, Recorder, by_sku, connector, inv, price
from omnisync_connectors.instagram import InstagramConnector, InstagramSettings
from omnisync_connectors.instagram.harness import InstagramHarness

from omnisync.sdk import (
    ConfigurationError,
    CredentialsError,
    InventoryRef,
    ItemError,
    ItemStatus,
    OrderCursor,
    OrderStatus,
    Preorder,
    ThrottledError,
    idempotency_key,
)
from omnisync.sdk.runtime import validate_settings
from omnisync.testing.harness import Fault


@pytest.fixture
def harness() -> InstagramHarness:
    h = InstagramHarness()
    h.emulator.seed([(f"IG-{n}", 5, "20.00") for n in range(1, 6)])
    return h


# -- settings ------------------------------------------------------------------------------------------
def test_settings_validate_batch_size_and_ids(harness: InstagramHarness) -> None:
    base = dict(harness.settings())
    assert validate_settings(InstagramConnector, {**base, "batch_size": 5000}, "ig").batch_size == 5000
    with pytest.raises(ConfigurationError, match="batch_size"):
        validate_settings(InstagramConnector, {**base, "batch_size": 5001}, "ig")
    with pytest.raises(ConfigurationError, match="graph_api_version"):
        validate_settings(InstagramConnector, {**base, "graph_api_version": "26"}, "ig")
    with pytest.raises(ConfigurationError, match="order_states"):
        validate_settings(InstagramConnector, {**base, "order_states": ["SHIPPED"]}, "ig")
    settings = InstagramSettings.model_validate(base)
    assert "emulator" not in repr(settings), "the token is a SecretStr"


async def test_token_travels_only_in_the_authorization_header(harness: InstagramHarness) -> None:
    recorder = Recorder(harness.transport())
    conn = connector(harness, recorder)
    await conn.prepare()
    await conn.push_inventory([inv("IG-1", 3)])
    await conn.read_listings(["IG-1"])
    await conn.pull_orders(OrderCursor(None))
    await conn.aclose()
    token = harness.emulator.access_token
    assert recorder.requests
    for request in recorder.requests:
        assert request.headers["authorization"] == f"Bearer {token}"
        assert token not in str(request.url)
        assert request.url.path.startswith("/v26.0/")


async def test_prepare_reports_a_wrong_catalog_as_configuration(harness: InstagramHarness) -> None:
    conn = connector(harness, catalog_id="999")
    with pytest.raises(ConfigurationError, match="catalog"):
        await conn.prepare()
    await conn.aclose()


# -- inventory and visibility -------------------------------------------------------------------------
async def test_push_sets_inventory_availability_and_visibility(harness: InstagramHarness) -> None:
    recorder = Recorder(harness.transport())
    conn = connector(harness, recorder)
    results = await conn.push_inventory(
        [inv("IG-1", 0, available=False), inv("IG-2", 7, available=True), inv("IG-3", 4)]
    )
    await conn.aclose()
    assert [r.status for r in results] == [ItemStatus.ACCEPTED] * 3
    assert [r.value for r in results] == [0, 7, 4]
    one, two, three = (harness.emulator.item(s) for s in ("IG-1", "IG-2", "IG-3"))
    assert one is not None
    assert two is not None
    assert three is not None
    assert (one.inventory, one.availability, one.visibility) == (0, "out of stock", "staging")
    assert (two.inventory, two.availability, two.visibility) == (7, "in stock", "published")
    assert three.visibility == "published", "available=None leaves visibility alone"
    body = json.loads(recorder.paths("/items_batch")[0].content)
    assert body["item_type"] == "PRODUCT_ITEM"
    assert body["allow_upsert"] is False
    assert body["requests"][0] == {
        "method": "UPDATE",
        "data": {"id": "IG-1", "inventory": 0, "availability": "out of stock", "visibility": "staging"},
    }
    assert "visibility" not in body["requests"][2]["data"]


async def test_a_preorder_is_availability_preorder_once_only_units_on_order_are_left(
    harness: InstagramHarness,
) -> None:
    """ProductItem availability "preorder" (one of ProductItem_availability's values) while the item
    sells only units on order; stock on hand sells first as "in stock"; the quantity holds both."""
    conn = connector(harness)
    results = await conn.push_inventory(
        [
            replace(inv("IG-1", 3), preorder=Preorder(3, date(2026, 12, 20))),
            replace(inv("IG-2", 5), preorder=Preorder(2)),
        ]
    )
    assert [r.status for r in results] == [ItemStatus.ACCEPTED] * 2
    one, two = harness.emulator.item("IG-1"), harness.emulator.item("IG-2")
    assert one is not None
    assert two is not None
    assert (one.inventory, one.availability) == (3, "preorder")
    assert (two.inventory, two.availability) == (5, "in stock")
    assert harness.shown_quantity("IG-1") == 3, "a shopper may order a preorder item"
    order = harness.emulator.place_order("IG-1", 1)
    assert order
    await conn.push_inventory([inv("IG-1", 9)])  # the stock came in: no preorder left
    await conn.aclose()
    assert (one.inventory, one.availability) == (9, "in stock")


async def test_batch_waits_for_the_handle_on_the_clock(harness: InstagramHarness) -> None:
    conn = connector(harness, batch_poll_interval_s=2.0)
    before = harness.clock.monotonic()
    await conn.push_inventory([inv("IG-1", 2)])
    await conn.aclose()
    assert harness.clock.monotonic() - before >= 2.0, "the first poll comes one interval after submitting"
    assert harness.emulator.calls["check_batch_request_status"] >= 1


async def test_large_push_is_split_into_configured_batches(harness: InstagramHarness) -> None:
    harness.emulator.seed([(f"B-{n}", 1, "1.00") for n in range(25)])
    conn = connector(harness, batch_size=10)
    results = await conn.push_inventory([inv(f"B-{n}", 3) for n in range(25)])
    await conn.aclose()
    assert harness.emulator.batch_sizes == [10, 10, 5]
    assert {r.status for r in results} == {ItemStatus.ACCEPTED}


async def test_per_item_errors_are_mapped_to_their_items(harness: InstagramHarness) -> None:
    conn = connector(harness)
    results = by_sku(await conn.push_inventory([inv("IG-1", 2), inv("GHOST-1", 2), inv("IG-2", 1)]))
    prices = by_sku(await conn.push_prices([price("IG-3", "-1.00"), price("IG-4", "12.00")]))
    await conn.aclose()
    assert results["M-IG-1"].status is ItemStatus.ACCEPTED
    assert results["M-GHOST-1"].status is ItemStatus.REJECTED
    assert "does not exist" in (results["M-GHOST-1"].reason or "")
    assert prices["M-IG-3"].status is ItemStatus.REJECTED, "a negative price never leaves the connector"
    assert prices["M-IG-4"].status is ItemStatus.ACCEPTED


async def test_batch_not_settled_in_time_is_retry_later(harness: InstagramHarness) -> None:
    harness.emulator.batches._settle_s = 10_000.0
    conn = connector(harness, batch_timeout_s=30.0, batch_poll_interval_s=10.0)
    results = await conn.push_inventory([inv("IG-1", 2)])
    await conn.aclose()
    assert results[0].status is ItemStatus.RETRY
    assert "not finished" in (results[0].reason or "")


async def test_two_skus_on_one_retailer_id_send_the_last(harness: InstagramHarness) -> None:
    conn = connector(harness)
    results = await conn.push_inventory([inv("IG-1", 2, sku="A"), inv("IG-1", 4, sku="B")])
    await conn.aclose()
    assert [r.status for r in results] == [ItemStatus.REJECTED, ItemStatus.ACCEPTED]
    assert harness.emulator.quantity("IG-1") == 4


# -- prices --------------------------------------------------------------------------------------------
async def test_prices_use_metas_format_and_sale_price(harness: InstagramHarness) -> None:
    recorder = Recorder(harness.transport())
    conn = connector(harness, recorder)
    results = await conn.push_prices(
        [
            price("IG-1", "12000", "KRW"),
            price("IG-2", "15.5", "USD", compare_at="20"),
            price("IG-3", "9.99", ""),
        ]
    )
    await conn.aclose()
    assert {r.status for r in results} == {ItemStatus.ACCEPTED}
    data = [r["data"] for r in json.loads(recorder.paths("/items_batch")[0].content)["requests"]]
    assert data[0] == {"id": "IG-1", "price": "12000 KRW", "sale_price": ""}
    assert data[1] == {"id": "IG-2", "price": "20.00 USD", "sale_price": "15.50 USD"}
    assert data[2]["price"] == "9.99 USD", "the settings' currency when the update has none"
    assert harness.channel_price("IG-2") == Decimal("15.50")
    assert harness.channel_price("IG-1") == Decimal("12000")


# -- reads ---------------------------------------------------------------------------------------------
async def test_read_listings_and_inventory(harness: InstagramHarness) -> None:
    harness.emulator.seed_item("KR-1", 3, "12000", currency="KRW", visibility="staging")
    conn = connector(harness)
    listings = {li.channel_sku: li for li in await conn.read_listings(["IG-1", "KR-1", "NOPE"])}
    live = await conn.read_inventory([InventoryRef("A", "IG-2"), InventoryRef("B", "NOPE")])
    await conn.aclose()
    assert set(listings) == {"IG-1", "KR-1"}
    assert listings["KR-1"].price == Decimal("12000")
    assert listings["KR-1"].available is False
    assert listings["IG-1"].quantity == 5
    assert listings["IG-1"].ids["product_item_id"]
    assert live == {"A": 5, "B": None}


# -- orders --------------------------------------------------------------------------------------------
async def _pull_all(conn: InstagramConnector, since: OrderCursor) -> list[object]:
    orders: list[object] = []
    cursor = since
    while True:
        page = await conn.pull_orders(cursor)
        orders.extend(page.orders)
        if page.next_page_token is None:
            return orders
        cursor = OrderCursor(since.updated_after, page.next_page_token)


async def test_orders_are_pulled_mapped_and_acknowledged(harness: InstagramHarness) -> None:
    ids = [harness.place_order("IG-1", 1) for _ in range(3)] + [harness.place_order("IG-2", 2)]
    assert harness.emulator.quantity("IG-1") == 2, "a shopper's order lowers the catalog inventory"
    conn = connector(harness)
    orders = await _pull_all(conn, OrderCursor(None))
    await conn.aclose()
    assert [o.external_id for o in orders] == ids  # type: ignore[attr-defined]
    last = orders[-1]
    assert last.status is OrderStatus.OPEN  # type: ignore[attr-defined]
    line = last.lines[0]  # type: ignore[attr-defined]
    assert (line.channel_sku, line.quantity, line.unit_price) == ("IG-2", 2, Decimal("20.00"))
    assert {harness.emulator.orders[i].state for i in ids} == {"IN_PROGRESS"}


async def test_acknowledge_is_idempotent_when_a_page_is_pulled_again(harness: InstagramHarness) -> None:
    order_id = harness.place_order("IG-1", 1)
    conn = connector(harness)
    first = await conn.pull_orders(OrderCursor(None))
    second = await conn.pull_orders(OrderCursor(None))  # the engine crashed before storing the page
    key = idempotency_key(CHANNEL, order_id, 0, kind="acknowledge")
    again = await conn.graph.acknowledge_orders([order_id], key)  # an acknowledgement whose answer was lost
    await conn.aclose()
    assert first.orders[0].external_id == second.orders[0].external_id == order_id
    assert harness.emulator.calls["acknowledge_orders"] == 2, "IN_PROGRESS orders are not acknowledged again"
    assert again == [{"id": order_id, "state": "IN_PROGRESS"}], "the same key is answered the same"


async def test_new_orders_are_acknowledged_a_hundred_a_call(harness: InstagramHarness) -> None:
    harness.emulator.seed_item("IG-3", 1000, "5.00")
    ids = [harness.place_order("IG-3", 1) for _ in range(230)]
    conn = connector(harness, orders_page_size=100)
    orders = await _pull_all(conn, OrderCursor(None))
    await conn.aclose()
    assert [o.external_id for o in orders] == ids  # type: ignore[attr-defined]
    assert harness.emulator.calls["acknowledge_orders"] == 3, "100 + 100 + 30"
    assert {harness.emulator.orders[i].state for i in ids} == {"IN_PROGRESS"}


async def test_one_refused_order_does_not_stop_the_others_being_acknowledged(
    harness: InstagramHarness,
) -> None:
    kept = harness.place_order("IG-1", 1)
    refused = harness.place_order("IG-2", 1)
    conn = connector(harness)
    page, _ = await conn.graph.commerce_orders(None, None)
    harness.emulator.orders[refused].state = "COMPLETED"  # moved on between the read and the acknowledgement
    await conn._acknowledge([kept, refused])
    await conn.aclose()
    assert harness.emulator.orders[kept].state == "IN_PROGRESS"
    assert harness.emulator.orders[refused].state == "COMPLETED"
    assert len(page) == 2


async def test_cancellations_shipments_and_refunds_become_line_quantities(harness: InstagramHarness) -> None:
    cancelled = harness.place_order("IG-1", 2)
    shipped = harness.place_order("IG-2", 3)
    conn = connector(harness)
    await conn.pull_orders(OrderCursor(None))  # acknowledges both
    start = harness.clock.now()
    harness.clock.advance(60)
    harness.emulator.cancel_order(cancelled, 1)
    harness.emulator.ship_order(shipped)
    harness.emulator.refund_order(shipped, 1)
    orders = {o.external_id: o for o in await _pull_all(conn, OrderCursor(start))}  # type: ignore[attr-defined]
    await conn.aclose()
    line = orders[cancelled].lines[0]
    assert (line.quantity, line.fulfilled, line.cancelled, line.restocked) == (2, 0, 1, 0)
    assert orders[cancelled].status is OrderStatus.OPEN
    line = orders[shipped].lines[0]
    assert (line.quantity, line.fulfilled, line.cancelled, line.restocked) == (3, 3, 0, 1)
    assert orders[shipped].status is OrderStatus.CLOSED
    assert harness.emulator.quantity("IG-1") == 4, "the cancelled unit went back to the catalog"


async def test_a_page_of_orders_costs_one_call_with_the_edges_expanded(harness: InstagramHarness) -> None:
    orders = [harness.place_order("IG-1", 1) for _ in range(5)]
    recorder = Recorder(harness.transport())
    conn = connector(harness, transport=recorder, acknowledge_orders=False)
    page = await conn.pull_orders(OrderCursor(None))
    edges = ("items", "cancellations", "refunds", "shipments")
    assert [o.external_id for o in page.orders] == orders  # type: ignore[attr-defined]
    assert len(recorder.paths("/commerce_orders")) == 1
    assert sum(len(recorder.paths(f"/{edge}")) for edge in edges) == 0, "edges come inline"
    assert page.orders[0].lines[0].quantity == 1  # type: ignore[attr-defined]
    await conn.aclose()


async def test_an_edge_longer_than_the_inline_page_is_read_on_its_own(harness: InstagramHarness) -> None:
    order_id = harness.place_order("IG-1", 1)
    order = harness.emulator.orders[order_id]
    for n in range(130):  # 130 partial cancellations: more than the 100 read inline
        order.cancellations.append({"id": f"C{n}", "items": {"data": []}})
    recorder = Recorder(harness.transport())
    conn = connector(harness, transport=recorder, acknowledge_orders=False)
    page = await conn.pull_orders(OrderCursor(None))
    await conn.aclose()
    assert len(recorder.paths("/cancellations")) == 2, "the whole edge, in pages of 100"
    assert len(recorder.paths("/items")) == 0
    assert page.orders[0].external_id == order_id  # type: ignore[attr-defined]


async def test_updated_after_filters_old_orders(harness: InstagramHarness) -> None:
    harness.place_order("IG-1", 1)
    harness.clock.advance(120)
    recent = harness.place_order("IG-2", 1)
    conn = connector(harness)
    page = await conn.pull_orders(OrderCursor(harness.clock.now() - timedelta(seconds=60)))
    await conn.aclose()
    assert [o.external_id for o in page.orders] == [recent]


# -- rate limits and failures ----------------------------------------------------------------------------
async def test_usage_near_the_limit_slows_the_operation_down(harness: InstagramHarness) -> None:
    harness.emulator.batch_calls_per_hour = 4
    conn = connector(harness)
    for _ in range(3):
        await conn.push_inventory([inv("IG-1", 1)])
    bucket = conn.context.budgets.bucket("push_inventory")
    assert bucket.rate < InstagramConnector.limits.push_inventory.rate, "slowed down before 100 %"
    await conn.aclose()


async def test_throttle_with_a_long_estimate_is_not_waited_out_inline(harness: InstagramHarness) -> None:
    harness.emulator.throttle_minutes = 30
    harness.fail_next(Fault.THROTTLE)
    conn = connector(harness)
    with pytest.raises(ThrottledError) as caught:
        await conn.read_listings(["IG-1"])
    assert caught.value.retry_after == 30 * 60
    bucket = conn.context.budgets.bucket("read_listings")
    assert bucket.paused_until >= harness.clock.monotonic() + 29 * 60, "the operation is parked"
    await conn.aclose()


async def test_short_throttle_is_waited_out_on_the_clock(harness: InstagramHarness) -> None:
    harness.fail_next(Fault.THROTTLE)  # error 80014, estimated_time_to_regain_access: 1 minute
    conn = connector(harness)
    before = harness.clock.monotonic()
    results = await conn.push_inventory([inv("IG-1", 3)])
    await conn.aclose()
    assert results[0].status is ItemStatus.ACCEPTED
    assert conn.context.stats.total_throttled == 1
    assert harness.clock.monotonic() - before >= 60, "waited Meta's estimate, on the virtual clock"


async def test_spent_hourly_batch_budget_parks_pushes_until_access_returns(harness: InstagramHarness) -> None:
    harness.emulator.batch_calls_per_hour = 2
    conn = connector(harness)
    await conn.push_inventory([inv("IG-1", 1)])
    await conn.push_inventory([inv("IG-1", 2)])  # usage now reads 100 %: the connector pauses itself
    results = await conn.push_inventory([inv("IG-1", 3)])  # Meta still refuses: error 80014, ~58 min
    await conn.aclose()
    assert results[0].status is ItemStatus.RETRY
    assert "80014" in (results[0].reason or "")
    assert harness.emulator.quantity("IG-1") == 2
    bucket = conn.context.budgets.bucket("push_inventory")
    assert bucket.paused_until - harness.clock.monotonic() > 50 * 60


async def test_expired_token_is_a_credentials_error(harness: InstagramHarness) -> None:
    harness.fail_next(Fault.UNAUTHORIZED)
    conn = connector(harness)
    with pytest.raises(CredentialsError):
        await conn.push_inventory([inv("IG-1", 1)])
    await conn.aclose()


async def test_timeout_then_success(harness: InstagramHarness) -> None:
    harness.fail_next(Fault.TIMEOUT)
    conn = connector(harness)
    results = await conn.push_inventory([inv("IG-1", 6)])
    await conn.aclose()
    assert results[0].status is ItemStatus.ACCEPTED
    assert harness.emulator.quantity("IG-1") == 6


async def test_an_acknowledgement_key_is_bound_to_its_batch(harness: InstagramHarness) -> None:
    first, second = harness.place_order("IG-1", 1), harness.place_order("IG-2", 1)
    conn = connector(harness)
    await conn.graph.acknowledge_orders([first], "key-1")
    with pytest.raises(ItemError, match="idempotency_key"):
        await conn.graph.acknowledge_orders([second], "key-1")  # the same key for other orders: refused
    await conn.aclose()
    assert harness.emulator.orders[second].state == "CREATED"
