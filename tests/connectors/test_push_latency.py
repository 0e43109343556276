"""Pushes with calls in flight over a network round trip (the emulators' ``latency``, virtual time):
the budget sets the pace, not the round trip, and the race-safe rules hold while calls overlap."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from omnisync_connectors.shopify import ShopifyConnector
from omnisync_connectors.shopify.connector import CALLS_IN_FLIGHT, MAX_INPUT_ARRAY
from omnisync_connectors.shopify.emulator import ShopifyEmulator
from omnisync_connectors.square.inventory import MAX_CHANGES
from shopify_fixtures import update
from square_fixtures import rig
from square_fixtures import update as square_update

from omnisync.clock import VirtualClock
from omnisync.sdk import ItemStatus
from omnisync.sdk.runtime import instantiate


def shop(clock: VirtualClock, latency: float, **options: float) -> tuple[ShopifyEmulator, ShopifyConnector]:
    emulator = ShopifyEmulator(clock, latency=latency, **options)
    connector = instantiate(
        ShopifyConnector, emulator.settings(), channel="shop", clock=clock, transport=emulator.transport()
    )
    assert isinstance(connector, ShopifyConnector)
    return emulator, connector


async def test_a_call_arrives_after_half_the_round_trip_and_is_answered_after_all_of_it() -> None:
    clock = VirtualClock()
    emulator, connector = shop(clock, latency=0.4)
    emulator.seed("A", 5)
    seen: list[int | None] = []

    async def look() -> None:
        for _ in range(3):
            await clock.sleep(0.15)
            seen.append(emulator.quantity("A"))

    async def push() -> tuple[ItemStatus, float]:
        results = await connector.push_inventory([update(emulator, "A", 9, 5)])
        return results[0].status, clock.monotonic()

    (status, answered), _ = await asyncio.gather(push(), look())
    assert status is ItemStatus.ACCEPTED
    assert answered == pytest.approx(0.4)
    assert seen == [5, 9, 9], "the shop changed at 0.2 s, when the call reached it"
    emulator.latency = 0.0
    before = clock.monotonic()
    await connector.push_inventory([update(emulator, "A", 3, 9)])
    assert clock.monotonic() == pytest.approx(before), "no round trip once it is set to 0"
    with pytest.raises(ValueError, match="negative"):
        emulator.latency = -1


async def test_shopify_keeps_its_mutations_in_flight_and_a_sale_meanwhile_is_stale() -> None:
    clock = VirtualClock()
    emulator, connector = shop(clock, latency=0.5)
    skus = [f"S{n:05d}" for n in range(MAX_INPUT_ARRAY * CALLS_IN_FLIGHT)]
    for sku in skus:
        emulator.seed(sku, 10)
    updates = [update(emulator, sku, 7, 10) for sku in skus]
    raced = skus[-1]  # in the last input array

    async def shopper() -> None:
        await clock.sleep(0.1)  # the calls are on their way; none has reached the shop
        emulator.place_order(raced, 2)

    results, _ = await asyncio.gather(connector.push_inventory(updates), shopper())
    # the array holding the raced item is answered with its userError and the rest sent again
    assert emulator.calls == CALLS_IN_FLIGHT + 1
    assert emulator.throttled == 0
    assert clock.monotonic() == pytest.approx(1.0), "two round trips for all of them, not one each"
    by_sku = {r.sku: r for r in results}
    assert by_sku[f"M-{raced}"].status is ItemStatus.STALE, "compare-and-set held with calls in flight"
    assert emulator.quantity(raced) == 8, "the sale is kept, not overwritten"
    accepted = [r for r in results if r.status is ItemStatus.ACCEPTED]
    assert len(accepted) == len(skus) - 1
    assert all(r.value == 7 for r in accepted)
    assert all(emulator.quantity(s) == 7 for s in skus[:-1])


async def test_shopify_calls_in_flight_stay_within_the_cost_bucket() -> None:
    """The model of the bucket counts the calls still on their way: an answer's figure does not hold
    them yet, and adopting it as it is would send into THROTTLED answers."""
    clock = VirtualClock()
    emulator, connector = shop(clock, latency=0.3, bucket_size=100)  # smaller than the plan's
    skus = [f"S{n:05d}" for n in range(2 * MAX_INPUT_ARRAY * CALLS_IN_FLIGHT)]
    for sku in skus:
        emulator.seed(sku, 10)
    await connector.push_inventory([update(emulator, skus[0], 10, 10)])  # the size learnt from an answer
    updates = [update(emulator, sku, 4, 10) for sku in skus]
    batch = ShopifyConnector.limits.push_inventory.max_batch
    for start in range(0, len(updates), batch):
        results = await connector.push_inventory(updates[start : start + batch])
        assert all(r.status is ItemStatus.ACCEPTED for r in results)
    calls = 1 + len(skus) // MAX_INPUT_ARRAY
    assert emulator.throttled == 0
    assert connector.context.stats.total_throttled == 0
    floor = (calls * 10 - 100) / 100  # the points beyond the first bucket, at 100 points/s
    # over the floor: the first call's round trip (the bucket refills to the brim meanwhile), the last
    # answer's way back and the model's caution (half a round trip of restore per answer); one call at
    # a time would take 33 round trips, 9.9 s
    assert floor < clock.monotonic() < floor + 3 * 0.3


async def test_square_keeps_its_batches_in_flight_and_a_floor_sale_meanwhile_is_stale() -> None:
    r = rig(latency=0.3)
    skus = [f"P{n:04d}" for n in range(MAX_CHANGES * 8)]
    for sku in skus:
        r.emulator.seed_item(sku, Decimal(1), 5)
    ids = await r.ids(*skus[:1000])
    began = r.clock.monotonic()
    updates = [square_update(sku, 9, 5, ids[sku], version=2) for sku in skus]
    raced = skus[-1]

    async def walk_in() -> None:
        await r.clock.sleep(0.05)  # before the batches reach Square
        r.emulator.place_order(raced, 1)

    results, _ = await asyncio.gather(r.connector.push_inventory(updates), walk_in())
    assert r.connector.context.stats.calls["push_inventory"] == 8
    assert r.clock.monotonic() - began < 2 * 0.3, "the eight batches overlapped"
    by_sku = {res.sku: res for res in results}
    assert (by_sku[f"M-{raced}"].status, by_sku[f"M-{raced}"].value) == (ItemStatus.STALE, 8), (
        "+4 on top of the sale"
    )
    assert r.emulator.quantity(raced) == 8
    assert sum(res.status is ItemStatus.ACCEPTED for res in results) == len(skus) - 1
