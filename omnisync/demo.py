"""``omnisync demo``: the four channels' emulators on loopback, the daemon, simulated shoppers.

What a newcomer runs first. It starts the Shopify, Amazon, Square and Instagram emulators on free
loopback ports (real HTTP, the system clock), writes ``omnisync.yaml`` and the mapping files into a
folder (secrets as ``${VAR}``, set in-process to the emulators' demo values), seeds a SQLite ledger
with a catalogue in a warehouse and a store, and runs the daemon while shoppers buy on every online
channel and walk-in customers buy at the POS. Then the shoppers stop, a final sync and reconcile run,
and a table per channel is printed. The exit code is 0 only if the invariants hold:

* no oversell: no SKU's reservations and sales exceed its stock in the ledger;
* no lost or duplicated order: every order placed on a channel is in the ledger exactly once;
* converged: every channel shows what the ledger says it should offer.

The folder is left behind, so ``omnisync status|plan|explain -c FOLDER/omnisync.yaml`` work on it.
A channel whose connector or emulator cannot be loaded is skipped with a printed note.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from omnisync import invariants
from omnisync.clock import SystemClock
from omnisync.config import load_config
from omnisync.daemon.service import QuietServer, ServiceInfo, serve
from omnisync.engine.runtime import Engine
from omnisync.ledger import queries
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.logging import configure
from omnisync.testing.doubles import build_double
from omnisync.testing.harness import EmulatorDouble, SeedItem

HOST = "127.0.0.1"
CURRENCY = "EUR"


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.set_inheritable(True)
    return sock


@dataclass
class DemoChannel:
    """One channel of the demo: its emulator double on loopback and what the config says about it."""

    name: str
    connector: str
    double: EmulatorDouble
    sock: socket.socket
    config: dict[str, Any]
    """The channel's entry in omnisync.yaml (settings with ``${VAR}`` for secrets)."""
    secrets: dict[str, str]
    """Environment variable -> demo value."""
    mapping: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    """Relative share of the simulated shoppers."""
    walk_in: bool = False
    placed: list[str] = field(default_factory=list)
    refused: int = 0

    @property
    def emulator(self) -> Any:
        return self.double.emulator

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def seed(self, sku: str, quantity: int, price: Decimal) -> None:
        self.double.seed([SeedItem(sku, quantity, price)])

    def quantity(self, sku: str) -> int | None:
        return self.double.channel_quantity(sku)

    def buy(self, sku: str, quantity: int) -> str:
        return self.double.place_order(sku, quantity)

    def webhook(self, order_id: str) -> tuple[dict[str, str], bytes] | None:
        """The signed webhook a shopper's order sends to the daemon (None: the channel sends none)."""
        hook = self.double.webhook(order_id)
        return None if hook is None else (hook[0], hook[1])


def _schedule(pull: str, push: str, **extra: Any) -> dict[str, Any]:
    # A reconcile reads every listing live (Amazon: one getListingsItem a SKU at 5 a second, then an
    # order pull on getOrders' budget): every 5 minutes, not back to back with itself.
    return {"pull_every": pull, "push_every": push, "reconcile_every": "300s", **extra}


# -- the channels: one emulator double per built-in connector (omnisync.emulators) ------------------
def _double(
    connector: str, sock: socket.socket | None = None, **options: Any
) -> tuple[EmulatorDouble, socket.socket, dict[str, Any]]:
    """The connector's emulator double on the system clock, its loopback socket and the settings that
    reach it there. Loaded late, so that an unfinished connector costs only its own channel."""
    double = build_double(connector, SystemClock(), **options)
    sock = sock or _free_socket()
    return double, sock, double.endpoint_settings(f"http://{HOST}:{sock.getsockname()[1]}")


def _shopify(daemon_url: str, plan: str = "standard") -> DemoChannel:
    double, sock, settings = _double("shopify", sources=["WH"], currency=CURRENCY, plan=plan)
    emu = double.emulator
    settings["access_token"] = "${DEMO_SHOPIFY_TOKEN}"
    settings["webhook_secret"] = "${DEMO_SHOPIFY_WEBHOOK_SECRET}"
    return DemoChannel(
        name="shopify",
        connector="shopify",
        double=double,
        sock=sock,
        config={
            "connector": "shopify",
            "sources": ["WH", "STORE"],
            "source_buffers": {"STORE": 2},
            "allocation": {"buffer_units": 1},
            "mapping": "mappings/shopify.yaml",
            "schedule": _schedule("5s", "5s", reconcile_cron="0 3 * * *"),
            "order_overlap": "30s",
            "settings": settings,
        },
        secrets={"DEMO_SHOPIFY_TOKEN": emu.access_token, "DEMO_SHOPIFY_WEBHOOK_SECRET": emu.webhook_secret},
        mapping={"price": {"markup_percent": "5"}},
        weight=3.0,
    )


def _amazon(daemon_url: str) -> DemoChannel:
    sock = _free_socket()  # the emulator serves the presigned storage too
    s3_base = f"http://{HOST}:{sock.getsockname()[1]}"
    double, sock, settings = _double(
        "amazon",
        sock,
        currency=CURRENCY,
        s3_base=s3_base,
        feed_queue_s=1.0,
        feed_base_s=1.0,
        record_requests=False,
    )
    emu = double.emulator
    settings["marketplace_ids"] = list(settings["marketplace_ids"])
    settings["client_secret"] = "${DEMO_AMAZON_CLIENT_SECRET}"
    settings["refresh_token"] = "${DEMO_AMAZON_REFRESH_TOKEN}"
    settings["feed_threshold"] = 20  # bulk (the first push) as a feed; patches after
    settings["feed_poll_interval_s"] = 1.0
    return DemoChannel(
        name="amazon",
        connector="amazon",
        double=double,
        sock=sock,
        config={
            "connector": "amazon",
            "sources": ["WH"],
            "allocation": {"buffer_units": 1, "buffer_percent": "10"},
            "mapping": "mappings/amazon.yaml",
            "schedule": _schedule("10s", "5s"),
            "order_overlap": "30s",
            "settings": settings,
        },
        secrets={
            "DEMO_AMAZON_CLIENT_SECRET": emu.client_secret,
            "DEMO_AMAZON_REFRESH_TOKEN": emu.refresh_token,
        },
        mapping={"price": {"markup_percent": "12"}},
        weight=0.6,
    )


def _square(daemon_url: str) -> DemoChannel:
    double, sock, settings = _double(
        "square", sources=["STORE"], currency=CURRENCY, notification_url=f"{daemon_url}/webhooks/pos"
    )
    emu = double.emulator
    settings["access_token"] = "${DEMO_SQUARE_TOKEN}"
    settings["webhook_signature_key"] = "${DEMO_SQUARE_SIGNATURE_KEY}"
    return DemoChannel(
        name="pos",
        connector="square",
        double=double,
        sock=sock,
        config={
            "connector": "square",
            "sources": ["STORE"],
            "schedule": _schedule("5s", "5s"),
            "order_overlap": "30s",
            "settings": settings,
        },
        secrets={"DEMO_SQUARE_TOKEN": emu.access_token, "DEMO_SQUARE_SIGNATURE_KEY": emu.signature_key},
        weight=2.0,
        walk_in=True,
    )


def _instagram(daemon_url: str) -> DemoChannel:
    double, sock, settings = _double(
        "instagram", currency=CURRENCY, page_size=25, batch_settle_s=0.5, batch_per_item_s=0.0
    )
    emu = double.emulator
    settings["access_token"] = "${DEMO_INSTAGRAM_TOKEN}"
    settings["batch_poll_interval_s"] = 0.5
    return DemoChannel(
        name="instagram",
        connector="instagram",
        double=double,
        sock=sock,
        config={
            "connector": "instagram",
            "sources": ["WH"],
            "allocation": {"buffer_units": 2},
            "schedule": _schedule("5s", "5s"),
            "order_overlap": "30s",
            "settings": settings,
        },
        secrets={"DEMO_INSTAGRAM_TOKEN": emu.access_token},
        weight=1.5,
    )


FACTORIES: dict[str, Callable[[str], DemoChannel]] = {
    "shopify": _shopify,
    "amazon": _amazon,
    "square": _square,
    "instagram": _instagram,
}


# -- set-up -----------------------------------------------------------------------------------------
def _write_files(folder: Path, channels: list[DemoChannel], daemon_port: int) -> Path:
    maps = folder / "mappings"
    maps.mkdir(parents=True, exist_ok=True)
    for ch in channels:
        if ch.mapping:
            (maps / f"{ch.name}.yaml").write_text(yaml.safe_dump(ch.mapping, sort_keys=False))
        else:
            ch.config.pop("mapping", None)
    config = {
        "ledger": {"url": "sqlite:///omnisync.db"},
        "currency": CURRENCY,
        "locations": [
            {"code": "WH", "name": "Warehouse", "kind": "warehouse"},
            {"code": "STORE", "name": "Main Street store", "kind": "store"},
        ],
        "channels": {ch.name: ch.config for ch in channels},
        "daemon": {
            "host": HOST,
            "port": daemon_port,
            "webhook_base_url": f"http://{HOST}:{daemon_port}",
        },
        "logging": {"level": "warning"},
    }
    path = folder / "omnisync.yaml"
    header = (
        "# Written by `omnisync demo`. The secrets come from the environment (the demo sets them to the\n"
        "# emulators' values in its own process); the emulators on loopback are gone once it ends.\n"
    )
    path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return path


DEMO_MARK = ".omnisync-demo"
"""Left in the demo's folder: a later demo may replace what it finds there."""
_DEMO_FILES = ("omnisync.yaml", "omnisync.db", "mappings")


def folder_refusal(folder: Path) -> str | None:
    """Why the demo must not write into ``folder`` (files it did not create), or None."""
    if (folder / DEMO_MARK).exists() or not folder.exists():
        return None
    found = [name for name in _DEMO_FILES if (folder / name).exists()]
    if not found:
        return None
    return (
        f"{folder} holds {', '.join(found)} that the demo did not create; "
        "pick another --folder, or pass --force to replace them"
    )


def _fresh_ledger(folder: Path) -> None:
    (folder / DEMO_MARK).write_text("written by `omnisync demo`; a later demo may replace this folder\n")
    for name in ("omnisync.db", "omnisync.db-wal", "omnisync.db-shm"):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()


@dataclass
class Catalogue:
    items: list[tuple[str, Decimal, int, int]]
    """(sku, price, units at WH, units at STORE)."""


def _catalogue(rng: random.Random, skus: int) -> Catalogue:
    items = []
    for n in range(1, skus + 1):
        price = Decimal(rng.randint(5, 80)) + Decimal("0.99")
        items.append((f"SKU-{n:04d}", price, rng.randint(0, 12), rng.randint(0, 6)))
    return Catalogue(items)


def _seed_ledger(engine: Engine, catalogue: Catalogue) -> None:
    engine.migrate_and_seed()
    now = engine.clock.now()
    with engine.ledger.tx() as tx:
        for sku, price, wh, store in catalogue.items:
            tx.upsert_product(sku, title=f"Demo item {sku}", price=price, currency=CURRENCY)
            if wh:
                tx.record_movement(sku, "WH", "receipt", wh, f"demo-seed:{sku}:WH", at=now)
            if store:
                tx.record_movement(sku, "STORE", "receipt", store, f"demo-seed:{sku}:STORE", at=now)


# -- the shoppers ---------------------------------------------------------------------------------------
async def _shop(
    channels: list[DemoChannel],
    skus: list[str],
    rng: random.Random,
    until: float,
    daemon_url: str,
    orders_per_s: float,
) -> None:
    loop = asyncio.get_running_loop()
    weights = [ch.weight for ch in channels]
    async with httpx.AsyncClient(base_url=daemon_url, timeout=5.0) as client:
        posts: set[asyncio.Task[Any]] = set()
        while loop.time() < until:
            await asyncio.sleep(rng.expovariate(orders_per_s))
            ch = rng.choices(channels, weights)[0]
            sku = rng.choice(skus)
            shown = ch.quantity(sku) or 0
            if shown < 1:
                continue  # the shopper sees "sold out" and leaves
            qty = 1 if shown < 4 else rng.choice((1, 1, 1, 2))
            try:
                order_id = ch.buy(sku, qty)
            except Exception:  # the platform refused the sale (sold out in the meantime, ...)
                ch.refused += 1
                continue
            ch.placed.append(order_id)
            hook = ch.webhook(order_id)
            if hook is not None:
                headers, body = hook
                task = loop.create_task(client.post(f"/webhooks/{ch.name}", content=body, headers=headers))
                posts.add(task)
                task.add_done_callback(posts.discard)
        if posts:
            await asyncio.gather(*posts, return_exceptions=True)


def _square_webhooks(ch: DemoChannel, pending: set[asyncio.Task[Any]]) -> None:
    """Square's emulator notifies on every order change: deliver those to the daemon."""
    client = httpx.AsyncClient(timeout=5.0)

    def deliver(headers: dict[str, str], body: bytes, url: str) -> None:
        async def post() -> None:
            with contextlib.suppress(httpx.HTTPError):
                await client.post(url, content=body, headers=headers)

        task = asyncio.get_running_loop().create_task(post())
        pending.add(task)
        task.add_done_callback(pending.discard)

    ch.double.notify(lambda hook: deliver(hook[0], hook[1], hook[2] or ""))
    ch.emulator.demo_client = client


# -- the verdict ------------------------------------------------------------------------------------
def _summary(
    engine: Engine, channels: list[DemoChannel], catalogue: Catalogue, notes: list[str], seconds: float
) -> dict[str, Any]:
    ledger = engine.ledger
    skus = [item[0] for item in catalogue.items]
    by_name = {ch.name: ch for ch in channels}
    offers = invariants.offers(engine, skus, by_name)
    drift = invariants.convergence(offers, {name: ch.quantity for name, ch in by_name.items()})
    offered = {name: sum(offers[name].values()) for name in by_name}
    live = {name: sum(ch.quantity(sku) or 0 for sku in offers[name]) for name, ch in by_name.items()}
    mismatched = {name: [str(m) for m in drift[name]] for name in by_name}
    with ledger.read() as conn:
        oversold = {r.product_id: r.units for r in queries.oversold(conn)}
        oversold_by_channel: dict[int, int] = {}
        for pid, units in oversold.items():
            last = queries.last_order_channel(conn, pid)
            if last is not None:
                oversold_by_channel[last] = oversold_by_channel.get(last, 0) + units
        imported = {
            name: queries.imported_order_counts(conn, rt.channel_id) for name, rt in engine.channels.items()
        }
    out_channels: dict[str, Any] = {}
    for name, ch in by_name.items():
        rt = engine.channels[name]
        total, distinct = imported[name]
        out_channels[name] = {
            "connector": ch.connector,
            "orders_placed": len(ch.placed),
            "orders_imported": total,
            "orders_lost": max(0, len(ch.placed) - total),
            "orders_duplicated": total - distinct,
            "items_pushed": rt.health.items_pushed,
            "api_calls": rt.stats.total_calls,
            "throttles": rt.stats.total_throttled,
            "offered": offered[name],
            "channel_quantity": live[name],
            "converged": not mismatched[name],
            "mismatches": mismatched[name][:10],
            "oversold_units": oversold_by_channel.get(rt.channel_id, 0),
            "state": rt.health.state,
            "last_error": rt.health.last_error,
        }
    problems = []
    total_oversold = sum(oversold.values())
    if total_oversold:
        problems.append(f"{total_oversold} unit(s) oversold")
    for name, c in out_channels.items():
        if c["orders_lost"]:
            problems.append(f"{name}: {c['orders_lost']} order(s) not imported")
        if c["orders_duplicated"] or c["orders_imported"] > c["orders_placed"]:
            problems.append(f"{name}: duplicated orders")
        if not c["converged"]:
            problems.append(f"{name}: {len(mismatched[name])} SKU(s) not converged")
    return {
        "ok": not problems,
        "seconds": seconds,
        "skus": len(skus),
        "oversold_units": total_oversold,
        "channels": out_channels,
        "problems": problems,
        "notes": notes,
    }


def _print_summary(summary: dict[str, Any], folder: Path) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    for note in summary["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}")
    table = Table(title=f"omnisync demo: {summary['skus']} SKUs, {summary['seconds']:g} s of trading")
    for col in ("channel", "orders", "pushed", "calls", "throttled", "offered", "shown", "oversold"):
        table.add_column(col, justify="left" if col == "channel" else "right")
    for name, c in summary["channels"].items():
        table.add_row(
            name,
            f"{c['orders_imported']}/{c['orders_placed']}",
            str(c["items_pushed"]),
            str(c["api_calls"]),
            str(c["throttles"]),
            str(c["offered"]),
            str(c["channel_quantity"]),
            str(c["oversold_units"]),
        )
    console.print(table)
    if summary["ok"]:
        console.print("[green]✓ no oversell, every order imported exactly once, every channel converged[/]")
    else:
        for problem in summary["problems"]:
            console.print(f"[red]✗ {escape(problem)}[/]")
    cfg = folder / "omnisync.yaml"
    console.print(
        f"Continue with: omnisync status -c {cfg}  ·  omnisync plan -c {cfg}"
        f"  ·  omnisync explain SKU-0001 -c {cfg}"
    )


# -- the run ------------------------------------------------------------------------------------------
EMULATOR_KEEP_ALIVE_S = 65
"""Idle seconds before an emulator closes a kept-alive connection. The platforms' front ends keep
them about a minute; uvicorn's default of 5 s equals httpx's own idle expiry, and a call made every
5 s then races the server's close of the connection it reuses."""


async def _start_server(app: Any, sock: socket.socket) -> tuple[QuietServer, asyncio.Task[None]]:
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


async def _guarded(work: Awaitable[Any], notes: list[str]) -> None:
    try:
        await work
    except Exception as exc:  # a connector bug: reported in the notes, judged by the verdict
        notes.append(f"final sync failed: {type(exc).__name__}: {exc}")


async def _run(folder: Path, seconds: float, skus: int, seed: int) -> tuple[dict[str, Any], int]:
    rng = random.Random(seed)
    probe = _free_socket()
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

    catalogue = _catalogue(rng, skus)
    for ch in channels:
        for sku, price, _wh, _store in catalogue.items:
            ch.seed(sku, 0, price)
    path = _write_files(folder, channels, daemon_port)
    for ch in channels:
        os.environ.update(ch.secrets)

    servers: list[tuple[QuietServer, asyncio.Task[None]]] = []
    webhook_posts: set[asyncio.Task[Any]] = set()
    for ch in channels:
        servers.append(await _start_server(ch.emulator.app, ch.sock))
        if ch.connector == "square":
            _square_webhooks(ch, webhook_posts)

    loaded = load_config(path)
    ledger = Ledger(make_engine(loaded.ledger_url()))
    engine = Engine(loaded, ledger, clock=SystemClock())
    _seed_ledger(engine, catalogue)

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
    await _shop(channels, skus_list, rng, loop.time() + seconds, daemon_url, rate)
    if webhook_posts:
        await asyncio.gather(*list(webhook_posts), return_exceptions=True)

    # The shoppers are gone: one last full sync and reconcile, then the verdict.
    usable = [ch.name for ch in channels]
    await _guarded(engine.sync_once(usable), notes)
    await asyncio.gather(*(_guarded(engine.reconcile(name), notes) for name in usable))
    await _guarded(engine.sync_once(usable), notes)
    summary = _summary(engine, channels, catalogue, notes, seconds)
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
    _fresh_ledger(folder)
    summary, code = asyncio.run(_run(folder, seconds, skus, seed))
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary, folder)
    return code


__all__ = ["FACTORIES", "DemoChannel", "run_demo"]
