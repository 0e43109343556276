"""The demo's world: the emulators served on loopback, the folder written, the ledger seeded, the
daemon started; and taken down again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from omnisync.clock import SystemClock
from omnisync.config import load_config
from omnisync.daemon.service import QuietServer, ServiceInfo, serve
from omnisync.engine.runtime import Engine
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger

from .channels import FACTORIES, HOST, DemoChannel, free_socket, with_notifications
from .folder import write_files
from .listings import templates
from .shoppers import Catalogue, seed_ledger, square_webhooks

EMULATOR_KEEP_ALIVE_S = 65
"""Idle seconds before an emulator closes a kept-alive connection. The platforms' front ends keep
them about a minute; uvicorn's default of 5 s equals httpx's own idle expiry, and a call made every
5 s then races the server's close of the connection it reuses."""


async def start_server(app: Any, sock: socket.socket) -> tuple[QuietServer, asyncio.Task[None]]:
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", timeout_keep_alive=EMULATOR_KEEP_ALIVE_S
    )
    server = QuietServer(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    ready = asyncio.get_running_loop().create_task(server.ready.wait())
    await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if not server.started:
        raise RuntimeError("an emulator did not start")
    return server, task


class WorldFailed(Exception):
    """The demo cannot run at all (no channel could be started, the daemon did not start)."""


@dataclass
class World:
    config: Path
    channels: list[DemoChannel]
    engine: Engine
    daemon_url: str
    notes: list[str]
    servers: list[tuple[QuietServer, asyncio.Task[None]]] = field(default_factory=list)
    webhook_posts: set[asyncio.Task[Any]] = field(default_factory=set)
    """The Square emulator's own notifications in flight."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    daemon: asyncio.Task[int] | None = None
    service: ServiceInfo | None = None
    sqs: Any = None
    """The loopback SQS carrying Amazon's notifications (None: Amazon is polled only)."""

    async def start_daemon(self) -> ServiceInfo:
        loop = asyncio.get_running_loop()
        started: asyncio.Future[ServiceInfo] = loop.create_future()
        self.daemon = loop.create_task(
            serve(
                self.engine,
                self.engine.config.daemon,
                stop=self.stop,
                install_signals=False,
                on_ready=started.set_result,
            )
        )
        waiting: set[asyncio.Future[Any]] = {started, self.daemon}
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if started not in done:
            raise WorldFailed("the daemon did not start")
        self.service = started.result()
        return self.service

    async def close(self) -> None:
        self.stop.set()
        if self.daemon is not None:
            with contextlib.suppress(Exception):
                await self.daemon
        for server, task in self.servers:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await task
        for ch in self.channels:
            client = getattr(ch.emulator, "demo_client", None)
            if client is not None:
                await client.aclose()
        if self.sqs is not None:
            self.sqs.__exit__(None, None, None)
        self.engine.ledger.engine.dispose()


async def open_world(folder: Path, catalogue: Catalogue) -> World:
    """Every channel whose emulator starts, on loopback, seeded with the catalogue at 0; the config
    written to ``folder`` and the ledger seeded; the daemon not started yet."""
    probe = free_socket()
    daemon_port = int(probe.getsockname()[1])
    probe.close()
    daemon_url = f"http://{HOST}:{daemon_port}"
    notes: list[str] = []
    channels: list[DemoChannel] = []
    for label, factory in FACTORIES.items():
        try:
            channels.append(factory(daemon_url))
        except Exception as exc:  # an unfinished connector must not stop the demo
            notes.append(f"{label} skipped: its emulator could not be started ({type(exc).__name__}: {exc})")
    if not channels:
        raise WorldFailed("no channel could be started")
    sqs = amazon_queue(channels, notes)
    for ch in channels:
        for sku, price, _wh, _store in catalogue.items:
            ch.seed(sku, 0, price)
    templates(channels)
    path = write_files(folder, channels, daemon_port)
    for ch in channels:
        os.environ.update(ch.secrets)
    loaded = load_config(path)
    engine = Engine(loaded, Ledger(make_engine(loaded.ledger_url())), clock=SystemClock())
    world = World(path, channels, engine, daemon_url, notes, sqs=sqs)
    for ch in channels:
        world.servers.append(await start_server(ch.emulator.app, ch.sock))
        if ch.connector == "square":
            square_webhooks(ch, world.webhook_posts)
    seed_ledger(engine, catalogue)
    return world


def amazon_queue(channels: list[DemoChannel], notes: list[str]) -> Any:
    """A loopback SQS (moto's server) carrying the Amazon channel's notifications, or None (no Amazon
    channel, or moto not installed: Amazon's orders then arrive by polling)."""
    amazon = next((ch for ch in channels if ch.connector == "amazon"), None)
    if amazon is None:
        return None
    from omnisync.testing.sqs import LocalSqs

    try:
        sqs = LocalSqs().__enter__()
    except ImportError:
        notes.append("Amazon notifications off: moto is not installed (pip install 'omnisync[demo]')")
        return None
    with_notifications(amazon, sqs.queue("omnisync-amazon"))
    return sqs
