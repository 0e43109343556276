"""The Square emulator on its own: Square's semantics over plain HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from omnisync_connectors.square.emulator import SquareEmulator
from omnisync_connectors.square.timefmt import rfc3339

from omnisync.clock import VirtualClock
from omnisync.testing.harness import Fault

CHANGES = "/v2/inventory/changes/batch-create"


@pytest.fixture
def emu() -> SquareEmulator:
    return SquareEmulator(VirtualClock())


def client(emu: SquareEmulator, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=emu.transport(),
        base_url="http://square.emulator",
        headers={"Authorization": f"Bearer {token or emu.access_token}", "Square-Version": "2025-08-20"},
    )


def adjustment(emu: SquareEmulator, vid: str, quantity: str = "1", **over: Any) -> dict[str, Any]:
    detail = {
        "catalog_object_id": vid,
        "location_id": emu.first_location,
        "from_state": "IN_STOCK",
        "to_state": "SOLD",
        "quantity": quantity,
        "occurred_at": rfc3339(emu.clock.now()),
        **over,
    }
    return {"type": "ADJUSTMENT", "adjustment": detail}


async def test_same_key_same_body_answers_the_first_result_other_body_is_refused(emu: SquareEmulator) -> None:
    vid = emu.seed_item("A", Decimal(1), 10)
    body = {"idempotency_key": "k1", "changes": [adjustment(emu, vid, "2")]}
    async with client(emu) as http:
        first = await http.post(CHANGES, json=body)
        again = await http.post(CHANGES, json=body)
        other = await http.post(CHANGES, json={**body, "changes": [adjustment(emu, vid, "3")]})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert emu.quantity("A") == 8
    assert other.status_code == 400
    assert other.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_a_batch_with_a_bad_change_is_refused_whole_with_the_change_named(emu: SquareEmulator) -> None:
    vid = emu.seed_item("A", Decimal(1), 10)
    stale = rfc3339(emu.clock.now())
    emu.clock.advance(25 * 3600)
    changes = [
        adjustment(emu, vid),
        adjustment(emu, "GHOST"),
        adjustment(emu, vid, occurred_at=stale),
        adjustment(emu, vid, from_state="IN_STOCK", to_state="RESERVED_FOR_SALE"),
    ]
    async with client(emu) as http:
        answer = await http.post(CHANGES, json={"idempotency_key": "k", "changes": changes})
        too_many = await http.post(
            CHANGES, json={"idempotency_key": "k2", "changes": [adjustment(emu, vid)] * 101}
        )
    assert answer.status_code == 400
    fields = sorted(e["field"] for e in answer.json()["errors"])
    assert fields == [
        "changes[1].adjustment.catalog_object_id",
        "changes[2].adjustment.occurred_at",
        "changes[3].adjustment.to_state",
    ]
    assert emu.quantity("A") == 10, "nothing applied"
    assert too_many.status_code == 400


async def test_floor_sale_lowers_the_count_and_sends_signed_webhooks(emu: SquareEmulator) -> None:
    emu.seed_item("A", Decimal("4.00"), 3)
    received: list[bytes] = []
    emu.on_webhook = lambda headers, body, url: received.append(body)
    order = emu.place_order("A", 5)
    assert emu.quantity("A") == -2, "Square lets the count go negative"
    assert emu.orders[order]["state"] == "COMPLETED"
    assert [b"order.created" in b for b in received] == [True, False]
    assert b"inventory.count.updated" in received[1]


async def test_rate_budget_answers_429_rate_limited(emu: SquareEmulator) -> None:
    emu.set_rate(1.0, 2)
    async with client(emu) as http:
        statuses = [(await http.get("/v2/locations")).status_code for _ in range(4)]
        emu.clock.advance(1.0)
        later = await http.get("/v2/locations")
    assert statuses == [200, 200, 429, 429]
    assert later.status_code == 200
    assert emu.throttled == 2


async def test_faults_and_credentials(emu: SquareEmulator) -> None:
    emu.fail_next(Fault.SERVER_ERROR)
    emu.fail_next(Fault.THROTTLE)
    emu.fail_next(Fault.UNAUTHORIZED)
    emu.fail_next(Fault.TIMEOUT)
    async with client(emu) as http:
        assert (await http.get("/v2/locations")).status_code == 500
        throttled = await http.get("/v2/locations")
        assert (throttled.status_code, throttled.json()["errors"][0]["code"]) == (429, "RATE_LIMITED")
        assert (await http.get("/v2/locations")).status_code == 401
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/v2/locations")
        assert (await http.get("/v2/locations")).status_code == 200
    async with client(emu, token="wrong") as http:
        denied = await http.get("/v2/locations")
    assert denied.json()["errors"][0] == {
        "category": "AUTHENTICATION_ERROR",
        "code": "UNAUTHORIZED",
        "detail": "This request could not be authorized.",
    }


async def test_catalog_upsert_checks_versions_and_the_account_lock() -> None:
    emu = SquareEmulator(VirtualClock(), catalog_write_s=5.0)
    vid = emu.seed_item("A", Decimal("1.00"), 1)
    obj = dict(emu.variations[vid])
    emu.edit_variation("A")
    async with client(emu) as http:
        conflict = await http.post(
            "/v2/catalog/batch-upsert", json={"idempotency_key": "u1", "batches": [{"objects": [obj]}]}
        )
        assert conflict.status_code == 400
        assert conflict.json()["errors"][0]["code"] == "VERSION_MISMATCH"
        emu.catalog_busy_until = emu.clock.monotonic() + 1  # another write is in progress
        fresh = {**emu.variations[vid]}
        locked = await http.post(
            "/v2/catalog/batch-upsert", json={"idempotency_key": "u2", "batches": [{"objects": [fresh]}]}
        )
    assert locked.status_code == 429
    assert locked.json()["errors"][0]["detail"] == "Catalog locked by prior request."


async def test_search_orders_rules_and_a_stable_cursor(emu: SquareEmulator) -> None:
    emu.seed_item("A", Decimal(1), 50)
    orders = []
    for _ in range(5):
        orders.append(emu.place_order("A", 1))
        emu.clock.advance(1)
    query = {"filter": {"date_time_filter": {"updated_at": {"start_at": "2020-01-01T00:00:00Z"}}}}
    async with client(emu) as http:
        wrong_sort = await http.post(
            "/v2/orders/search",
            json={
                "location_ids": [emu.first_location],
                "query": {**query, "sort": {"sort_field": "CREATED_AT"}},
            },
        )
        too_many = await http.post("/v2/orders/search", json={"location_ids": [f"L{n}" for n in range(11)]})
        body = {
            "location_ids": [emu.first_location],
            "limit": 2,
            "query": {**query, "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}},
        }
        first = (await http.post("/v2/orders/search", json=body)).json()
        emu.clock.advance(1)
        pickup = emu.open_pickup_order("A", 1)  # created after the first page: beyond the cursor's end
        emu.cancel_order(pickup)
        rest: list[str] = []
        cursor = first.get("cursor")
        while cursor:
            page = (await http.post("/v2/orders/search", json={**body, "cursor": cursor})).json()
            rest += [o["id"] for o in page.get("orders", [])]
            cursor = page.get("cursor")
    assert wrong_sort.status_code == 400
    assert too_many.status_code == 400
    assert [o["id"] for o in first["orders"]] + rest == orders
