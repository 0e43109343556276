"""Real daemon processes against real emulators on loopback (helper for the multi-process tests).

The emulators (the demo's Shopify and Square factories, ``omnisync.demo``) are served by uvicorn on
a background thread of the test process, so the test can place orders on them and read their
state; every call into an emulator runs on that thread's event loop (``EmulatorThread.call``), never
concurrently with a request it is answering. Each emulator app is wrapped in :class:`Recorder`, which
keeps every request and answer, from which pushes are counted per (channel, SKU, ledger version).

Daemons are ``python -m omnisync.cli -c CONFIG run`` subprocesses in their own session, killed by
pid (SIGKILL) in :meth:`Daemon.kill` or stopped with SIGTERM in :meth:`Daemon.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
import yaml
from sqlalchemy import func, select

from omnisync import invariants
from omnisync.config import load_config
from omnisync.daemon.lease import MEMBER
from omnisync.daemon.service import QuietServer
from omnisync.demo import HOST, Catalogue, DemoChannel, seed_ledger
from omnisync.demo import instagram_channel as demo_instagram
from omnisync.demo import shopify_channel as demo_shopify
from omnisync.demo import square_channel as demo_square
from omnisync.engine.runtime import Engine
from omnisync.ledger import queries
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.ledger.tables import LE, LI, OL, SR, P, R
from omnisync.ledger.tables import O as ORDERS

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]


# -- recording the emulators' traffic ----------------------------------------------------------------
@dataclass
class Exchange:
    at: float
    """time.monotonic() when the answer was complete."""
    method: str
    path: str
    body: bytes
    status: int
    answer: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def answer_json(self) -> Any:
        try:
            return json.loads(self.answer or b"null")
        except ValueError:
            return None


class Recorder:
    """ASGI wrapper keeping every request body, status and answer body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.log: list[Exchange] = []
        self.listeners: list[Callable[[Exchange], None]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: list[bytes] = []
        answer: list[bytes] = []
        status = [0]

        async def recv() -> Any:
            msg = await receive()
            if msg["type"] == "http.request":
                body.append(msg.get("body", b""))
            return msg

        async def snd(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                status[0] = int(msg["status"])
            elif msg["type"] == "http.response.body":
                answer.append(msg.get("body", b""))
            await send(msg)

        await self.app(scope, recv, snd)
        ex = Exchange(
            time.monotonic(), scope["method"], scope["path"], b"".join(body), status[0], b"".join(answer)
        )
        self.log.append(ex)
        for listener in self.listeners:
            listener(ex)


# -- the emulators on a background thread ----------------------------------------------------------
class EmulatorThread:
    """Serves the channels' emulators on their loopback sockets from one background event loop."""

    def __init__(self, channels: Iterable[DemoChannel]) -> None:
        self.channels = {ch.name: ch for ch in channels}
        self.recorders = {name: Recorder(ch.emulator.app) for name, ch in self.channels.items()}
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="emulators", daemon=True)
        self._servers: list[QuietServer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        for name, ch in self.channels.items():
            config = uvicorn.Config(self.recorders[name], log_config=None, access_log=False, lifespan="off")
            server = QuietServer(config)
            task = asyncio.get_running_loop().create_task(server.serve(sockets=[ch.sock]))
            await asyncio.wait_for(server.ready.wait(), 10)
            self._servers.append(server)
            self._tasks.append(task)

    def start(self) -> EmulatorThread:
        self._thread.start()
        self._ready.wait(20)
        if self._error is not None:
            raise RuntimeError("the emulators did not start") from self._error
        return self

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the emulators' loop (never concurrently with a request they answer)."""

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def down() -> None:
            for server in self._servers:
                server.should_exit = True
            await asyncio.gather(*self._tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(down(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        for ch in self.channels.values():
            with contextlib.suppress(OSError):
                ch.sock.close()


# -- the channels ------------------------------------------------------------------------------------
def shopify_channel(plan: str = "plus") -> DemoChannel:
    """The demo's Shopify channel on a plan whose query-cost budget keeps up with a test's order rate
    (Standard restores 100 points/s: a page of 2 orders costs seconds of it), on the tests' schedule,
    without the demo's price mapping."""
    ch = demo_shopify(f"http://{HOST}:9", plan=plan)
    ch.config["schedule"] = schedule(5, 5)
    ch.config.pop("order_overlap", None)
    ch.mapping = {}
    return ch


def square_channel() -> DemoChannel:
    """The demo's Square POS channel (webhooks are not delivered: the daemons poll)."""
    return demo_square(f"http://{HOST}:9")


def instagram_channel() -> DemoChannel:
    """The demo's Instagram shop (Meta catalog), pulled like the others."""
    return demo_instagram(f"http://{HOST}:9")


# -- configuration and ledger ---------------------------------------------------------------------
def schedule(pull: float, push: float) -> dict[str, Any]:
    # No scheduled reconcile: the daemons must converge on pulls and pushes alone, so a drift the
    # reconcile would hide (a one-unit over-show after a kill or a takeover, once) fails the test.
    return {"pull_every": f"{pull}s", "push_every": f"{push}s", "reconcile_every": None}


def write_config(
    folder: Path,
    name: str,
    channels: Iterable[DemoChannel],
    ledger_url: str,
    daemon: dict[str, Any],
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    maps = folder / "mappings"
    maps.mkdir(exist_ok=True)
    channel_cfg: dict[str, Any] = {}
    for ch in channels:
        cfg = dict(ch.config)
        if ch.mapping:
            (maps / f"{ch.name}.yaml").write_text(yaml.safe_dump(ch.mapping, sort_keys=False))
        else:
            cfg.pop("mapping", None)
        channel_cfg[ch.name] = cfg
    config = {
        "ledger": {"url": ledger_url},
        "currency": "EUR",
        "locations": [
            {"code": "WH", "name": "Warehouse", "kind": "warehouse"},
            {"code": "STORE", "name": "Main Street store", "kind": "store"},
        ],
        "channels": channel_cfg,
        "daemon": {"host": HOST, "port": 0, **daemon},
        "logging": {"level": os.environ.get("OMNISYNC_TEST_DAEMON_LOG", "warning"), "format": "json"},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def secrets_env(channels: Iterable[DemoChannel]) -> dict[str, str]:
    env = dict(os.environ)
    for ch in channels:
        env.update(ch.secrets)
    return env


def seeded_engine(config: Path, channels: Iterable[DemoChannel], catalogue: Catalogue) -> Engine:
    """The test's own view of the ledger: schema, catalogue and stock; connectors not prepared."""
    os.environ.update(secrets_env(channels))
    loaded = load_config(config)
    engine = Engine(loaded, Ledger(make_engine(loaded.ledger_url())))
    seed_ledger(engine, catalogue)
    asyncio.run(engine.start(prepare=False))
    return engine


# -- daemon processes ---------------------------------------------------------------------------------
@dataclass
class Daemon:
    name: str
    config: Path
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    started: list[float] = field(default_factory=list)

    def start(self) -> Daemon:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omnisync.cli", "-c", str(self.config), "run"],
            cwd=self.config.parent,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self.started.append(time.monotonic())
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed, no lease handed back."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM and wait for the exit code (SIGKILL if it does not come)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


class Shoppers:
    """Orders placed on the emulators, one unit each, remembered per channel."""

    def __init__(self, emulators: EmulatorThread, skus: list[str], rng: random.Random) -> None:
        self.emulators = emulators
        self.skus = skus
        self.rng = rng
        self.placed: dict[str, list[str]] = {name: [] for name in emulators.channels}
        self.units: dict[str, int] = dict.fromkeys(emulators.channels, 0)
        self.refused = 0
        self.log: list[tuple[float, str, str, str]] = []
        """(time.monotonic(), channel, sku, order id) of every order placed."""

    def buy(self, seconds: float, per_s: float) -> None:
        end = time.monotonic() + seconds
        names = list(self.placed)
        while time.monotonic() < end:
            name = self.rng.choice(names)
            ch = self.emulators.channels[name]
            sku = self.rng.choice(self.skus)
            if (self.emulators.call(ch.quantity, sku) or 0) < 1:
                continue
            try:
                order_id = self.emulators.call(ch.buy, sku, 1)
            except Exception:  # the platform refused (sold out in the meantime)
                self.refused += 1
                continue
            self.placed[name].append(order_id)
            self.units[name] += 1
            self.log.append((time.monotonic(), name, sku, order_id))
            time.sleep(1 / per_s)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.placed.values())


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# -- what the ledger says -----------------------------------------------------------------------------
def lease_holders(engine: Engine) -> dict[str, str | None]:
    with engine.ledger.read() as conn:
        rows = conn.execute(select(LE.c.channel, LE.c.holder, LE.c.expires_at))
        return {r.channel: r.holder for r in rows if not r.channel.startswith(MEMBER)}


def runs_by_worker(engine: Engine, since: datetime) -> dict[tuple[str, str | None], int]:
    """(channel, worker) -> successful cycles recorded in ``sync_run`` that started after ``since``."""
    with engine.ledger.read() as conn:
        rows = conn.execute(
            select(SR.c.channel, SR.c.worker, func.count())
            .where(SR.c.ok, SR.c.started_at > since)
            .group_by(SR.c.channel, SR.c.worker)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}


def imported_orders(engine: Engine) -> dict[str, list[str]]:
    """channel -> external order ids in the ledger (with repeats, if any)."""
    out: dict[str, list[str]] = defaultdict(list)
    with engine.ledger.read() as conn:
        for name, rt in engine.channels.items():
            rows = conn.execute(select(ORDERS.c.external_id).where(ORDERS.c.channel_id == rt.channel_id))
            out[name] = [str(r[0]) for r in rows]
    return out


def conservation_errors(engine: Engine) -> list[str]:
    """Stock from the journal: Σ movements == on_hand and Σ reservations == reserved per SKU×location;
    every reservation belongs to an order line and never exceeds what is still open on it."""
    with engine.ledger.read() as conn:
        books = queries.stock_books(conn)
        problems = invariants.conservation_problems(books.stock, books.journal, books.held)
        lines = conn.execute(
            select(
                OL.c.id,
                OL.c.quantity,
                OL.c.fulfilled,
                OL.c.cancelled,
                R.c.quantity.label("reserved"),
            ).select_from(OL.outerjoin(R, R.c.order_line_id == OL.c.id))
        )
        for line in lines:
            reserved = int(line.reserved or 0)
            still_open = int(line.quantity) - int(line.fulfilled) - int(line.cancelled)
            if reserved != max(0, still_open):
                problems.append(f"order line {line.id}: reserves {reserved}, {still_open} still open")
    return problems


def sold_units(engine: Engine) -> dict[str, int]:
    """channel -> units on the ledger's order lines (each imported order counted once)."""
    out: dict[str, int] = {}
    with engine.ledger.read() as conn:
        for name, rt in engine.channels.items():
            total = conn.execute(
                select(func.coalesce(func.sum(OL.c.quantity), 0))
                .select_from(OL.join(ORDERS, ORDERS.c.id == OL.c.order_id))
                .where(ORDERS.c.channel_id == rt.channel_id)
            ).scalar()
            out[name] = int(total or 0)
    return out


def not_converged(engine: Engine, emulators: EmulatorThread, skus: Iterable[str]) -> dict[str, list[str]]:
    """channel -> SKUs whose channel quantity differs from what the ledger says it should offer."""
    channels = emulators.channels
    offers = invariants.offers(engine, skus, channels)
    shown = {name: partial(emulators.call, ch.quantity) for name, ch in channels.items()}
    drift = invariants.convergence(offers, shown)
    return {name: [str(m) for m in found] for name, found in drift.items() if found}


def dirty_pairs(engine: Engine) -> dict[str, int]:
    with engine.ledger.read() as conn:
        return {
            name: int(
                conn.execute(
                    select(func.count()).where(LI.c.channel_id == rt.channel_id, LI.c.dirty)
                ).scalar()
                or 0
            )
            for name, rt in engine.channels.items()
        }


def product_skus(engine: Engine) -> list[str]:
    with engine.ledger.read() as conn:
        return [str(r[0]) for r in conn.execute(select(P.c.sku).order_by(P.c.sku))]


# -- pushes per (channel, SKU, ledger version) ---------------------------------------------------
def square_pushes(
    recorder: Recorder, *, after: float | None = None, before: float | None = None
) -> dict[tuple[str, str, int], set[str]]:
    """(per-item idempotency key = (channel, SKU, ledger version), direction, units) -> keys of the
    applied batches that carried that adjustment.

    Square applies a batch once per batch key; the same adjustment under two batch keys is one ledger
    version applied twice. (A correction after a STALE answer carries the same item key with the
    other direction: Square had moved by itself, the engine re-planned from the real count.)"""
    out: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for ex in recorder.log:
        if not ex.path.endswith("/inventory/changes/batch-create") or ex.status != 200:
            continue
        if (after is not None and ex.at < after) or (before is not None and ex.at >= before):
            continue
        body = ex.json()
        for change in body.get("changes", []):
            adj = change.get("adjustment") or change.get("physical_count") or {}
            ref = adj.get("reference_id")
            if ref:
                way = f"{adj.get('from_state')}->{adj.get('to_state')}"
                out[(ref, way, int(adj.get("quantity", 0)))].add(str(body.get("idempotency_key")))
    return out


def square_across(recorder: Recorder, split: float) -> list[tuple[str, str, int]]:
    """Adjustments (item key, direction, units) applied both before and after ``split``: a ledger
    version applied twice across a takeover (one daemon before, another after)."""
    early = square_pushes(recorder, before=split)
    late = square_pushes(recorder, after=split)
    return sorted(set(early) & set(late))


def square_history(recorder: Recorder, refs: Iterable[str], t0: float) -> list[str]:
    """Every batch that carried one of these item keys: time from ``t0``, batch key, change, answer."""
    wanted = set(refs)
    out = []
    for ex in recorder.log:
        if not ex.path.endswith("/inventory/changes/batch-create"):
            continue
        body = ex.json()
        for change in body.get("changes", []):
            adj = change.get("adjustment") or {}
            if adj.get("reference_id") in wanted:
                counts = (ex.answer_json() or {}).get("counts") or []
                now = [
                    c.get("quantity")
                    for c in counts
                    if c.get("catalog_object_id") == adj.get("catalog_object_id")
                ]
                out.append(
                    f"{ex.at - t0:+.3f}s {ex.status} batch={str(body.get('idempotency_key'))[-8:]} "
                    f"item={adj['reference_id'][-8:]} {adj.get('from_state')}->{adj.get('to_state')} "
                    f"{adj.get('quantity')} size={len(body.get('changes', []))} now={now}"
                )
    return out


def shopify_history(
    channel: DemoChannel, recorder: Recorder, shoppers: Shoppers, skus: Iterable[str], t0: float
) -> list[str]:
    """For each SKU: every inventorySetQuantities that touched its inventory item and every order placed
    for it on Shopify, in time order from ``t0`` (a failing convergence check prints it)."""
    state = channel.emulator.state
    out = []
    for sku in skus:
        items = {state.variants[v].inventory_item_id for v in state.by_sku.get(sku, [])}
        events: list[tuple[float, str]] = [
            (at, f"order {order_id}")
            for at, name, s, order_id in shoppers.log
            if name == channel.name and s == sku
        ]
        for ex in recorder.log:
            if b"inventorySetQuantities" not in ex.body:
                continue
            variables = ex.json().get("variables") or {}
            answer = ex.answer_json() or {}
            result = (answer.get("data") or {}).get("inventorySetQuantities") or {}
            errors = [e.get("code") or e.get("message") for e in result.get("userErrors") or []]
            for q in (variables.get("input") or {}).get("quantities", []):
                if q["inventoryItemId"] in items:
                    events.append(
                        (
                            ex.at,
                            f"push {ex.status} key={str(variables.get('idempotencyKey'))[-8:]} "
                            f"{q.get('changeFromQuantity')}->{q['quantity']} errors={errors}",
                        )
                    )
        out.append(f"{sku}: now {channel.quantity(sku)}")
        out.extend(f"  {at - t0:+.3f}s {what}" for at, what in sorted(events))
    return out


def square_corrections(recorder: Recorder) -> int:
    """Ledger versions written more than once (a STALE answer, then the remaining difference)."""
    refs: dict[str, int] = defaultdict(int)
    for ref, _way, _units in square_pushes(recorder):
        refs[ref] += 1
    return sum(1 for n in refs.values() if n > 1)


def shopify_pushes(recorder: Recorder) -> dict[tuple[str, str, int, int], set[str]]:
    """(inventory item, location, compare value, target) -> @idempotent keys of the applied calls.

    Shopify's input carries no per-item key; a push of one ledger version is the compare-and-set
    transition ``changeFromQuantity -> quantity``. While stock only goes down, one transition applied
    under two keys is the same version applied twice."""
    out: dict[tuple[str, str, int, int], set[str]] = defaultdict(set)
    for ex in recorder.log:
        if ex.status != 200 or b"inventorySetQuantities" not in ex.body:
            continue
        request = ex.json()
        answer = ex.answer_json() or {}
        result = (answer.get("data") or {}).get("inventorySetQuantities") or {}
        if answer.get("errors") or result.get("userErrors") or not result:
            continue
        variables = request.get("variables") or {}
        key = str(variables.get("idempotencyKey"))
        for q in (variables.get("input") or {}).get("quantities", []):
            change = q.get("changeFromQuantity")
            out[
                (
                    q["inventoryItemId"],
                    q["locationId"],
                    -1 if change is None else int(change),
                    int(q["quantity"]),
                )
            ].add(key)
    return out


def duplicates(pushes: dict[Any, set[str]]) -> list[Any]:
    return [key for key, batches in pushes.items() if len(batches) > 1]


# -- restarts under load (benchmarks/restart.py, test_daemon_restarts.py) -----------------------------
PUSHES = {
    "shopify": b"inventorySetQuantities",
    "pos": b"/v2/inventory/changes/batch-create",
    "instagram": b"/items_batch",
}


def push_times(emulators: EmulatorThread, since: float) -> list[float]:
    """When an accepted push answered, on any channel, after ``since`` (time.monotonic)."""
    times = []
    for name, marker in PUSHES.items():
        if name not in emulators.recorders:
            continue
        for ex in emulators.recorders[name].log:
            if ex.at >= since and ex.status == 200 and (marker in ex.body or marker.decode() in ex.path):
                times.append(ex.at)
    return sorted(times)


def restart_under_load(
    kills: int,
    rate: float,
    settle: float,
    rng: random.Random,
    engine: Any,
    emulators: EmulatorThread,
    daemon: Daemon,
    skus: list[str],
) -> dict[str, Any]:
    """Kill the daemon ``kills`` times while the shops sell at ``rate``, restart it after 0-3 s, then
    measure the catch-up (see ``benchmarks/restart.py``)."""
    daemon.start()
    shoppers = Shoppers(emulators, skus, rng)
    deadline = time.monotonic() + 30
    while not_converged(engine, emulators, skus[:5]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for _ in range(kills):
        shoppers.buy(rng.uniform(0.5, 3.0), per_s=rate)
        daemon.kill()
        shoppers.buy(rng.uniform(0.0, 3.0), per_s=rate)  # the shops sell while it is down
        daemon.start()
    restarted = time.monotonic()

    def missing_by_channel() -> dict[str, int]:
        ids = imported_orders(engine)
        return {n: max(0, len(placed) - len(set(ids[n]))) for n, placed in shoppers.placed.items()}

    def missing() -> int:
        return sum(missing_by_channel().values())

    def settled() -> bool:
        return (
            not missing()
            and not any(dirty_pairs(engine).values())
            and not not_converged(engine, emulators, skus)
        )

    backlog = missing_by_channel()
    drained: dict[str, float] = {}
    checkpoints = [5.0, 10.0, 20.0, 30.0]
    missing_after: dict[str, int] = {}
    converged_s = None
    while time.monotonic() - restarted < settle:
        elapsed = time.monotonic() - restarted
        now_missing = missing_by_channel()
        for name, left in now_missing.items():
            if not left and name not in drained:
                drained[name] = elapsed
        while checkpoints and elapsed >= checkpoints[0]:
            missing_after[f"{checkpoints.pop(0):g}"] = sum(now_missing.values())
        if converged_s is None and settled():
            converged_s = round(elapsed, 2)
            if not checkpoints:
                break
        time.sleep(0.25)
    end = restarted + (converged_s if converged_s is not None else settle)
    pushes = [t for t in push_times(emulators, restarted) if t <= end]
    times = [restarted, *pushes, end]
    gap = max((b - a for a, b in itertools.pairwise(times)), default=0.0)
    # the same from the first push after the restart (the process start left out), against the time
    # from that push to convergence: a push lane waiting for the backlog pull stalls for most of it
    catch_up = [*pushes, end]
    lane_gap = max((b - a for a, b in itertools.pairwise(catch_up)), default=0.0)
    lane_window = end - catch_up[0]
    stop_at = time.monotonic()
    code = daemon.stop(timeout=30)
    shutdown_s = round(time.monotonic() - stop_at, 2)
    ids = imported_orders(engine)
    return {
        "kills": kills,
        "rate_per_s": rate,
        "orders": shoppers.total,
        "missing_after_s": missing_after,
        "converged_s": converged_s,
        "duplicated_orders": sum(len(v) - len(set(v)) for v in ids.values()),
        "longest_push_gap_s": round(gap, 2),
        "catch_up_push_gap_s": round(lane_gap, 2),
        "catch_up_window_s": round(lane_window, 2),
        "push_gap_ratio": round(lane_gap / lane_window, 3) if lane_window > 0 else None,
        "catch_up": {
            name: {
                "backlog_orders": backlog[name],
                "drained_s": round(drained[name], 2) if name in drained else None,
                "orders_per_s": round(backlog[name] / drained[name], 1)
                if drained.get(name) and backlog[name]
                else None,
            }
            for name in backlog
        },
        "shutdown_s": shutdown_s,
        "exit_code": code,
    }


@dataclass
class RestartWorld:
    """The shops and a daemon process for :func:`restart_under_load`."""

    emulators: EmulatorThread
    engine: Engine
    daemon: Daemon
    skus: list[str]

    def close(self) -> None:
        self.daemon.kill()
        self.emulators.stop()
        self.engine.ledger.engine.dispose()


RESTART_EVERY_S = 0.5
"""How often :func:`restart_world`'s channels are pulled and pushed."""


def restart_world(
    folder: Path, ledger_url: str, skus: int, stock: tuple[int, int], *, instagram: bool = False
) -> RestartWorld:
    """Shopify and the POS (and Instagram) on loopback, pulled and pushed every 0.5 s, ``skus`` SKUs
    with ``stock`` (warehouse, store) units each, and a daemon process (not started) on ``ledger_url``."""
    channels = [shopify_channel(), square_channel(), *([instagram_channel()] if instagram else [])]
    for ch in channels:
        ch.config["schedule"] = schedule(pull=RESTART_EVERY_S, push=RESTART_EVERY_S)
        ch.config["order_overlap"] = "10s"
    catalogue = Catalogue([(f"SKU-{n:04d}", Decimal("9.99") + n, *stock) for n in range(1, skus + 1)])
    for ch in channels:
        for sku, price, _wh, _store in catalogue.items:
            ch.seed(sku, 0, price)
    emulators = EmulatorThread(channels).start()
    config = write_config(folder, "daemon", channels, ledger_url, {})
    engine = seeded_engine(config, channels, catalogue)
    daemon = Daemon("restarts", config, secrets_env(channels), folder / "daemon.log")
    return RestartWorld(emulators, engine, daemon, [item[0] for item in catalogue.items])
