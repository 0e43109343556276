"""Network round trip for the emulators, on their clock (virtual in tests and benchmarks).

Every built-in emulator serves its API through :class:`RoundTrip`: a request reaches the platform half
a round trip after it was sent, and its answer comes back half a round trip after the platform gave
it. The platform's state, rate limits and cost buckets therefore see each call when it *arrives*, as a
real one would, and a connector that waits for each answer before sending the next call pays the whole
round trip per call. ``round_trip`` is 0 unless asked for (tests keep it off; the push benchmarks
default to 150 ms), and may be changed at any time (``emulator.latency = 0.3``).

On loopback (``omnisync emulators``) the clock is the system's, so the delay is real.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from omnisync.clock import Clock

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class RoundTrip:
    """ASGI middleware: half of ``round_trip`` seconds before the app sees a request, the other half
    before its answer leaves (the first message the app sends)."""

    def __init__(self, app: App, clock: Clock, round_trip: float = 0.0) -> None:
        if round_trip < 0:
            raise ValueError(f"a round trip cannot be negative ({round_trip} s)")
        self.app = app
        self.clock = clock
        self.round_trip = round_trip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        half = self.round_trip / 2
        if scope.get("type") != "http" or half <= 0:
            await self.app(scope, receive, send)
            return
        await self.clock.sleep(half)  # the request on its way
        answered = False

        async def back(message: Message) -> None:
            nonlocal answered
            if not answered:
                answered = True
                await self.clock.sleep(half)  # the answer on its way
            await send(message)

        await self.app(scope, receive, back)


class WithLatency:
    """For an emulator whose ``app`` is a :class:`RoundTrip`: its round trip as ``latency``."""

    app: Any

    @property
    def latency(self) -> float:
        """Seconds between a call leaving the connector and its answer coming back, less the
        platform's own work (0: none)."""
        return float(self.app.round_trip)

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a round trip cannot be negative ({seconds} s)")
        self.app.round_trip = seconds
