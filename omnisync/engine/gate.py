"""One gate per channel: who works on the channel now, and who waits.

The engine holds the gate while it works on a channel; the scheduler asks the same gate before it
queues a run, so concurrency is decided in one place. Three lanes, each a kind of work:

- ``pull``: one at a time (the order cursor moves in order). A live read holds it with the pull that
  follows it, so an order the read already holds is imported knowing so.
- ``push``: as many as the connector takes in flight (``limits.push_inventory.in_flight``).
- ``reconcile``: one at a time.
- ``listings``: one at a time; listing content (create, update, unpublish) never holds the plan lock,
  so a bulk listing job never holds back a stock push.

A pull never waits for a push nor a push for a pull: a cost-paced order pull must not hold back the
decrease another channel's sale calls for. Pushes and reconciles also share :attr:`ChannelGate.lock`
while they plan, so two plans of one channel never interleave.

At most one run of a lane waits behind the ones running (:meth:`ChannelGate.queue`): a burst of
webhooks costs one extra pull, not one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

Lane = Literal["pull", "push", "reconcile", "listings"]
LANES: tuple[Lane, ...] = ("pull", "push", "reconcile", "listings")


class ChannelGate:
    def __init__(self, push_slots: int = 1) -> None:
        self.push_slots = max(1, push_slots)
        self.lock = asyncio.Lock()
        """Held by whatever plans pushes for the channel (a push cycle, a reconcile)."""
        self._lanes: dict[Lane, asyncio.Semaphore] = {
            "pull": asyncio.Semaphore(1),
            "push": asyncio.Semaphore(self.push_slots),
            "reconcile": asyncio.Semaphore(1),
            "listings": asyncio.Semaphore(1),
        }
        self._queued: dict[Lane, object] = {}

    def queue(self, lane: Lane) -> object | None:
        """Ask for a run of ``lane``: a ticket, or None when a run is already waiting (it will cover
        this one). The run stops waiting when it enters the lane (:meth:`enter`) or gives its ticket
        back (:meth:`unqueue`)."""
        if lane in self._queued:
            return None
        ticket = self._queued[lane] = object()
        return ticket

    def unqueue(self, lane: Lane, ticket: object) -> None:
        """The queued run gave up before entering (a later ticket stays queued)."""
        if self._queued.get(lane) is ticket:
            del self._queued[lane]

    def queued(self, lane: Lane) -> bool:
        return lane in self._queued

    def busy(self, lane: Lane) -> bool:
        """Whether ``lane`` has no free slot now."""
        return self._lanes[lane].locked()

    @asynccontextmanager
    async def enter(self, lane: Lane) -> AsyncIterator[None]:
        """Hold a slot of ``lane`` (waiting for one); a run queued for the lane is then running."""
        async with self._lanes[lane]:
            self._queued.pop(lane, None)
            yield
