"""The daemon's consumer of a channel's notification queue (Amazon's through SQS, with boto3).

One loop per channel whose connector names a queue (``Connector.notification_queue``):

1. ``ReceiveMessage`` with long polling (``WaitTimeSeconds``) and a visibility timeout longer than the
   work of one batch, only while this daemon holds the channel (its lease);
2. the bodies parsed by the connector; one that fails to parse goes to the dead-letter queue (sent
   there, then deleted) or, without one, is left to the queue's own redrive policy;
3. the events handed to the scheduler (:meth:`Scheduler.notifications_received`): orders read alone
   and imported, pushes expedited;
4. ``DeleteMessageBatch`` for the messages whose work is committed, never before.

A failure anywhere leaves the messages on the queue: they are received again when their visibility
timeout ends. boto3 is blocking, so each call runs in a daemon thread of its own: a long poll in
flight never holds up a shutdown (its messages return to the queue after the timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from omnisync.engine.notifications import Received
from omnisync.logging import redact_text
from omnisync.sdk.models import NotificationQueue

from .scheduler import Scheduler

log = structlog.get_logger("omnisync.daemon.sqs")

T = TypeVar("T")
RETRY_AFTER_S = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0)
"""Waits after consecutive failures to reach the queue."""


def sqs_client(queue: NotificationQueue) -> Any:
    """A boto3 SQS client for the queue (credentials from the queue, else the AWS default chain)."""
    import boto3

    options: dict[str, Any] = {"region_name": queue.region}
    if queue.endpoint:
        options["endpoint_url"] = queue.endpoint
    if queue.access_key_id and queue.secret_access_key:
        options["aws_access_key_id"] = queue.access_key_id
        options["aws_secret_access_key"] = queue.secret_access_key
    return boto3.session.Session().client("sqs", **options)


async def in_thread(call: Callable[[], T]) -> T:
    """Run a blocking call in a daemon thread; the result or its exception comes back to the loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def run() -> None:
        try:
            value, error = call(), None
        except BaseException as exc:  # handed to the loop, raised there
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=run, name="omnisync-sqs", daemon=True).start()
    return await future


@dataclass
class ConsumerStats:
    received: int = 0
    deleted: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    failures: int = 0


async def take_in(
    scheduler: Scheduler, channel: str, bodies: Mapping[str, str]
) -> tuple[Received, list[str]]:
    """Messages (id -> body) of a channel's queue, taken in: parsed, their events handed to the
    scheduler. Returns the parse and the message ids whose work is committed (to delete)."""
    received = scheduler.engine.parse_notifications(channel, bodies)
    events = [e for found in received.events.values() for e in found]
    done = await scheduler.notifications_received(channel, events)
    finished = [mid for mid, found in received.events.items() if all(e.event_id in done for e in found)]
    return received, finished


class QueueConsumer:
    def __init__(
        self,
        scheduler: Scheduler,
        channel: str,
        queue: NotificationQueue,
        client: Any | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.channel = channel
        self.queue = queue
        self.client = client
        self.stats = ConsumerStats()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set."""
        if self.client is None:
            self.client = await in_thread(lambda: sqs_client(self.queue))
        failures = 0
        clock = self.scheduler.engine.clock
        while not stop.is_set():
            if not self.scheduler.may_work(self.channel):
                await _until(stop, clock.sleep(1.0))
                continue
            receive = asyncio.ensure_future(in_thread(self._receive))
            if not await _until(stop, receive):
                return  # shutting down: what that poll got comes back after its visibility timeout
            try:
                await self.handle(receive.result())
                failures = 0
            except Exception as exc:  # the messages stay on the queue; try again after a pause
                self.stats.failures += 1
                log.warning(
                    "notifications.failed",
                    channel=self.channel,
                    error=redact_text(f"{type(exc).__name__}: {exc}"),
                )
                await _until(stop, clock.sleep(RETRY_AFTER_S[min(failures, len(RETRY_AFTER_S) - 1)]))
                failures += 1

    def _receive(self) -> list[dict[str, Any]]:
        answer = self.client.receive_message(  # type: ignore[union-attr]
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=self.queue.max_messages,
            WaitTimeSeconds=self.queue.wait_time_s,
            VisibilityTimeout=self.queue.visibility_timeout_s,
        )
        messages: list[dict[str, Any]] = answer.get("Messages") or []
        return messages

    async def handle(self, messages: list[dict[str, Any]]) -> None:
        """One received batch: parse, take in, then delete what is committed."""
        if not messages:
            return
        self.stats.received += len(messages)
        engine = self.scheduler.engine
        bodies = {str(m["MessageId"]): str(m.get("Body", "")) for m in messages}
        handles = {str(m["MessageId"]): str(m["ReceiptHandle"]) for m in messages}
        received = engine.parse_notifications(self.channel, bodies)
        self.stats.duplicates += received.duplicates
        if received.unparsable:
            await self._dead_letter(received.unparsable, bodies, handles)
        events = [e for found in received.events.values() for e in found]
        done = await self.scheduler.notifications_received(self.channel, events)
        finished = [mid for mid, found in received.events.items() if all(e.event_id in done for e in found)]
        await self._delete([handles[mid] for mid in finished])

    async def _dead_letter(
        self, unparsable: dict[str, str], bodies: dict[str, str], handles: dict[str, str]
    ) -> None:
        for message_id, reason in unparsable.items():
            log.warning("notifications.unparsable", channel=self.channel, message=message_id, reason=reason)
        if self.queue.dead_letter_url is None:
            return  # the queue's redrive policy moves them after maxReceiveCount receives
        dead = self.queue.dead_letter_url

        def move() -> None:
            for message_id in unparsable:
                self.client.send_message(QueueUrl=dead, MessageBody=bodies[message_id])  # type: ignore[union-attr]

        await in_thread(move)
        self.stats.dead_lettered += len(unparsable)
        await self._delete([handles[mid] for mid in unparsable])

    async def _delete(self, receipt_handles: list[str]) -> None:
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start : start + 10]
            entries = [{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(chunk)]

            def delete(entries: list[dict[str, str]] = entries) -> Any:
                return self.client.delete_message_batch(QueueUrl=self.queue.url, Entries=entries)  # type: ignore[union-attr]

            answer = await in_thread(delete)
            failed = answer.get("Failed") or []
            self.stats.deleted += len(chunk) - len(failed)
            if failed:  # received again later; the notification ids make that a no-op
                log.warning("notifications.delete_failed", channel=self.channel, messages=len(failed))


async def _until(stop: asyncio.Event, work: Any) -> bool:
    """Await ``work`` unless ``stop`` is set first. Returns whether ``work`` finished."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task not in done:
        task.cancel()
        return False
    return True


def consumers(scheduler: Scheduler) -> list[QueueConsumer]:
    """A consumer for every channel whose connector names a notification queue."""
    out = []
    for name, rt in scheduler.engine.channels.items():
        queue = rt.connector.notification_queue()
        if queue is not None:
            out.append(QueueConsumer(scheduler, name, queue))
    return out


__all__ = ["ConsumerStats", "QueueConsumer", "consumers", "in_thread", "sqs_client", "take_in"]
