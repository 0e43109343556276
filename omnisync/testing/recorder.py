"""A transport wrapper that counts and records every request a connector sends, on the harness clock.

The conformance kit puts it between the connector's HTTP client and the harness's transport, so it
can check what was *sent* (a request after a 401, a batch sent twice, retries too close together),
not only what the connector answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from omnisync.clock import Clock


@dataclass(frozen=True)
class Sent:
    at: float
    """The clock's monotonic time when the request reached the transport."""
    method: str
    url: str
    operation: str
    body: bytes
    status: int | None
    """The answer's status; None when the transport raised (a timeout)."""


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    clock: Clock
    sent: list[Sent] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        at = self.clock.monotonic()
        operation = str(request.extensions.get("omnisync.operation", "default"))
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError:
            self.sent.append(Sent(at, request.method, str(request.url), operation, body, None))
            raise
        self.sent.append(Sent(at, request.method, str(request.url), operation, body, response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def since(self, mark: int) -> list[Sent]:
        """Requests sent after ``mark`` (a length of ``sent`` taken earlier)."""
        return self.sent[mark:]
