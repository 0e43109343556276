"""The daemon in-process over the two fake channels: webhook -> pull -> decrease pushed elsewhere."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from enginekit import World

from omnisync.config import DaemonConfig
from omnisync.daemon import ServiceInfo, serve
from omnisync.daemon.http import create_app
from omnisync.daemon.scheduler import Scheduler


async def wait_for_ready(seen: list[ServiceInfo], task: asyncio.Task[int]) -> None:
    for _ in range(1000):
        if seen or task.done():
            break
        await asyncio.sleep(0.01)
    assert seen, "the daemon did not start"


def signed(w: World, event_id: str, order_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"event_id": event_id, "order_id": order_id}).encode()
    return body, {"X-Fake-Signature": w.web.sign(body), "content-type": "application/json"}


async def started(tmp_path: Path, url: str | None = None) -> tuple[World, Scheduler, httpx.AsyncClient]:
    w = World(tmp_path, url or f"sqlite:///{tmp_path / 'ledger.db'}")
    await w.start({"MUG": (10, 5), "TEE": (3, 0)})
    scheduler = Scheduler(w.engine, DaemonConfig())
    scheduler.start()  # kick-off: pull every channel, then push every channel
    await scheduler.drain()
    app = create_app(w.engine, DaemonConfig(), scheduler)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://daemon")
    return w, scheduler, client


async def test_schedule_has_every_job_per_channel(tmp_path: Path) -> None:
    w, scheduler, client = await started(tmp_path)
    jobs = scheduler.jobs()
    for name in ("web", "pos"):
        assert {f"pull:{name}", f"push:{name}", f"reconcile:{name}"} <= set(jobs)
    assert "interval[0:01:00]" in jobs["pull:web"]
    assert w.web.items["WEB-MUG"].quantity == 12, "kick-off pushed the allocated quantities"
    await scheduler.shutdown()
    await client.aclose()
    assert scheduler.jobs() == {}


async def test_webhook_pulls_at_once_and_pushes_the_decrease_to_the_other_channel(tmp_path: Path) -> None:
    w, scheduler, client = await started(tmp_path)
    assert w.pos.items["MUG"].quantity == 5
    w.web.place_order("WEB-MUG", 9)  # WH 10 -> 1 left; the web store routes from WH first
    w.pos.place_order("MUG", 0)  # no-op order, keeps the POS feed non-empty
    body, headers = signed(w, "evt-1", "O1")
    answer = await client.post("/webhooks/web", content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "fresh": 1}
    await scheduler.drain()  # the pull ran after the answer, then the expedited push
    # 9 reserved: WH 1 left, STORE 5 -> web may route the rest; the POS (STORE only) still sees 5
    # unless the order consumed store stock. Check through the ledger's own plan instead:
    assert scheduler.activity["web"].webhooks == 1
    # pushed at once on the webhook (its order may already be in the ledger), and again after the
    # pull found the decrease
    assert scheduler.activity["pos"].expedited == 2
    assert w.engine.plan("pos") == [], "the POS got everything the ledger wants it to show"
    # a bigger sale that eats into the store: the POS must go down without waiting for its interval
    w.web.place_order("WEB-MUG", 3)
    body, headers = signed(w, "evt-2", "O2")
    assert (await client.post("/webhooks/web", content=body, headers=headers)).status_code == 200
    await scheduler.drain()
    assert w.pos.items["MUG"].quantity < 5
    assert w.engine.plan("pos") == []
    assert w.engine.channels["pos"].health.push_lag_s is not None
    # the same event again is a no-op: no new pull is wanted, nothing more is pushed
    pushed = w.engine.channels["pos"].health.items_pushed
    assert (await client.post("/webhooks/web", content=body, headers=headers)).json()["fresh"] == 0
    await scheduler.drain()
    assert w.engine.channels["pos"].health.items_pushed == pushed
    await scheduler.shutdown()
    await client.aclose()


async def test_burst_of_webhooks_costs_at_most_one_queued_pull(tmp_path: Path) -> None:
    w, scheduler, client = await started(tmp_path)
    before = scheduler.activity["web"].cycles[("pull", "ok")]
    w.web.place_order("TEE", 1)
    for _ in range(5):  # five webhooks arrive while nothing has run yet
        assert scheduler.request_pull("web")
    await scheduler.drain()
    pulls = scheduler.activity["web"].cycles[("pull", "ok")] - before
    assert 1 <= pulls <= 2, "one pull running, at most one queued behind it"
    assert scheduler.activity["web"].webhooks == 5
    await scheduler.shutdown()
    await client.aclose()


async def test_serve_runs_and_stops_cleanly_on_the_stop_event(tmp_path: Path) -> None:
    w = World(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    await w.start({"MUG": (10, 5)})
    stop = asyncio.Event()
    seen: list[ServiceInfo] = []

    def ready(info: ServiceInfo) -> None:
        seen.append(info)

    task = asyncio.create_task(
        serve(w.engine, DaemonConfig(port=0), stop=stop, install_signals=False, on_ready=ready)
    )
    await wait_for_ready(seen, task)
    info = seen[0]
    assert info.port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{info.port}") as client:
        assert (await client.get("/healthz")).json() == {"ok": True}
        await info.scheduler.drain()
        ready_answer = await client.get("/readyz")
        assert ready_answer.status_code == 200, ready_answer.text
    stop.set()
    assert await asyncio.wait_for(task, 10) == 0
    assert not info.scheduler.running
    assert w.web.items["WEB-MUG"].quantity == 12
