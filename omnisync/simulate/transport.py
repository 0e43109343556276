"""The wire between the engine and an emulator: latency, outages, and what the simulation observes.

Every request waits a drawn latency on the virtual clock, is refused with 503 while its channel is
down, and is counted. Around the emulator's own handling the channel's quantities are read before
and after, minus what shoppers and the merchant did meanwhile, so every change a request made (a
push) is reported to ``on_change`` — how lost updates are measured without decoding any protocol.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from omnisync.clock import VirtualClock

from .channels import SimChannel

ChangeHook = Callable[[str, str, int, int], None]
"""(channel, channel SKU, quantity before, quantity after) of a change a request made."""


@dataclass
class WireStats:
    requests: int = 0
    refused_down: int = 0
    status: dict[int, int] = field(default_factory=dict)
    lost_answers: int = 0


class SimTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        channel: SimChannel,
        clock: VirtualClock,
        rng: random.Random,
        latency: tuple[float, float],
        skus: list[str],
        on_change: ChangeHook | None = None,
    ) -> None:
        self.channel = channel
        self.clock = clock
        self.rng = rng
        self.latency = latency
        self.skus = skus
        self.on_change = on_change
        self.down = False
        self.stats = WireStats()
        self._inner = channel.transport()

    def _snapshot(self) -> dict[str, tuple[int, int]]:
        ch = self.channel
        return {s: (ch.quantity(s) or 0, ch.external.get(s, 0)) for s in self.skus}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.stats.requests += 1
        low, high = self.latency
        if high > 0:
            await self.clock.sleep(self.rng.uniform(low, high))
        if self.down:
            self.stats.refused_down += 1
            return httpx.Response(503, json={"error": "service unavailable (simulated outage)"})
        before = self._snapshot() if self.on_change is not None else {}
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            self.stats.lost_answers += 1
            self._observe(before)
            raise
        await response.aread()
        self.stats.status[response.status_code] = self.stats.status.get(response.status_code, 0) + 1
        self._observe(before)
        return response

    def _observe(self, before: dict[str, tuple[int, int]]) -> None:
        if self.on_change is None:
            return
        for sku, (q_after, ext_after) in self._snapshot().items():
            q_before, ext_before = before[sku]
            pushed = (q_after - q_before) - (ext_after - ext_before)
            if pushed:
                self.on_change(self.channel.name, sku, q_after - pushed, q_after)

    async def aclose(self) -> None:
        await self._inner.aclose()
