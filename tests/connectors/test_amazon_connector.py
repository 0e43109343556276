"""AmazonConnector end to end over the in-process emulator, on a virtual clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import jsonschema
import pytest
from amazon_fixtures import make, seed
from omnisync_connectors.amazon import feeds
from omnisync_connectors.amazon.auth import REFRESH_MARGIN_S
from omnisync_connectors.amazon.connector import availability
from omnisync_connectors.amazon.emulator_product_types import schema_for

from omnisync.sdk import (
    ConfigurationError,
    CredentialsError,
    InventoryRef,
    InventoryUpdate,
    ItemStatus,
    OrderCursor,
    OrderStatus,
    Preorder,
    PriceUpdate,
)
from omnisync.testing.harness import Fault

PT = {"product_type": "PRODUCT"}


def updates(skus: list[str], quantity: int, ids: dict[str, str] | None = None) -> list[InventoryUpdate]:
    return [InventoryUpdate(s, s, quantity, None, 1, f"k-{s}", ids or PT) for s in skus]


async def test_discovery_reads_ids_quantity_price_and_omits_unknown() -> None:
    connector, emulator = make()
    emulator.seed_listing("BAG-1", 4, Decimal("59.90"), product_type="LUGGAGE")
    emulator.seed_listing("BAG-2", 0, Decimal("10.00"), product_type="LUGGAGE")
    listings = {li.channel_sku: li for li in await connector.read_listings(["BAG-1", "BAG-2", "GHOST"])}
    assert set(listings) == {"BAG-1", "BAG-2"}
    bag = listings["BAG-1"]
    assert bag.ids["product_type"] == "LUGGAGE"
    assert bag.ids["asin"] == emulator.listings["BAG-1"].asin
    assert bag.ids["marketplace_id"] == "ATVPDKIKX0DER"
    assert (bag.quantity, bag.price, bag.available) == (4, Decimal("59.90"), True)
    assert listings["BAG-2"].available is False
    live = await connector.read_inventory([InventoryRef("m1", "BAG-1"), InventoryRef("m2", "GHOST")])
    assert live == {"m1": 4, "m2": None}


async def test_few_changes_patch_each_item() -> None:
    connector, emulator = make()
    skus = seed(emulator, 5)
    results = await connector.push_inventory(updates(skus, 2))
    assert {r.status for r in results} == {ItemStatus.ACCEPTED}
    assert all(emulator.quantity(s) == 2 for s in skus)
    assert emulator.calls["patchListingsItem"] == 5
    assert emulator.calls["createFeed"] == 0


async def test_a_patch_never_raises_what_amazon_holds_over_an_unimported_sale() -> None:
    """Acknowledged 10, Amazon holds 7 (three units sold, not imported yet): 8 is below the
    acknowledged value but would put sold units back on offer, so it answers stale with 7 and nothing
    is written; 5 stays below what Amazon holds and goes out; a raise from a value Amazon still holds
    goes out; 0 can overwrite nothing and goes without the read."""
    connector, emulator = make()
    sku = seed(emulator, 1)[0]
    emulator.place_order(sku, 3)

    def push(quantity: int, previous: int) -> list[InventoryUpdate]:
        return [InventoryUpdate(sku, sku, quantity, previous, 1, "k", PT)]

    [stale] = await connector.push_inventory(push(8, 10))
    assert (stale.status, stale.value, emulator.quantity(sku)) == (ItemStatus.STALE, 7, 7)
    assert emulator.calls["patchListingsItem"] == 0
    [lower] = await connector.push_inventory(push(5, 10))
    assert (lower.status, emulator.quantity(sku)) == (ItemStatus.ACCEPTED, 5)
    [raised] = await connector.push_inventory(push(9, 5))
    assert (raised.status, emulator.quantity(sku)) == (ItemStatus.ACCEPTED, 9)
    reads = emulator.calls["getListingsItem"]
    assert reads == 3
    [zero] = await connector.push_inventory(push(0, 9))
    assert (zero.status, emulator.quantity(sku), emulator.calls["getListingsItem"]) == (
        ItemStatus.ACCEPTED,
        0,
        reads,
    )


async def test_patch_path_runs_at_the_documented_rate() -> None:
    connector, emulator = make()
    skus = seed(emulator, 50)
    await connector.prepare()
    start = connector.context.clock.monotonic()
    results = await connector.push_inventory(updates(skus, 1))
    elapsed = connector.context.clock.monotonic() - start
    assert len(results) == 50
    assert {r.status for r in results} == {ItemStatus.ACCEPTED}
    assert elapsed == pytest.approx((50 - 5) / 5.0, abs=0.05)  # burst 5, then 5/s
    assert emulator.throttled.total() == 0


async def test_many_changes_go_as_one_feed_with_per_item_results() -> None:
    connector, emulator = make()
    skus = seed(emulator, 400)
    emulator.reject_sku(skus[7], "Listing suppressed for this seller.")
    batch = updates(skus, 9)
    batch[3] = InventoryUpdate(skus[3], skus[3], 9, None, 1, "k", {})  # never discovered
    results = {r.sku: r for r in await connector.push_inventory(batch)}
    assert len(results) == 400
    assert emulator.calls["createFeed"] == 1
    assert emulator.calls["patchListingsItem"] == 0
    assert results[skus[7]].status is ItemStatus.REJECTED
    assert "Listing suppressed" in (results[skus[7]].reason or "")
    assert results[skus[3]].status is ItemStatus.REJECTED
    assert "read_listings" in (results[skus[3]].reason or "")
    accepted = [s for s, r in results.items() if r.status is ItemStatus.ACCEPTED]
    assert len(accepted) == 398
    assert all(emulator.quantity(s) == 9 for s in accepted)
    assert emulator.quantity(skus[7]) == 10


async def test_more_than_one_feed_of_messages_is_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "MAX_MESSAGES", 10)
    connector, emulator = make(feed_threshold=5)
    skus = seed(emulator, 25)
    results = await connector.push_inventory(updates(skus, 1))
    assert emulator.calls["createFeed"] == 3
    assert sorted(r.sku for r in results) == sorted(skus)
    assert {r.status for r in results} == {ItemStatus.ACCEPTED}


async def test_fatal_feed_leaves_items_to_retry() -> None:
    connector, emulator = make(feed_threshold=2)
    skus = seed(emulator, 5)
    emulator.fail_next_feed("Internal error while processing the feed.")
    results = await connector.push_inventory(updates(skus, 1))
    assert {r.status for r in results} == {ItemStatus.RETRY}
    assert all("FATAL" in (r.reason or "") and "Internal error" in (r.reason or "") for r in results)
    assert all(emulator.quantity(s) == 10 for s in skus)


async def test_feed_wait_does_not_block_other_tasks() -> None:
    connector, emulator = make(feed_threshold=2)
    skus = seed(emulator, 10)
    ticks: list[float] = []
    clock = connector.context.clock

    async def other_channel() -> None:
        for _ in range(5):
            await clock.sleep(5)
            ticks.append(clock.monotonic())

    results, _ = await asyncio.gather(connector.push_inventory(updates(skus, 1)), other_channel())
    assert len(results) == 10
    assert ticks == [5, 10, 15, 20, 25]
    assert emulator.feeds
    assert all(f.end_s > 25 for f in emulator.feeds.values())


async def test_prices_by_patch_and_by_feed() -> None:
    connector, emulator = make(feed_threshold=3)
    skus = seed(emulator, 6)
    one = [PriceUpdate(skus[0], skus[0], Decimal("24.99"), "USD", 1, "p", ids=PT)]
    assert (await connector.push_prices(one))[0].status is ItemStatus.ACCEPTED
    assert emulator.price(skus[0]) == Decimal("24.99")
    assert emulator.calls["patchListingsItem"] == 1
    many = [PriceUpdate(s, s, Decimal("7.45"), "USD", 1, "p", ids=PT) for s in skus]
    many.append(PriceUpdate("bad", skus[1], Decimal("3.00"), "EUR", 1, "p", ids=PT))
    results = {r.sku: r for r in await connector.push_prices(many)}
    assert emulator.calls["createFeed"] == 1
    assert all(emulator.price(s) == Decimal("7.45") for s in skus)
    assert results["bad"].status is ItemStatus.REJECTED
    assert "currency" in (results["bad"].reason or "")


async def test_orders_reserve_fulfil_and_release() -> None:
    connector, emulator = make(orders_page_size=2)
    skus = seed(emulator, 3, quantity=5)
    open_id = emulator.place_order(skus[0], 2)
    shipped_id = emulator.place_order_lines([(skus[1], 1), (skus[2], 1)])
    cancelled_id = emulator.place_order(skus[2], 3, status="Pending")
    assert emulator.quantity(skus[2]) == 1  # Amazon lowered it at once
    emulator.ship_order(shipped_id)
    emulator.cancel_order(cancelled_id)
    assert emulator.quantity(skus[2]) == 4  # the cancelled units came back
    orders = {}
    cursor = OrderCursor(connector.context.clock.now() - timedelta(hours=1))
    pages = 0
    while True:
        page = await connector.pull_orders(cursor)
        pages += 1
        orders.update({o.external_id: o for o in page.orders})
        if page.next_page_token is None:
            break
        cursor = OrderCursor(cursor.updated_after, page.next_page_token)
    assert pages == 2
    assert set(orders) == {open_id, shipped_id, cancelled_id}
    opened = orders[open_id]
    assert opened.status is OrderStatus.OPEN
    assert opened.currency == "USD"
    assert opened.lines[0].channel_sku == skus[0]
    assert opened.lines[0].quantity == 2
    assert opened.lines[0].unit_price == Decimal("19.99")
    assert opened.lines[0].fulfilled == 0
    shipped = orders[shipped_id]
    assert shipped.status is OrderStatus.FULFILLED
    assert [ln.fulfilled for ln in shipped.lines] == [1, 1]
    cancelled = orders[cancelled_id]
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.lines[0].cancelled == 3
    assert opened.updated_at.tzinfo is not None
    assert opened.raw["order"]["AmazonOrderId"] == open_id


async def test_order_items_are_not_fetched_twice_for_an_unchanged_order() -> None:
    connector, emulator = make()
    skus = seed(emulator, 1)
    emulator.place_order(skus[0], 1)
    await connector.pull_orders(OrderCursor(None))
    await connector.pull_orders(OrderCursor(None))
    assert emulator.calls["getOrders"] == 2
    assert emulator.calls["getOrderItems"] == 1


async def test_access_token_cached_and_renewed_before_expiry() -> None:
    connector, emulator = make()
    seed(emulator, 1)
    await connector.read_listings(["AMZ-00000"] * 3)
    assert emulator.calls["lwaToken"] == 1
    await connector.context.clock.sleep(3600 - REFRESH_MARGIN_S + 1)
    await connector.read_listings(["AMZ-00000"])
    assert emulator.calls["lwaToken"] == 2
    assert emulator.calls["getListingsItem"] == 4  # no call was refused


async def test_expired_token_is_renewed_once_and_the_call_replayed() -> None:
    connector, emulator = make()
    skus = seed(emulator, 1)
    await connector.prepare()
    emulator.expire_tokens()
    results = await connector.push_inventory(updates(skus, 3))
    assert results[0].status is ItemStatus.ACCEPTED
    assert emulator.quantity(skus[0]) == 3
    assert emulator.calls["lwaToken"] == 2
    assert emulator.calls["patchListingsItem"] == 2


async def test_refused_credentials_are_configuration_errors() -> None:
    connector, _ = make(client_secret="wrong")
    with pytest.raises(CredentialsError, match="invalid_client"):
        await connector.prepare()
    connector, emulator = make()
    emulator.fail_next(Fault.UNAUTHORIZED, times=3)
    with pytest.raises(CredentialsError):
        await connector.read_listings(["X"])
    assert connector.context.stats.retries.total() == 0


async def test_prepare_tries_the_seller_id_and_the_marketplace_with_one_read() -> None:
    connector, emulator = make()
    await connector.prepare()
    assert emulator.calls["searchListingsItems"] == 1
    connector, _ = make(seller_id="A0WRONGSELLER")
    with pytest.raises(CredentialsError, match="seller_id 'A0WRONGSELLER' was refused"):
        await connector.prepare()
    connector, _ = make(marketplace_ids=["A2EUQ1WTGCTBG2"])  # Canada: a real marketplace, not the seller's
    with pytest.raises(ConfigurationError, match="marketplace 'A2EUQ1WTGCTBG2' was refused") as refused:
        await connector.prepare()
    assert not isinstance(refused.value, CredentialsError)


async def test_quota_exceeded_is_waited_out_at_the_operations_rate() -> None:
    connector, emulator = make()
    await connector.prepare()
    emulator.fail_next(Fault.THROTTLE)
    clock = connector.context.clock
    start = clock.monotonic()
    page = await connector.pull_orders(OrderCursor(None))
    assert page.orders == []
    assert emulator.calls["getOrders"] == 2
    assert clock.monotonic() - start == pytest.approx(1 / 0.0167, rel=0.01)  # one getOrders token


async def test_transient_faults_are_retried() -> None:
    connector, emulator = make()
    skus = seed(emulator, 1)
    emulator.fail_next(Fault.TIMEOUT)
    emulator.fail_next(Fault.SERVER_ERROR)
    results = await connector.push_inventory(updates(skus, 6))
    assert results[0].status is ItemStatus.ACCEPTED
    assert emulator.quantity(skus[0]) == 6


async def test_rate_is_corrected_from_the_rate_limit_header() -> None:
    connector, emulator = make({"rates": {"patchListingsItem": (10.0, 5)}})
    skus = seed(emulator, 20)
    await connector.push_inventory(updates(skus, 1))
    assert connector.context.budgets.bucket("patchListingsItem").rate == 10.0
    assert emulator.throttled.total() == 0


async def test_unknown_product_type_is_rejected_with_amazons_issue() -> None:
    connector, emulator = make()
    skus = seed(emulator, 1)
    results = await connector.push_inventory(updates(skus, 1, {"product_type": "NOT_A_TYPE"}))
    assert results[0].status is ItemStatus.REJECTED
    assert "90000900" in (results[0].reason or "")
    assert emulator.quantity(skus[0]) == 10


async def test_a_preorder_carries_the_restock_date_and_the_handling_time_until_it() -> None:
    """Units sold ahead of stock on order: the quantity includes them, fulfillment_availability says
    when the stock comes in; the next push without a preorder replaces the attribute and takes both
    away. Checked against the product type's schema as Amazon serves it (getDefinitionsProductType)."""
    connector, emulator = make()
    [sku] = seed(emulator, 1, quantity=0)
    today = connector.context.clock.now().date()
    ahead = replace(updates([sku], 4)[0], preorder=Preorder(4, today + timedelta(days=9)))
    entry = availability("DEFAULT", 4, ahead.preorder, today, 14)
    jsonschema.Draft202012Validator(
        schema_for("PRODUCT")["properties"]["fulfillment_availability"],
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    ).validate([entry])
    [result] = await connector.push_inventory([ahead])
    assert result.status is ItemStatus.ACCEPTED
    listing = emulator.listings[sku]
    assert listing.quantity == 4
    assert listing.restock == {
        "restock_date": (today + timedelta(days=9)).isoformat(),
        "lead_time_to_ship_max_days": 9,
    }
    assert availability("DEFAULT", 2, Preorder(2), today, 14)["lead_time_to_ship_max_days"] == 14
    far = availability("DEFAULT", 2, Preorder(2, today + timedelta(days=90)), today, 14)
    assert far["lead_time_to_ship_max_days"] == 30  # Amazon's longest handling time
    [result] = await connector.push_inventory(updates([sku], 6))
    assert result.status is ItemStatus.ACCEPTED
    assert (listing.quantity, listing.restock) == (6, {})


def test_a_line_s_unit_price_is_net_of_its_promotions() -> None:
    from omnisync_connectors.amazon.orders import order_line

    item = {
        "OrderItemId": "1",
        "SellerSKU": "A",
        "QuantityOrdered": 3,
        "QuantityShipped": 0,
        "ItemPrice": {"CurrencyCode": "EUR", "Amount": "30.00"},
        "PromotionDiscount": {"CurrencyCode": "EUR", "Amount": "5.00"},
    }
    assert order_line(item, "Unshipped").unit_price == Decimal("8.33")
    assert order_line({**item, "PromotionDiscount": None}, "Unshipped").unit_price == Decimal("10.00")
