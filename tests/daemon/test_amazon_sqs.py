"""Amazon's notifications through a real SQS (moto's server on loopback, boto3): the engine subscribes,
the emulator publishes into the queue as its orders change, the daemon's consumer long-polls it and an
ORDER_CHANGE becomes a targeted getOrder + getOrderItems read imported through the one intake, the
other channel pushed at once; messages are deleted only after the import, duplicates cost nothing,
unparsable ones go to the dead-letter queue, a quantity that disagrees is read live.

Timetable jobs never fire here (polling would find the orders too): what is seen is the queue's path.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from amazonworld import AmazonWorld

from omnisync.daemon.scheduler import Scheduler
from omnisync.daemon.sqs import QueueConsumer
from omnisync.testing.sqs import LocalQueue, LocalSqs

SKUS = ["TEE-0", "TEE-1"]


class NoTimetable:
    """The scheduler's jobs never fire: only the queue moves orders in this test."""

    def every(self, *args: Any) -> None: ...
    def cron(self, *args: Any) -> None: ...
    def start(self) -> None: ...
    def shutdown(self) -> None: ...
    def jobs(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def sqs() -> Iterator[LocalSqs]:
    with LocalSqs() as local:
        yield local


class World(AmazonWorld):
    def __init__(self, folder: Path, queue: LocalQueue) -> None:
        notifications = queue.settings(wait_time_s=1, aws_secret_access_key="${AWS_SECRET}")
        super().__init__(
            folder, amazon_settings={"notifications": notifications}, env={"AWS_SECRET": "testing"}
        )
        self.queue = queue
        self.amazon.attach_queue(queue.arn, queue.sink())
        self.scheduler = Scheduler(self.engine, self.daemon_config, timetable=NoTimetable())
        self.stop = asyncio.Event()
        self.consumer: QueueConsumer | None = None
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        await self.start(SKUS, 8)  # subscribes: destination + ORDER_CHANGE + quantity change
        await self.sync()
        self.scheduler.start(kickoff=False)
        queue = self.engine.channels["amazon"].connector.notification_queue()
        assert queue is not None
        self.consumer = QueueConsumer(self.scheduler, "amazon", queue)
        self.task = asyncio.get_running_loop().create_task(self.consumer.run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task
        await self.scheduler.shutdown()
        await super().close()

    def ledger_available(self, sku: str) -> int:
        return sum(on - held for on, held in self.stock(sku).values())


async def until(check: Callable[[], bool], within_s: float = 15.0) -> None:
    """Wait in real time (the queue is real) until ``check`` holds."""
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def world(tmp_path: Path, sqs: LocalSqs, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    w = World(tmp_path, sqs.queue(f"amz-{request.node.name[-40:].replace('_', '-')}"))
    await w.run()
    yield w
    await w.close()


async def test_an_amazon_order_arrives_through_the_queue_and_reaches_the_web_store(world: World) -> None:
    assert set(world.amazon.subscriptions) == {"ORDER_CHANGE", "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"}
    assert world.web.items["TEE-0"].quantity == 8
    pulls = world.amazon.calls["getOrders"]
    # (an order within seconds of a push counts as maybe in it: its quantity notification would then
    # disagree and have the pair read live; see test_a_quantity_other_than_acknowledged_is_read_live)
    world.clock.advance(60)
    order_id = world.amazon.place_order("TEE-0", 3)
    await until(lambda: order_id in world.imported())
    await world.scheduler.drain()  # the expedited push to the web store
    assert world.web.items["TEE-0"].quantity == 5
    assert world.amazon.calls["getOrders"] == pulls, "a targeted read, not a pull"
    assert world.amazon.calls["getOrder"] == 1
    assert world.amazon.calls["getOrderItems"] == 1
    stats = world.consumer.stats if world.consumer else None
    assert stats is not None
    await until(lambda: stats.deleted == 4)  # deleted once imported (with the opening push's two)
    assert world.queue.depth() == (0, 0)
    assert stats.received == 4

    world.amazon.cancel_order(order_id)
    await until(lambda: world.amazon.calls["getOrder"] == 2)
    await until(lambda: world.queue.depth() == (0, 0))
    assert world.ledger_available("TEE-0") == 8, "the cancellation released the reservation"


async def test_a_redelivered_notification_costs_no_second_read(world: World, sqs: LocalSqs) -> None:
    world.clock.advance(60)
    order_id = world.amazon.place_order("TEE-1", 1)
    await until(lambda: order_id in world.imported())
    await until(lambda: world.queue.depth() == (0, 0))
    again = next(m for m in world.amazon.published if m["NotificationType"] == "ORDER_CHANGE")
    sqs.client().send_message(QueueUrl=world.queue.url, MessageBody=json.dumps(again))
    await until(lambda: world.queue.depth() == (0, 0))
    assert world.consumer is not None
    assert world.consumer.stats.duplicates == 1
    assert world.amazon.calls["getOrder"] == 1


async def test_an_unparsable_message_goes_to_the_dead_letter_queue(world: World, sqs: LocalSqs) -> None:
    sqs.client().send_message(QueueUrl=world.queue.url, MessageBody="{not a notification")
    await until(lambda: world.queue.depth(world.queue.dead_letter_url)[0] == 1)
    await until(lambda: world.queue.depth() == (0, 0))
    assert world.consumer is not None
    assert world.consumer.stats.dead_lettered == 1


async def test_a_failed_read_leaves_the_message_on_the_queue(world: World, sqs: LocalSqs) -> None:
    from omnisync.testing.harness import Fault

    world.clock.advance(60)
    world.amazon.fail_next(Fault.SERVER_ERROR, times=5)  # every attempt of the getOrder call fails
    order_id = world.amazon.place_order("TEE-0", 1)
    await until(lambda: world.amazon.calls["getOrder"] >= 5)
    stats = world.consumer.stats if world.consumer else None
    assert stats is not None
    # the quantity notification deleted, the order's kept: it comes back after its visibility timeout
    # (the pull the quantity's live read asks for may import the order meanwhile: then a no-op)
    await until(lambda: stats.received - stats.deleted == 1)
    assert world.queue.depth() == (0, 1)
    order_change = next(m for m in world.amazon.published if m["Payload"].get("OrderChangeNotification"))
    with world.ledger.read() as conn:
        cid = world.ledger.channel_id(conn, "amazon")
        event_id = order_change["NotificationMetadata"]["NotificationId"]
        assert world.ledger.seen_webhooks(conn, cid, [event_id]) == set(), "not remembered either"
    assert order_id


async def test_a_quantity_other_than_acknowledged_is_read_live(world: World, sqs: LocalSqs) -> None:
    # the seller changes the quantity in Seller Central: Amazon notifies, the pair is read and corrected
    value = [{"fulfillment_channel_code": "DEFAULT", "quantity": 2}]
    patch = [{"op": "replace", "path": "/attributes/fulfillment_availability", "value": value}]
    world.amazon.patch("TEE-1", "SHIRT", patch, world.clock.now())
    reads = world.amazon.calls["getListingsItem"]
    pulls = world.amazon.calls["getOrders"]
    await until(lambda: world.amazon.calls["getListingsItem"] > reads)
    await world.scheduler.drain()
    # the read may hold sales not imported yet: the raise waits for the pull it asked for, then goes
    assert world.amazon.calls["getOrders"] == pulls + 1
    assert world.amazon.quantity("TEE-1") == 2
    await world.scheduler.push("amazon")
    assert world.amazon.quantity("TEE-1") == 8, "the ledger's 8, back on Amazon"
