"""Pipelined pushes (``OperationLimits.in_flight`` > 1): a push does not wait for an earlier one to
settle, one product is never in two pushes at once, and a reconcile waits for the pushes in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from enginekit import World

from omnisync.engine.channel import ChannelRuntime
from omnisync.engine.gate import ChannelGate
from omnisync.engine.runtime import CycleReport
from omnisync.sdk.models import InventoryRef, InventoryUpdate, ItemResult

T = TypeVar("T")
LIMIT_S = 10.0


class HeldPushes:
    """Wraps a channel's push: a push carrying a held SKU waits until the test lets it settle."""

    def __init__(self, rt: ChannelRuntime, slots: int = 2) -> None:
        connector = rt.connector
        connector.limits = replace(  # type: ignore[misc]
            connector.limits, push_inventory=replace(connector.limits.push_inventory, in_flight=slots)
        )
        rt.gate = ChannelGate(rt.push_slots)
        self.held: set[str] = set()
        self.settle = asyncio.Event()
        self.sent: list[dict[str, int]] = []
        original = connector.push_inventory

        async def push(updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
            self.sent.append({u.sku: u.quantity for u in updates})
            if self.held & {u.sku for u in updates}:
                await self.settle.wait()
            return await original(updates)

        connector.push_inventory = push  # type: ignore[method-assign]
        self.reads_in_flight = 0
        """Live reads made while a push was in flight (a reconcile must wait for it)."""
        read = connector.read_inventory

        async def read_inventory(refs: Sequence[InventoryRef]) -> dict[str, int | None]:
            self.reads_in_flight += bool(rt.in_flight)
            return await read(refs)

        connector.read_inventory = read_inventory  # type: ignore[method-assign]


def floor_sale(w: World, sku: str, units: int, key: str) -> None:
    with w.ledger.tx() as tx:
        tx.record_movement(sku, "WH", "sale", -units, key, at=w.clock.now())


async def done(work: Awaitable[T]) -> T:
    """Awaits ``work``; a push that wrongly waits for another fails the test instead of hanging it
    (the time limit is real, but only a failing test ever reaches it)."""
    return await asyncio.wait_for(work, LIMIT_S)


async def until(condition: object, what: str) -> None:
    for _ in range(200):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


async def mug_in_flight(
    folder: Path, url: str, catalogue: dict[str, tuple[int, int]], units: int
) -> tuple[World, ChannelRuntime, HeldPushes, asyncio.Future[CycleReport]]:
    """Two synced channels, web pipelined; ``units`` of MUG sold, and web's push of MUG held in flight."""
    w = World(folder, url)
    await w.start(catalogue)
    assert all(r.ok for r in (await w.engine.sync_once()).values())
    rt = w.engine.channels["web"]
    held = HeldPushes(rt)
    held.held.add("MUG")
    floor_sale(w, "MUG", units, "s1")
    first = asyncio.ensure_future(w.engine.cycle("web", pull=False))
    await until(lambda: rt.in_flight, "the MUG push is in flight")
    return w, rt, held, first


async def test_a_push_goes_while_another_settles_and_a_pair_in_flight_follows_it(
    tmp_path: Path, ledger_url: str
) -> None:
    w, rt, held, first = await mug_in_flight(tmp_path, ledger_url, {"MUG": (10, 0), "TEE": (10, 0)}, 1)
    assert w.web.items["WEB-MUG"].quantity == 9  # WH 10 - 1 buffer unit, until the push settles

    floor_sale(w, "TEE", 2, "s2")  # another product: its push does not wait for MUG's
    second = await done(w.engine.cycle("web", pull=False))
    assert second.ok
    assert second.push.accepted == 1
    assert second.push.deferred == 0
    assert w.web.items["TEE"].quantity == 7
    assert not first.done()

    floor_sale(w, "MUG", 3, "s3")  # MUG changes again while its push is in flight: it waits
    third = await done(w.engine.cycle("web", pull=False))
    assert third.ok
    assert third.push.pushed == 0
    assert third.push.deferred == 1
    assert [sent.get("MUG") for sent in held.sent] == [8, None]  # MUG was sent once, at 8

    held.settle.set()
    settled = await done(first)
    assert settled.ok
    assert settled.push.accepted == 1
    assert settled.push.again, "the push carrying MUG asks for the one that follows it"
    assert not rt.in_flight
    assert not rt.deferred
    assert w.web.items["WEB-MUG"].quantity == 8
    follow = await done(w.engine.cycle("web", pull=False))
    assert follow.ok
    assert follow.push.accepted == 1
    assert w.web.items["WEB-MUG"].quantity == 5  # WH 10 - 4 sold - 1 buffer unit
    assert (await done(w.engine.cycle("web", pull=False))).push.pushed == 0
    await w.engine.aclose()


async def test_a_push_in_flight_unchanged_since_is_neither_deferred_nor_settled_by_another(
    tmp_path: Path, ledger_url: str
) -> None:
    w, _rt, held, first = await mug_in_flight(tmp_path, ledger_url, {"MUG": (10, 0), "TEE": (10, 0)}, 1)
    floor_sale(w, "TEE", 1, "s2")
    other = await done(w.engine.cycle("web", pull=False))
    assert other.push.deferred == 0
    assert other.push.accepted == 1
    held.settle.set()
    settled = await done(first)
    assert settled.push.accepted == 1
    assert not settled.push.again
    assert w.web.items["WEB-MUG"].quantity == 8
    await w.engine.aclose()


async def test_a_reconcile_waits_for_the_pushes_in_flight(tmp_path: Path, ledger_url: str) -> None:
    w, _rt, held, push = await mug_in_flight(tmp_path, ledger_url, {"MUG": (10, 0)}, 2)
    held.held.clear()  # the reconcile's own push is not held: only the wait can stop it
    reconcile = asyncio.ensure_future(w.engine.reconcile("web"))
    for _ in range(50):
        await asyncio.sleep(0)
    assert not reconcile.done(), "a reconcile waits while a push is in flight"
    held.settle.set()
    assert (await done(push)).ok
    report = await done(reconcile)
    assert report.ok
    assert report.drift == 0
    assert held.reads_in_flight == 0, "a reconcile reads live values only once nothing is in flight"
    assert w.web.items["WEB-MUG"].quantity == 7
    await w.engine.aclose()
