"""The demo's run: the emulators served, the daemon started, the shoppers let in, the verdict."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import uvicorn

from omnisync.clock import SystemClock
from omnisync.config import load_config
from omnisync.daemon.service import QuietServer, ServiceInfo, serve
from omnisync.engine.runtime import Engine
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.logging import configure

from .channels import FACTORIES, HOST, DemoChannel, free_socket
from .folder import folder_refusal, fresh_ledger, write_files
from .shoppers import make_catalogue, seed_ledger, shop, square_webhooks
from .verdict import print_verdict, verdict

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


async def guarded(work: Awaitable[Any], notes: list[str]) -> None:
    try:
        await work
    except Exception as exc:  # a connector bug: reported in the notes, judged by the verdict
        notes.append(f"final sync failed: {type(exc).__name__}: {exc}")


async def run(folder: Path, seconds: float, skus: int, seed: int) -> tuple[dict[str, Any], int]:
    rng = random.Random(seed)
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
        return {"ok": False, "problems": ["no channel could be started"], "notes": notes, "channels": {}}, 1

    catalogue = make_catalogue(rng, skus)
    for ch in channels:
        for sku, price, _wh, _store in catalogue.items:
            ch.seed(sku, 0, price)
    path = write_files(folder, channels, daemon_port)
    for ch in channels:
        os.environ.update(ch.secrets)

    servers: list[tuple[QuietServer, asyncio.Task[None]]] = []
    webhook_posts: set[asyncio.Task[Any]] = set()
    for ch in channels:
        servers.append(await start_server(ch.emulator.app, ch.sock))
        if ch.connector == "square":
            square_webhooks(ch, webhook_posts)

    loaded = load_config(path)
    ledger = Ledger(make_engine(loaded.ledger_url()))
    engine = Engine(loaded, ledger, clock=SystemClock())
    seed_ledger(engine, catalogue)

    stop = asyncio.Event()
    started: asyncio.Future[ServiceInfo] = asyncio.get_running_loop().create_future()
    daemon = asyncio.get_running_loop().create_task(
        serve(engine, loaded.config.daemon, stop=stop, install_signals=False, on_ready=started.set_result)
    )
    waiting: set[asyncio.Future[Any]] = {started, daemon}
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if started not in done:
        return {"ok": False, "problems": ["the daemon did not start"], "notes": notes, "channels": {}}, 1
    info = started.result()
    await info.scheduler.drain()  # the kick-off: first pull and the initial push of every channel

    # A channel whose connector fails its first cycle (unfinished code, ...) is left out of the
    # shopping and the verdict, with a note; the daemon keeps retrying it behind its breaker.
    for ch in list(channels):
        health = engine.channels[ch.name].health
        if health.state not in ("ok", "idle"):
            notes.append(f"{ch.name} ({ch.connector}) skipped: its first cycle failed: {health.last_error}")
            channels.remove(ch)
    if not channels:
        stop.set()
        await daemon
        return {"ok": False, "problems": ["no channel is usable"], "notes": notes, "channels": {}}, 1

    loop = asyncio.get_running_loop()
    skus_list = [item[0] for item in catalogue.items]
    rate = max(1.0, min(8.0, skus / 40))
    await shop(channels, skus_list, rng, loop.time() + seconds, daemon_url, rate)
    if webhook_posts:
        await asyncio.gather(*list(webhook_posts), return_exceptions=True)

    # The shoppers are gone: one last full sync and reconcile, then the verdict.
    usable = [ch.name for ch in channels]
    await guarded(engine.sync_once(usable), notes)
    await asyncio.gather(*(guarded(engine.reconcile(name), notes) for name in usable))
    await guarded(engine.sync_once(usable), notes)
    summary = verdict(engine, channels, catalogue, notes, seconds)
    stop.set()
    await daemon
    for server, task in servers:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
    for ch in channels:
        client = getattr(ch.emulator, "demo_client", None)
        if client is not None:
            await client.aclose()
    ledger.engine.dispose()
    return summary, 0 if summary["ok"] else 1


def run_demo(
    folder: Path,
    *,
    seconds: float = 60,
    skus: int = 300,
    as_json: bool = False,
    seed: int = 7,
    force: bool = False,
) -> int:
    """Run the demo; print the summary table (or JSON); 0 when every invariant holds.

    A folder holding a config or ledger the demo did not create is refused (exit 2) unless ``force``."""
    folder = Path(folder).resolve()
    refusal = None if force else folder_refusal(folder)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    configure(level="warning", json=False)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: maximum instances" is noise here
    folder.mkdir(parents=True, exist_ok=True)
    fresh_ledger(folder)
    summary, code = asyncio.run(run(folder, seconds, skus, seed))
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print_verdict(summary, folder)
    return code
