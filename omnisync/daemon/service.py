"""``omnisync run``: one asyncio process running the timetable, the HTTP surface and the leases.

SIGTERM and SIGINT set the stop event. Stopping lets the batch in flight finish (cycles are
shielded; each channel's lock is taken once more to be sure), stops uvicorn, hands the leases back
and closes the connectors; the return value is the exit code. A ``kill -9`` loses nothing either:
cursors, acknowledgements and movements are committed in the ledger's transactions, so a restart
resumes where the last commit left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog
import uvicorn
from starlette.applications import Starlette

from omnisync.config import DaemonConfig
from omnisync.engine.runtime import Engine
from omnisync.sdk.errors import ConfigurationError

from .http import create_app
from .lease import LeaseKeeper, default_worker_id
from .scheduler import Scheduler
from .sqs import consumers

if TYPE_CHECKING:
    from omnisync.alerts.service import AlertService

log = structlog.get_logger("omnisync.daemon")


@dataclass
class ServiceInfo:
    """Handed to ``on_ready`` once the daemon runs (the demo and the tests need the bound port)."""

    engine: Engine
    scheduler: Scheduler
    leases: LeaseKeeper | None
    app: Starlette | None
    host: str
    port: int | None


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: :func:`serve` owns SIGTERM/SIGINT."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.ready.set()


def uses_leases(engine: Engine, daemon: DaemonConfig) -> bool:
    """Leases on a shared (PostgreSQL) ledger, or whenever a worker id is configured."""
    return engine.ledger.engine.dialect.name == "postgresql" or daemon.worker_id is not None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _alerts(engine: Engine, scheduler: Scheduler, leases: LeaseKeeper | None) -> AlertService | None:
    """The alert job, judging only the channels this daemon works; on a shared ledger only the daemon
    holding the ``alerts`` job lease evaluates and sends."""
    if engine.config.alerts is None:
        return None
    from omnisync.alerts.service import alert_service

    holds = None
    if leases is not None:
        keeper = leases
        ttl = max(engine.config.alerts.every * 3, keeper.ttl)
        holds = partial(keeper.hold_job, "alerts", ttl)
    return alert_service(engine, works=scheduler.may_work, holds=holds)


async def serve(
    engine: Engine,
    daemon: DaemonConfig,
    *,
    stop: asyncio.Event | None = None,
    install_signals: bool = True,
    http: bool = True,
    on_ready: Callable[[ServiceInfo], None] | None = None,
) -> int:
    """Run the daemon until ``stop`` is set (or a signal arrives). Returns the exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if not engine.channels:
        await engine.start()
    leases: LeaseKeeper | None = None
    if uses_leases(engine, daemon):
        holder = daemon.worker_id or engine.worker_id or default_worker_id()
        engine.worker_id = engine.worker_id or holder
        leases = LeaseKeeper(engine.ledger, holder, list(engine.channels), daemon.lease_ttl, engine.clock)
    scheduler = Scheduler(engine, daemon, leases=leases)
    try:
        scheduler.alerts = _alerts(engine, scheduler, leases)
    except ConfigurationError:  # a notifier's secret is not set: said in one line by the caller
        await engine.aclose()
        raise

    app: Starlette | None = None
    server: QuietServer | None = None
    server_task: asyncio.Task[None] | None = None
    port: int | None = None
    if http:
        app = create_app(engine, daemon, scheduler, leases=leases)
        try:
            sock = _bind(daemon.host, daemon.port)
        except OSError as exc:
            log.error("daemon.bind_failed", host=daemon.host, port=daemon.port, error=str(exc))
            await engine.aclose()
            return 2
        port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5
        )
        server = QuietServer(config)
        server_task = loop.create_task(server.serve(sockets=[sock]))
        ready = loop.create_task(server.ready.wait())
        await asyncio.wait({ready, server_task}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if not server.started:
            log.error("daemon.http_failed")
            await engine.aclose()
            return 2

    handled: list[signal.Signals] = []
    if install_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)

    scheduler.start()
    queues_stop = asyncio.Event()
    queue_tasks = [loop.create_task(c.run(queues_stop)) for c in consumers(scheduler)]
    log.info(
        "daemon.started",
        channels=list(engine.channels),
        host=daemon.host if http else None,
        port=port,
        status_page=f"http://{daemon.host}:{port}/" if http else None,
        worker=leases.holder if leases else engine.worker_id,
    )
    if on_ready is not None:
        on_ready(ServiceInfo(engine, scheduler, leases, app, daemon.host, port))

    waiter = loop.create_task(stop.wait())
    watched: set[asyncio.Task[Any]] = {waiter}
    if server_task is not None:
        watched.add(server_task)
    await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if server_task is not None and server_task.done() and not stop.is_set():
        log.error("daemon.http_stopped_unexpectedly")
        code = 1
    waiter.cancel()

    log.info("daemon.stopping")
    for sig in handled:
        loop.remove_signal_handler(sig)
    if server is not None and server_task is not None:
        server.should_exit = True  # no new webhooks; answers in flight complete
        with contextlib.suppress(Exception):
            await server_task
    queues_stop.set()  # no new notifications; a batch in hand is taken in and deleted
    await asyncio.gather(*queue_tasks, return_exceptions=True)
    await scheduler.shutdown()  # the batch in flight finishes
    await engine.aclose()
    log.info("daemon.stopped", code=code)
    return code


__all__ = ["QuietServer", "ServiceInfo", "serve", "uses_leases"]
