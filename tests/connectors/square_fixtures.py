"""Shared helpers for the Square connector tests (not a test module)."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from omnisync_connectors.square import SquareConnector
from omnisync_connectors.square.emulator import SquareEmulator

from omnisync.clock import VirtualClock
from omnisync.sdk import InventoryUpdate, PriceUpdate, idempotency_key
from omnisync.sdk.runtime import instantiate

CHANNEL = "pos"


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    request: dict[str, Any] | None
    status: int
    response: dict[str, Any] | None


def request_json(request: httpx.Request) -> dict[str, Any] | None:
    """The request's JSON body; of a multipart request (CreateCatalogImage), its ``request`` part."""
    content = request.read()
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        return json.loads(content) if content else None
    message = BytesParser(policy=email_policy).parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + content)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "request":
            return json.loads(part.get_payload(decode=True))  # type: ignore[no-any-return, arg-type]
    return None


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64, 128))


class ImageServer:
    """Image files served on loopback by a thread of the test (the connector fetches them as it would
    a merchant's image host; never the internet). ``files``: path -> (content type, bytes)."""

    def __init__(self, files: dict[str, tuple[str, bytes]], *, etags: bool = True) -> None:
        self.files = files
        self.hits: list[str] = []
        self.answers: list[tuple[str, int]] = []  # (path, status), as the host answered
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                path = self.path.split("?")[0]
                found = server.files.get(path)
                if found is None:
                    server.answers.append((path, 404))
                    self.send_error(404)
                    return
                etag = '"' + hashlib.sha256(found[1]).hexdigest()[:16] + '"'
                if etags and self.headers.get("If-None-Match") == etag:
                    server.answers.append((path, 304))
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                server.answers.append((path, 200))
                self.send_response(200)
                if etags:
                    self.send_header("ETag", etag)
                self.send_header("Content-Type", found[0])
                self.send_header("Content-Length", str(len(found[1])))
                self.end_headers()
                self.wfile.write(found[1])

            def log_message(self, *_: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> ImageServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """Wraps a transport and keeps every request and answer, for assertions and spec validation."""

    inner: httpx.AsyncBaseTransport
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        raw = await response.aread()
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                dict(request.headers),
                request_json(request),
                response.status_code,
                json.loads(raw) if raw else None,
            )
        )
        return httpx.Response(response.status_code, headers=response.headers, content=raw, request=request)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [e.request or {} for e in self.exchanges if e.path == path]


@dataclass
class Rig:
    clock: VirtualClock
    emulator: SquareEmulator
    connector: SquareConnector
    recorder: Recorder

    async def ids(self, *skus: str) -> dict[str, dict[str, str]]:
        return {li.channel_sku: dict(li.ids) for li in await self.connector.read_listings(list(skus))}


def rig(*, settings: dict[str, Any] | None = None, **emulator_args: Any) -> Rig:
    clock = VirtualClock()
    emulator = SquareEmulator(clock, **emulator_args)
    recorder = Recorder(emulator.transport())
    connector = instantiate(
        SquareConnector,
        emulator.settings(**(settings or {})),
        channel=CHANNEL,
        clock=clock,
        transport=recorder,
    )
    assert isinstance(connector, SquareConnector)
    return Rig(clock, emulator, connector, recorder)


def update(
    sku: str,
    quantity: int,
    previous: int | None,
    ids: dict[str, str],
    *,
    version: int = 1,
    location: str = "STORE1",
) -> InventoryUpdate:
    return InventoryUpdate(
        sku=f"M-{sku}",
        channel_sku=sku,
        quantity=quantity,
        previous=previous,
        version=version,
        idempotency_key=idempotency_key(CHANNEL, f"M-{sku}", version),
        ids=ids,
        location=location,
    )


def price(
    sku: str, amount: str, ids: dict[str, str], *, currency: str = "USD", version: int = 1
) -> PriceUpdate:
    return PriceUpdate(
        sku=f"M-{sku}",
        channel_sku=sku,
        price=Decimal(amount),
        currency=currency,
        version=version,
        idempotency_key=idempotency_key(CHANNEL, f"M-{sku}", version, kind="price"),
        ids=ids,
    )
