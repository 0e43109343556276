"""The Square connector end to end against its emulator: pushes, reads, orders, webhooks, limits."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from omnisync_connectors.square import SquareConnector, SquareSettings
from square_fixtures import CHANNEL, price, rig, update

from omnisync.sdk import (
    ConfigurationError,
    InventoryRef,
    ItemStatus,
    OrderCursor,
    OrderStatus,
    WebhookKind,
    WebhookVerificationError,
)
from omnisync.sdk.runtime import instantiate
from omnisync.testing.harness import Fault

CHANGES = "/v2/inventory/changes/batch-create"


# -- start-up and settings ---------------------------------------------------------------------------
async def test_prepare_accepts_known_locations_and_names_missing_ones() -> None:
    await rig().connector.prepare()
    bad = rig(settings={"locations": {"STORE1": "LSTORE00001AA", "STORE9": "LNOPE"}})
    with pytest.raises(ConfigurationError, match="STORE9=LNOPE"):
        await bad.connector.prepare()


async def test_prepare_refuses_an_inactive_location() -> None:
    r = rig()
    r.emulator.locations["LSTORE00002BB"]["status"] = "INACTIVE"
    with pytest.raises(ConfigurationError, match="INACTIVE"):
        await r.connector.prepare()


def test_settings_validate_and_hide_the_token() -> None:
    s = SquareSettings.model_validate(
        {"access_token": "sq0-secret", "locations": {"A": "L1"}, "environment": "sandbox"}
    )
    assert s.api_base_url == "https://connect.squareupsandbox.com"
    assert "sq0-secret" not in repr(s)
    headers = SquareConnector.http_options(s).headers
    assert headers["Square-Version"] == "2025-08-20"
    assert headers["Authorization"] == "Bearer sq0-secret"
    with pytest.raises(ValueError, match="one ledger code"):
        SquareSettings.model_validate({"access_token": "t", "locations": {"A": "L1", "B": "L1"}})
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        SquareSettings.model_validate(
            {"access_token": "t", "locations": {"A": "L1"}, "square_version": "latest"}
        )


# -- discovery and live read -----------------------------------------------------------------------
async def test_read_listings_finds_variations_by_sku_and_omits_unknown() -> None:
    r = rig(locations={"LSTORE00001AA": "Main Street"})
    vid = r.emulator.seed_item("TEE-M", Decimal("19.99"), 6)
    listings = await r.connector.read_listings(["tee-m", "NOPE"])
    assert len(listings) == 1
    assert listings[0].channel_sku == "tee-m"
    assert listings[0].ids["variation_id"] == vid
    assert (listings[0].quantity, listings[0].price) == (6, Decimal("19.99"))


async def test_read_inventory_reads_the_mapped_location_with_pagination() -> None:
    r = rig()
    second = list(r.emulator.locations)[1]
    skus = [f"S{n}" for n in range(5)]
    for n, sku in enumerate(skus):
        r.emulator.seed_item(sku, Decimal(1), {r.emulator.first_location: n, second: 100 + n})
    ids = await r.ids(*skus)
    refs = [InventoryRef(f"M-{s}", s, ids[s], "STORE2") for s in skus] + [
        InventoryRef("M-X", "X", {}, "STORE2")
    ]
    assert await r.connector.read_inventory(refs) == {
        **{f"M-{s}": 100 + n for n, s in enumerate(skus)},
        "M-X": None,
    }


# -- inventory push ----------------------------------------------------------------------------------
async def test_push_sends_adjustments_in_the_documented_states() -> None:
    r = rig()
    r.emulator.seed_item("UP", Decimal(1), 5)
    r.emulator.seed_item("DOWN", Decimal(1), 5)
    ids = await r.ids("UP", "DOWN")
    results = await r.connector.push_inventory(
        [update("DOWN", 2, 5, ids["DOWN"]), update("UP", 9, 5, ids["UP"])]
    )
    assert [(x.status, x.value) for x in results] == [(ItemStatus.ACCEPTED, 2), (ItemStatus.ACCEPTED, 9)]
    body = r.recorder.bodies(CHANGES)[0]
    down, up = (c["adjustment"] for c in body["changes"])
    assert (down["from_state"], down["to_state"], down["quantity"]) == ("IN_STOCK", "SOLD", "3")
    assert (up["from_state"], up["to_state"], up["quantity"]) == ("NONE", "IN_STOCK", "4")
    assert down["occurred_at"].endswith("Z")
    assert down["reference_id"] == update("DOWN", 2, 5, {}).idempotency_key


async def test_decreases_can_go_to_waste_instead() -> None:
    r = rig(settings={"decrease_to_state": "WASTE"})
    r.emulator.seed_item("A", Decimal(1), 5)
    ids = await r.ids("A")
    await r.connector.push_inventory([update("A", 1, 5, ids["A"])])
    assert r.recorder.bodies(CHANGES)[0]["changes"][0]["adjustment"]["to_state"] == "WASTE"
    assert r.emulator.counts[(ids["A"]["variation_id"], r.emulator.first_location, "WASTE")] == 4


async def test_never_acknowledged_item_is_adjusted_from_the_live_count() -> None:
    r = rig()
    r.emulator.seed_item("A", Decimal(1), 11)
    ids = await r.ids("A")
    results = await r.connector.push_inventory([update("A", 4, None, ids["A"])])
    assert (results[0].status, results[0].value) == (ItemStatus.ACCEPTED, 4)
    assert r.recorder.bodies(CHANGES)[0]["changes"][0]["adjustment"]["quantity"] == "7"


async def test_floor_sale_between_pushes_is_kept_and_reported_stale() -> None:
    r = rig()
    r.emulator.seed_item("A", Decimal(1), 5)
    ids = await r.ids("A")
    first = await r.connector.push_inventory([update("A", 8, 5, ids["A"], version=2)])
    assert (first[0].status, first[0].value) == (ItemStatus.ACCEPTED, 8)
    r.emulator.place_order("A", 2)  # walk-in customer; the ledger has not seen it yet
    second = await r.connector.push_inventory([update("A", 10, 8, ids["A"], version=3)])
    assert r.emulator.quantity("A") == 8, "+2 on top of the sale: 8 - 2 + 2"
    assert (second[0].status, second[0].value) == (ItemStatus.STALE, 8)


async def test_the_same_batch_twice_applies_once_with_the_same_key() -> None:
    r = rig()
    r.emulator.seed_item("A", Decimal(1), 5)
    r.emulator.seed_item("B", Decimal(1), 5)
    ids = await r.ids("A", "B")
    batch = [update("A", 3, 5, ids["A"]), update("B", 6, 5, ids["B"])]
    r.clock.advance(30)
    first = await r.connector.push_inventory(batch)
    r.clock.advance(300)
    second = await r.connector.push_inventory(batch)
    assert first == second
    assert (r.emulator.quantity("A"), r.emulator.quantity("B")) == (3, 6)
    one, two = r.recorder.bodies(CHANGES)
    assert one == two, "byte-identical body, same idempotency key"


async def test_lost_answer_is_retried_and_deduplicated_by_square() -> None:
    r = rig()
    r.emulator.seed_item("A", Decimal(1), 5)
    ids = await r.ids("A")
    r.emulator.fail_next(Fault.TIMEOUT)  # applied at Square, answer lost on the way back
    results = await r.connector.push_inventory([update("A", 2, 5, ids["A"])])
    assert (results[0].status, results[0].value) == (ItemStatus.ACCEPTED, 2)
    assert r.emulator.quantity("A") == 2
    assert r.connector.context.stats.retries["push_inventory"] == 1


async def test_key_reused_after_a_restart_reads_the_live_count() -> None:
    r = rig()
    r.emulator.seed_item("A", Decimal(1), 5)
    ids = await r.ids("A")
    await r.connector.push_inventory([update("A", 2, 5, ids["A"])])
    r.clock.advance(60)  # a new process: the remembered occurred_at is gone, the body differs
    again = instantiate(
        SquareConnector, r.emulator.settings(), channel=CHANNEL, clock=r.clock, transport=r.recorder
    )
    results = await again.push_inventory([update("A", 2, 5, ids["A"])])
    assert (results[0].status, results[0].value) == (ItemStatus.STALE, 2)
    assert r.emulator.quantity("A") == 2, "never applied twice"


async def test_per_change_errors_reject_their_items_and_the_rest_goes_through() -> None:
    r = rig()
    r.emulator.seed_item("A", Decimal(1), 5)
    ids = await r.ids("A")
    results = await r.connector.push_inventory(
        [
            update("A", 1, 5, ids["A"]),
            update("GHOST", 1, 5, {"variation_id": "NO-SUCH"}),
            update("NOIDS", 1, 5, {}),
            update("A", 1, 5, ids["A"], location="WAREHOUSE"),
        ]
    )
    assert [x.status for x in results] == [ItemStatus.ACCEPTED] + [ItemStatus.REJECTED] * 3
    assert "not found" in (results[1].reason or "")
    assert "read_listings" in (results[2].reason or "")
    assert "WAREHOUSE" in (results[3].reason or "")
    assert r.emulator.quantity("A") == 1
    first, second = r.recorder.bodies(CHANGES)
    assert len(first["changes"]) == 2
    assert len(second["changes"]) == 1
    assert first["idempotency_key"] != second["idempotency_key"]


async def test_pressed_rate_limit_is_retried_until_accepted() -> None:
    r = rig(rate=1.0, burst=1)
    skus = [f"S{n}" for n in range(6)]
    for sku in skus:
        r.emulator.seed_item(sku, Decimal(1), 5)
    ids = await r.ids(*skus)
    results = []
    for sku in skus:
        results += await r.connector.push_inventory([update(sku, 1, 5, ids[sku])])
    assert {x.status for x in results} == {ItemStatus.ACCEPTED}
    assert r.emulator.throttled > 0
    assert r.connector.context.stats.total_throttled == r.emulator.throttled


# -- prices ------------------------------------------------------------------------------------------
async def test_price_push_keeps_the_rest_of_the_variation() -> None:
    r = rig()
    vid = r.emulator.seed_item("A", Decimal("10.00"), 5)
    before = dict(r.emulator.variations[vid]["item_variation_data"])
    ids = await r.ids("A")
    results = await r.connector.push_prices([price("A", "12.99", ids["A"])])
    assert (results[0].status, results[0].value) == (ItemStatus.ACCEPTED, Decimal("12.99"))
    after = r.emulator.variations[vid]["item_variation_data"]
    assert after["price_money"] == {"amount": 1299, "currency": "USD"}
    assert {k: v for k, v in after.items() if k != "price_money"} == {
        k: v for k, v in before.items() if k != "price_money"
    }


async def test_version_conflict_is_read_again_and_retried() -> None:
    r = rig()
    r.emulator.seed_item("A", Decimal("10.00"), 5)
    ids = await r.ids("A")
    r.emulator.conflict_next_upserts(2)
    results = await r.connector.push_prices([price("A", "11.00", ids["A"])])
    assert results[0].status is ItemStatus.ACCEPTED
    assert r.emulator.price("A") == Decimal("11.00")
    assert r.emulator.calls["BatchUpsertCatalogObjects"] == 3
    r.emulator.conflict_next_upserts(5)
    again = await r.connector.push_prices([price("A", "12.00", ids["A"], version=2)])
    assert again[0].status is ItemStatus.RETRY, "gives up after settings.catalog_attempts"


async def test_prices_in_another_currency_or_without_ids_are_rejected() -> None:
    r = rig(currency="JPY")
    r.emulator.seed_item("A", Decimal("1000"), 5)
    ids = await r.ids("A")
    results = await r.connector.push_prices(
        [price("A", "1200", ids["A"], currency="USD"), price("B", "1", {})]
    )
    assert [x.status for x in results] == [ItemStatus.REJECTED, ItemStatus.REJECTED]
    ok = await r.connector.push_prices([price("A", "1200", ids["A"], currency="JPY")])
    assert ok[0].status is ItemStatus.ACCEPTED
    assert (
        r.emulator.variations[ids["A"]["variation_id"]]["item_variation_data"]["price_money"]["amount"]
        == 1200
    )


async def test_two_channels_on_one_account_write_the_catalog_one_at_a_time() -> None:
    r = rig(catalog_write_s=2.0)
    r.emulator.seed_item("A", Decimal("1.00"), 1)
    r.emulator.seed_item("B", Decimal("1.00"), 1)
    ids = await r.ids("A", "B")
    other = instantiate(
        SquareConnector, r.emulator.settings(), channel="pos2", clock=r.clock, transport=r.recorder
    )
    one, two = await asyncio.gather(
        r.connector.push_prices([price("A", "2.00", ids["A"])]),
        other.push_prices([price("B", "3.00", ids["B"])]),
    )
    assert (one[0].status, two[0].status) == (ItemStatus.ACCEPTED, ItemStatus.ACCEPTED)
    assert r.emulator.throttled == 0, "the account lock kept the writes apart"


# -- orders ------------------------------------------------------------------------------------------
async def test_orders_sales_pickups_cancellations_and_returns_anywhere() -> None:
    r = rig()
    emu = r.emulator
    store2 = list(emu.locations)[1]
    emu.seed_item("A", Decimal("5.00"), {emu.first_location: 10, store2: 10})
    sale = emu.place_order("A", 3)
    pickup = emu.open_pickup_order("A", 2, store2)
    cancelled = emu.open_pickup_order("A", 1)
    emu.cancel_order(cancelled)
    returned = emu.return_items(sale, 2, store2)
    page = await r.connector.pull_orders(OrderCursor(r.clock.now() - timedelta(minutes=5)))
    by_id = {o.external_id: o for o in page.orders}
    s = by_id[sale]
    assert (s.status, s.location, s.lines[0].channel_sku, s.lines[0].fulfilled) == (
        OrderStatus.FULFILLED,
        "STORE1",
        "A",
        3,
    )
    p = by_id[pickup]
    assert (p.status, p.location, p.lines[0].quantity, p.lines[0].fulfilled) == (
        OrderStatus.OPEN,
        "STORE2",
        2,
        0,
    )
    assert by_id[cancelled].lines[0].cancelled == 1
    ret = by_id[returned]
    assert (ret.status, ret.location, ret.return_location) == (OrderStatus.CLOSED, "STORE2", "STORE2")
    assert (ret.lines[0].quantity, ret.lines[0].restocked, ret.lines[0].channel_sku) == (0, 2, "A")
    assert emu.quantity("A", store2) == 12, "Square restocked the store where the goods came back"


async def test_returns_without_restock_and_lines_without_a_sku() -> None:
    r = rig()
    vid = r.emulator.seed_item("A", Decimal(1), 4)
    sale = r.emulator.place_order("A", 1)
    r.emulator.variations[vid]["item_variation_data"].pop("sku")
    r.emulator.return_items(sale, restock=False)  # refunded; its adjustments move nothing back
    page = await r.connector.pull_orders(OrderCursor(None))
    assert [ln.channel_sku for o in page.orders for ln in o.lines] == [vid, vid], "reported, never dropped"
    assert sum(ln.restocked for o in page.orders for ln in o.lines) == 0


async def test_a_returns_refund_adjustments_say_whether_units_were_restocked_or_wasted() -> None:
    """Square's return line has no restock flag: the inventory adjustments naming the return's refund
    do (SOLD -> IN_STOCK restocked, SOLD -> WASTE damaged). One read of the adjustments per page of
    orders; a page without returns reads none."""
    r = rig()
    emu = r.emulator
    emu.seed_item("A", Decimal("5.00"), 10)
    emu.seed_item("B", Decimal("5.00"), 10)
    kept, broken, plain = emu.place_order("A", 2), emu.place_order("B", 1), emu.place_order("A", 1)
    restocked = emu.return_items(kept, 2)
    wasted = emu.return_items(broken, 1, restock=False, damaged=True)
    page = await r.connector.pull_orders(OrderCursor(None))
    by_id = {o.external_id: o for o in page.orders}
    assert [(ln.restocked, ln.damaged) for ln in by_id[restocked].lines] == [(2, 0)]
    assert [(ln.restocked, ln.damaged) for ln in by_id[wasted].lines] == [(0, 1)]
    assert [(ln.restocked, ln.damaged) for ln in by_id[plain].lines] == [(0, 0)]
    assert r.emulator.calls["BatchRetrieveInventoryChanges"] == 1
    emu.place_order("A", 1)
    r.clock.advance(60)
    await r.connector.pull_orders(OrderCursor(r.clock.now() - timedelta(seconds=30)))
    assert r.emulator.calls["BatchRetrieveInventoryChanges"] == 1, "no return on that page: no read"


async def test_order_pages_cover_more_than_ten_locations_and_respect_updated_after() -> None:
    locations = {f"L{n:012d}": f"Store {n}" for n in range(12)}
    r = rig(locations=locations, settings={"orders_page_size": 2})
    r.emulator.seed_item("A", Decimal(1), dict.fromkeys(locations, 5))
    old = r.emulator.place_order("A", 1, "L000000000000")
    r.clock.advance(3600)
    since = r.clock.now()
    placed = {r.emulator.place_order("A", 1, loc) for loc in locations}
    seen: list[str] = []
    cursor = OrderCursor(since)
    for _ in range(20):
        page = await r.connector.pull_orders(cursor)
        seen += [o.external_id for o in page.orders]
        if page.next_page_token is None:
            break
        cursor = OrderCursor(since, page.next_page_token)
    assert sorted(seen) == sorted(placed)
    assert old not in seen
    requests = r.recorder.bodies("/v2/orders/search")
    assert max(len(b["location_ids"]) for b in requests) == 10
    assert all(b["query"]["sort"] == {"sort_field": "UPDATED_AT", "sort_order": "ASC"} for b in requests)


# -- webhooks ----------------------------------------------------------------------------------------
async def test_webhooks_are_verified_over_url_and_body() -> None:
    r = rig()
    r.emulator.seed_item("A", Decimal(1), 4)
    order = r.emulator.place_order("A", 1)
    signed = r.emulator.signed_webhook(order)
    assert signed is not None
    headers, body, url = signed
    events = r.connector.parse_webhook(headers, body, "http://proxy.internal/rewritten")
    assert (events[0].kind, events[0].topic) == (WebhookKind.ORDER, "order.created")
    inventory = next(w for w in r.emulator.webhooks if b"inventory.count.updated" in w[1])
    assert r.connector.parse_webhook(inventory[0], inventory[1])[0].kind is WebhookKind.INVENTORY
    with pytest.raises(WebhookVerificationError):
        r.connector.parse_webhook(headers, body.replace(b"COMPLETED", b"CANCELED"))
    unsigned = rig(settings={"webhook_signature_key": None}).connector
    with pytest.raises(WebhookVerificationError, match="signature_key"):
        unsigned.parse_webhook(headers, body, url)


def test_a_line_s_unit_price_is_net_of_its_discounts() -> None:
    from omnisync_connectors.square.orders import normalize
    from omnisync_connectors.square.settings import SquareSettings

    def money(amount: int) -> dict[str, object]:
        return {"amount": amount, "currency": "EUR"}

    order = {
        "id": "O1",
        "state": "COMPLETED",
        "location_id": "L1",
        "updated_at": "2026-12-04T10:00:00Z",
        "line_items": [
            {"uid": "a", "catalog_object_id": "V1", "quantity": "3", "base_price_money": money(1000),
             "gross_sales_money": money(3000), "total_discount_money": money(500)},
            {"uid": "b", "catalog_object_id": "V2", "quantity": "1", "base_price_money": money(450)},
        ],
        "returns": [
            {"return_line_items": [
                {"uid": "r", "catalog_object_id": "V1", "quantity": "1", "base_price_money": money(1000),
                 "gross_return_money": money(1000), "total_discount_money": money(167)},
            ]},
        ],
    }  # fmt: skip
    settings = SquareSettings(access_token="t", locations={"STORE": "L1"})
    lines = normalize(order, settings, {"V1": "A", "V2": "B"}).lines
    assert [line.unit_price for line in lines] == [Decimal("8.33"), Decimal("4.50"), Decimal("8.33")]
