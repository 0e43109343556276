"""The Shopify connector end to end against the emulator (in-process, virtual time)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from omnisync_connectors.shopify import ShopifyConnector, ShopifySettings
from omnisync_connectors.shopify.emulator import ShopifyEmulator
from shopify_fixtures import make, update

from omnisync.clock import VirtualClock
from omnisync.sdk import (
    ConfigurationError,
    InventoryRef,
    ItemStatus,
    OrderCursor,
    OrderStatus,
    Preorder,
    PriceUpdate,
)
from omnisync.sdk.registry import load_connector
from omnisync.sdk.runtime import instantiate
from omnisync.testing.harness import Fault


def test_registered_under_its_entry_point() -> None:
    assert load_connector("shopify") is ShopifyConnector


def test_settings_keep_the_token_secret_and_build_the_endpoint() -> None:
    settings = ShopifySettings.model_validate(
        {
            "shop": "My-Shop.myshopify.com",
            "access_token": "shpat_secret",
            "locations": {"wh": "gid://shopify/Location/1"},
        }
    )
    assert "shpat_secret" not in repr(settings)
    assert settings.base_url == "https://my-shop.myshopify.com/admin/api/2026-04"
    assert (settings.restore_rate, settings.bucket_size) == (100.0, 2000.0)
    options = ShopifyConnector.http_options(settings)
    assert options.headers["X-Shopify-Access-Token"] == "shpat_secret"
    assert "shpat_secret" in options.secrets


@pytest.mark.parametrize(
    "bad",
    [
        {"shop": "https://x.myshopify.com"},
        {"locations": {"wh": "12345"}},
        {"locations": {}},
        {"plan": "gold"},
    ],
)
def test_settings_refuse_what_cannot_work(bad: dict) -> None:
    raw = {
        "shop": "x.myshopify.com",
        "access_token": "t",
        "locations": {"wh": "gid://shopify/Location/1"},
        **bad,
    }
    with pytest.raises(ConfigurationError):
        instantiate(ShopifyConnector, raw, channel="shop")


async def test_prepare_checks_the_configured_locations() -> None:
    _, connector = make()
    await connector.prepare()
    _, broken = make(locations={"wh": "gid://shopify/Location/999999"})
    with pytest.raises(ConfigurationError, match="does not exist"):
        await broken.prepare()


async def test_read_listings_finds_ids_by_exact_sku_and_leaves_out_unknown_ones() -> None:
    emulator, connector = make()
    ids = emulator.seed("TEE-1", 4, "19.90")
    emulator.seed("TEE-10", 1)
    skus = [f"BULK-{n}" for n in range(60)]
    for sku in skus:
        emulator.seed(sku, 1)
    listings = await connector.read_listings(["TEE-1", "GHOST", *skus])
    by_sku = {item.channel_sku: item for item in listings}
    assert set(by_sku) == {"TEE-1", *skus}
    assert by_sku["TEE-1"].ids == ids
    assert by_sku["TEE-1"].quantity == 4
    assert by_sku["TEE-1"].price == Decimal("19.90")


async def test_push_sets_absolute_quantities_with_compare_and_set() -> None:
    emulator, connector = make()
    emulator.seed("A", 10)
    emulator.seed("B", 10)
    results = await connector.push_inventory([update(emulator, "A", 7, 10), update(emulator, "B", 12, 10)])
    assert [(r.status, r.value) for r in results] == [(ItemStatus.ACCEPTED, 7), (ItemStatus.ACCEPTED, 12)]
    assert (emulator.quantity("A"), emulator.quantity("B")) == (7, 12)
    sent = emulator.requests[-1]["variables"]
    assert sent["input"]["name"] == "available"
    assert [q["changeFromQuantity"] for q in sent["input"]["quantities"]] == [10, 10]
    assert "@idempotent(key: $idempotencyKey)" in emulator.requests[-1]["query"]


async def test_a_sale_between_read_and_push_is_reported_stale_and_not_overwritten() -> None:
    emulator, connector = make()
    emulator.seed("A", 10)
    emulator.seed("B", 10)
    emulator.place_order("A", 2)  # the shop now shows 8; we last acknowledged 10
    results = await connector.push_inventory([update(emulator, "A", 9, 10), update(emulator, "B", 9, 10)])
    assert results[0].status is ItemStatus.STALE
    assert "CHANGE_FROM_QUANTITY_STALE" in (results[0].reason or "")
    assert results[1].status is ItemStatus.ACCEPTED  # the rest of the batch went through
    assert (emulator.quantity("A"), emulator.quantity("B")) == (8, 9)


async def test_partial_failure_is_per_item() -> None:
    emulator, connector = make()
    emulator.seed("A", 3)
    unknown = update(emulator, "A", 1, 3)
    unknown = type(unknown)(
        **{
            **{f: getattr(unknown, f) for f in unknown.__slots__},
            "sku": "M-X",
            "ids": {"inventory_item_id": "gid://shopify/InventoryItem/424242"},
        }
    )
    no_ids = update(emulator, "NEVER-DISCOVERED", 1, 0)
    elsewhere = update(emulator, "A", 1, 3, location="moon")
    results = await connector.push_inventory([unknown, update(emulator, "A", 2, 3), no_ids, elsewhere])
    assert [r.status for r in results] == [
        ItemStatus.REJECTED,
        ItemStatus.ACCEPTED,
        ItemStatus.REJECTED,
        ItemStatus.REJECTED,
    ]
    assert "INVALID_INVENTORY_ITEM" in (results[0].reason or "")
    assert emulator.quantity("A") == 2


async def test_location_picks_the_mapped_shopify_location() -> None:
    emulator, connector = make()
    emulator.seed("A", 0)
    result = await connector.push_inventory([update(emulator, "A", 5, 0, location="store")])
    assert result[0].status is ItemStatus.ACCEPTED
    assert (emulator.quantity("A", "store"), emulator.quantity("A", "warehouse")) == (5, 0)


async def test_a_timed_out_push_is_retried_with_the_same_key_and_applied_once() -> None:
    emulator, connector = make()
    emulator.seed("A", 10)
    emulator.fail_next(Fault.TIMEOUT)  # the shop applies the change, the answer is lost
    results = await connector.push_inventory([update(emulator, "A", 6, 10)])
    assert results[0].status is ItemStatus.ACCEPTED  # not STALE: the retry replayed the first result
    assert emulator.quantity("A") == 6
    first, second = emulator.requests[-2:]
    assert first["variables"] == second["variables"]
    assert emulator.state.adjustment_groups == 1


async def test_unknown_previous_opts_out_of_compare_and_set_explicitly() -> None:
    emulator, connector = make()
    emulator.seed("A", 10)
    results = await connector.push_inventory([update(emulator, "A", 4, None)])
    assert results[0].status is ItemStatus.ACCEPTED
    assert emulator.requests[-1]["variables"]["input"]["quantities"][0]["changeFromQuantity"] is None


async def test_read_inventory_reads_available_per_location() -> None:
    emulator, connector = make()
    a = emulator.seed("A", 6)
    b = emulator.seed("B", 2, location="store")
    live = await connector.read_inventory(
        [
            InventoryRef("M-A", "A", a),
            InventoryRef("M-B", "B", b, location="store"),
            InventoryRef("M-C", "C", {}),
        ]
    )
    assert live == {"M-A": 6, "M-B": 2, "M-C": None}


async def test_prices_go_per_product_with_partial_updates() -> None:
    emulator, connector = make()
    shirt = emulator.seed("S", 1, "10.00")
    medium = emulator.seed("M", 1, "10.00", product_id=shirt["product_id"])
    mug = emulator.seed("MUG", 1, "5.00")
    ghost = {**mug, "variant_id": "gid://shopify/ProductVariant/77777"}
    updates = [
        PriceUpdate("m-s", "S", Decimal("12.00"), "USD", 1, "k1", Decimal("15.00"), ids=shirt),
        PriceUpdate("m-m", "M", Decimal("12.50"), "USD", 1, "k2", ids=medium),
        PriceUpdate("m-mug", "MUG", Decimal("6.00"), "USD", 1, "k3", ids=mug),
        PriceUpdate("m-ghost", "G", Decimal("1.00"), "USD", 1, "k4", ids=ghost),
        PriceUpdate("m-none", "N", Decimal("1.00"), "USD", 1, "k5"),
    ]
    results = await connector.push_prices(updates)
    assert [r.status for r in results] == [ItemStatus.ACCEPTED] * 3 + [ItemStatus.REJECTED] * 2
    assert results[0].value == Decimal("12.00")
    assert (emulator.price("S"), emulator.price("M"), emulator.price("MUG")) == (
        Decimal("12.00"),
        Decimal("12.50"),
        Decimal("6.00"),
    )
    assert emulator.state.variants[shirt["variant_id"]].compare_at == Decimal("15.00")
    assert len(emulator.requests) == 1  # two products, one call
    assert "PRODUCT_VARIANT_DOES_NOT_EXIST" in (results[3].reason or "")


async def _all_orders(connector: ShopifyConnector, since=None) -> tuple[list, int]:  # type: ignore[no-untyped-def]
    cursor, orders, pages = OrderCursor(since), [], 0
    while True:
        page = await connector.pull_orders(cursor)
        orders.extend(page.orders)
        pages += 1
        if page.next_page_token is None:
            return orders, pages
        cursor = OrderCursor(since, page.next_page_token)


async def test_order_lines_carry_what_was_charged_per_unit() -> None:
    clock = VirtualClock()
    emulator, connector = make(clock)
    emulator.seed("A", 5, price="12.50")
    emulator.seed("B", 5, price="3.00")
    placed = emulator.place_order([("A", 2), ("B", 1)])
    orders, _ = await _all_orders(connector)
    (order,) = [o for o in orders if o.external_id == placed]
    assert {line.channel_sku: line.unit_price for line in order.lines} == {
        "A": Decimal("12.50"),
        "B": Decimal("3.00"),
    }


def test_a_webhook_order_line_price_is_net_of_its_discounts() -> None:
    from omnisync_connectors.shopify.orders import from_rest

    payload = {
        "id": 7,
        "updated_at": "2026-12-04T10:00:00Z",
        "currency": "EUR",
        "line_items": [
            {
                "id": 1,
                "sku": "A",
                "quantity": 2,
                "price": "12.50",
                "discount_allocations": [{"amount": "5.00"}],
            },
            {"id": 2, "sku": "B", "quantity": 1, "price": "3.00", "discount_allocations": []},
            {"id": 3, "sku": "C", "quantity": 1},
        ],
    }
    order = from_rest(payload, ShopifySettings(**ShopifyEmulator(VirtualClock()).settings()))
    assert [line.unit_price for line in order.lines] == [Decimal("10.00"), Decimal("3.00"), None]


async def test_orders_are_paged_and_normalised_with_cumulative_line_quantities() -> None:
    clock = VirtualClock()
    emulator, connector = make(clock)
    for sku in ("A", "B", "C"):
        emulator.seed(sku, 50)
    shipped = emulator.place_order([("A", 3), ("B", 1)])
    emulator.fulfill(shipped, {"A": 2})
    emulator.refund(shipped, "A", 1, location="store")
    cancelled = emulator.place_order("B", 2)
    emulator.cancel(cancelled)
    pickup = emulator.place_order("C", 1, location="store", pickup=True)
    pos = emulator.place_order("C", 1, location="store", retail=True)
    for _ in range(4):
        emulator.place_order("C", 1)
    orders, pages = await _all_orders(connector)
    assert (len(orders), pages) == (8, 4)  # two per page
    by_id = {o.external_id: o for o in orders}
    a, b = by_id[shipped].lines
    assert (a.quantity, a.fulfilled, a.restocked, a.cancelled) == (3, 2, 1, 0)
    assert (b.quantity, b.fulfilled) == (1, 0)
    assert by_id[shipped].status is OrderStatus.OPEN
    assert by_id[shipped].return_location == "store"
    assert by_id[cancelled].status is OrderStatus.CANCELLED
    assert by_id[cancelled].lines[0].cancelled == 2
    assert by_id[pickup].location == "store"
    assert by_id[pos].location == "store"
    assert by_id[orders[-1].external_id].location is None
    assert all(o.updated_at.tzinfo is not None for o in orders)
    assert emulator.quantity("B") == 50 - 1  # the cancelled units went back to available


async def test_orders_filter_on_updated_at_and_never_drop_a_line() -> None:
    clock = VirtualClock()
    emulator, connector = make(clock)
    emulator.seed("A", 500)
    emulator.place_order("A", 1)
    clock.advance(3600)
    since = clock.now()
    big = emulator.place_order([("A", 1)] * 120)
    orders, _ = await _all_orders(connector, since - timedelta(seconds=1))
    assert [o.external_id for o in orders] == [big]
    assert len(orders[0].lines) == 120
    assert "updated_at:>=" in emulator.requests[0]["variables"]["query"]


async def test_throttle_answer_is_waited_out_and_retried() -> None:
    clock = VirtualClock()
    emulator, connector = make(clock)
    emulator.seed("A", 1)
    emulator.fail_next(Fault.THROTTLE)  # another app emptied the bucket
    results = await connector.push_inventory([update(emulator, "A", 2, 1)])
    assert results[0].status is ItemStatus.ACCEPTED
    assert connector.context.stats.total_throttled == 1
    assert clock.monotonic() == pytest.approx(0.1, abs=0.02)  # 10 points at 100 points/s


async def test_a_long_push_paces_itself_on_the_bucket_without_throttles() -> None:
    clock = VirtualClock()
    emulator = ShopifyEmulator(clock, bucket_size=100)  # smaller than the plan's: learnt from the answers
    ids = [emulator.seed(f"S{n}", 1) for n in range(3)]
    connector = instantiate(
        ShopifyConnector, emulator.settings(), channel="shop", clock=clock, transport=emulator.transport()
    )
    assert isinstance(connector, ShopifyConnector)
    for n in range(40):  # 40 mutations × 10 points: 300 more than the 100-point bucket holds
        sku = f"S{n % 3}"
        await connector.push_inventory([update(emulator, sku, n + 2, emulator.quantity(sku))])
    assert emulator.throttled == 0
    assert clock.monotonic() == pytest.approx(3.0, rel=0.05)  # 300 points over the bucket at 100/s
    assert ids


async def test_webhooks_are_verified_and_normalised() -> None:
    emulator, connector = make()
    emulator.seed("A", 5)
    order = emulator.place_order("A", 2)
    headers, body, url = emulator.signed_webhook(order, "orders/create")
    [event] = connector.parse_webhook(headers, body, url)
    assert event.event_id == headers["X-Shopify-Event-Id"]
    assert event.order is not None
    assert event.order.external_id == order
    assert event.order.lines[0].quantity == 2


async def test_a_preorder_is_the_variants_inventory_policy_set_before_its_quantity() -> None:
    """CONTINUE while the variant sells ahead of stock on order (the quantity holds the units omnisync
    lets it sell: the limit is kept by omnisync), DENY once the preorder is over; only when it changes."""
    emulator, connector = make()
    emulator.seed("MUG", 0, "7.50")
    ahead = replace(
        update(emulator, "MUG", 4, 0), preorder=Preorder(4, date(2026, 12, 20)), preorder_changed=True
    )
    [result] = await connector.push_inventory([ahead])
    assert result.status is ItemStatus.ACCEPTED
    variant = emulator.state.variant_for_sku("MUG")
    assert variant is not None
    assert variant.inventory_policy == "CONTINUE"
    policy_calls = [r for r in emulator.requests if "OmnisyncUpdatePolicies" in r["query"]]
    assert policy_calls[0]["variables"]["v0"] == [{"id": variant.id, "inventoryPolicy": "CONTINUE"}]
    # the same signal again (a quantity change only): no policy call
    [result] = await connector.push_inventory([replace(update(emulator, "MUG", 3, 4), preorder=Preorder(3))])
    assert result.status is ItemStatus.ACCEPTED
    assert len([r for r in emulator.requests if "OmnisyncUpdatePolicies" in r["query"]]) == 1
    [result] = await connector.push_inventory([replace(update(emulator, "MUG", 9, 3), preorder_changed=True)])
    assert result.status is ItemStatus.ACCEPTED
    assert variant.inventory_policy == "DENY"


async def test_a_returns_dispositions_say_which_units_go_back_on_the_shelf_and_which_do_not() -> None:
    """Restocked units are ``restocked``, not-restocked ones ``damaged``, those requiring processing
    ``to_inspect``, missing ones nothing; a unit restocked by its refund and by a disposition counts
    once; the disposition's location is where they came back. Orders without a return cost no
    returns query."""
    clock = VirtualClock()
    emulator, connector = make(clock)
    emulator.seed("A", 50)
    emulator.seed("B", 50)
    shipped = emulator.place_order([("A", 5), ("B", 2)])
    plain = emulator.place_order("B", 1)
    emulator.fulfill(shipped)
    emulator.return_items(
        shipped, "A", restocked=1, not_restocked=1, processing=1, missing=1, location="store"
    )
    emulator.refund(shipped, "B", 1, location="store")  # restocked by the refund (RETURN)
    emulator.return_items(shipped, "B", restocked=1, location="store")  # the same unit, disposed
    orders, _ = await _all_orders(connector)
    by_id = {o.external_id: o for o in orders}
    a, b = by_id[shipped].lines
    assert (a.fulfilled, a.restocked, a.damaged, a.to_inspect) == (5, 1, 1, 1)
    assert (b.fulfilled, b.restocked, b.damaged, b.to_inspect) == (2, 1, 0, 0)
    assert by_id[shipped].return_location == "store"
    assert [(ln.damaged, ln.to_inspect) for ln in by_id[plain].lines] == [(0, 0)]
    asked = [r["variables"].get("id") for r in emulator.requests if "OmnisyncOrderReturns" in r["query"]]
    assert asked == [shipped], "one returns query, for the order that has returns"
