"""``omnisync emulators``: the emulators of a sandbox config, served on loopback until stopped.

Every channel whose connector has a sandbox entry (:mod:`omnisync.sandbox`) and whose settings point
at a loopback port gets its emulator double on that port, built with the same options
``init --sandbox`` used, so the credentials and ids in the config are the ones it accepts. Each
emulator lists the catalogue's SKUs (no stock yet), as a shop's admin would before the first sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omnisync.config import LoadedConfig
from omnisync.sandbox import HOST, SandboxChannel, double_options, endpoint, loopback_port, sandbox_channel


@dataclass(frozen=True)
class Served:
    channel: str
    connector: str
    port: int

    @property
    def url(self) -> str:
        return endpoint(self.port)

    def row(self) -> dict[str, Any]:
        return {"channel": self.channel, "connector": self.connector, "url": self.url}


def emulated_channels(loaded: LoadedConfig) -> list[tuple[Served, SandboxChannel]]:
    """The channels of ``loaded`` an emulator can serve: a sandbox connector at a loopback port."""
    found = []
    for name, ch in loaded.config.channels.items():
        entry = sandbox_channel(ch.connector)
        port = loopback_port(ch.settings)
        if entry is not None and port is not None:
            found.append((Served(name, ch.connector, port), entry))
    return found


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {HOST}:{port}: {exc.strerror} (another `omnisync emulators`?)"
        ) from None
    return sock


async def serve(
    loaded: LoadedConfig,
    catalogue: list[tuple[str, Decimal]],
    on_ready: Callable[[list[Served]], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the emulators until ``stop`` is set (or SIGINT/SIGTERM when ``stop`` is None)."""
    from omnisync.clock import SystemClock
    from omnisync.demo.world import start_server
    from omnisync.testing.doubles import build_double
    from omnisync.testing.harness import SeedItem

    channels = emulated_channels(loaded)
    if not channels:
        raise LookupError(f"{loaded.path}: no channel points at an emulator on {HOST} (see `init --sandbox`)")
    stop = stop or _stop_on_signals()
    servers = []
    try:
        for served, entry in channels:
            double = build_double(entry.connector, SystemClock(), **double_options(entry, served.url))
            double.seed([SeedItem(sku, 0, price) for sku, price in catalogue])
            servers.append(await start_server(double.emulator.app, bind(served.port)))
        on_ready([served for served, _ in channels])
        await stop.wait()
    finally:
        for server, task in servers:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await task


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
