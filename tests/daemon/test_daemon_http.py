"""The HTTP surface: webhooks verified before any work, status without secrets, token, metrics, page."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from enginekit import ENV, World
from pydantic import SecretStr

from omnisync.config import DaemonConfig
from omnisync.daemon import ServiceInfo, serve
from omnisync.daemon.http import create_app, render_status_page
from omnisync.daemon.scheduler import Scheduler

CHROMIUM = Path("/usr/bin/chromium")


async def wait_for_ready(seen: list[ServiceInfo], task: asyncio.Task[int]) -> None:
    for _ in range(1000):
        if seen or task.done():
            break
        await asyncio.sleep(0.01)
    assert seen, "the daemon did not start"


async def world(tmp_path: Path, daemon: DaemonConfig) -> tuple[World, Scheduler, httpx.AsyncClient]:
    w = World(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    await w.start({"MUG": (10, 5)})
    scheduler = Scheduler(w.engine, daemon)
    scheduler.start()
    await scheduler.drain()
    app = create_app(w.engine, daemon, scheduler)
    return w, scheduler, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://d")


async def test_bad_signature_is_401_and_does_no_work(tmp_path: Path) -> None:
    w, scheduler, client = await world(tmp_path, DaemonConfig())
    w.web.place_order("WEB-MUG", 3)
    calls = len(w.web.requests)
    body = json.dumps({"event_id": "e1", "order_id": "O1"}).encode()
    for headers in ({"X-Fake-Signature": "0" * 64}, {}):
        answer = await client.post("/webhooks/web", content=body, headers=headers)
        assert answer.status_code == 401
    await scheduler.drain()
    assert len(w.web.requests) == calls, "no pull was made"
    assert scheduler.activity["web"].webhooks == 0
    with w.ledger.tx() as tx:  # the event id was not remembered: a correct delivery still counts
        assert tx.remember_webhook(w.engine.channels["web"].channel_id, "e1", w.clock.now())
    assert (await client.post("/webhooks/nope", content=body)).status_code == 404
    await scheduler.shutdown()
    await client.aclose()


async def test_status_is_json_without_secrets(tmp_path: Path) -> None:
    w, scheduler, client = await world(tmp_path, DaemonConfig())
    w.engine.channels["pos"].health.last_error = f"boom with {ENV['FAKE_TOKEN']}"  # a careless error text
    from omnisync.logging import register_secret

    register_secret(ENV["FAKE_TOKEN"])
    answer = await client.get("/status")
    assert answer.status_code == 200
    status = answer.json()
    assert set(status["channels"]) == {"web", "pos"}
    web = status["channels"]["web"]
    assert web["state"] == "ok"
    assert web["last_pull"]
    assert web["last_push"]
    assert web["pending"] == 0
    assert web["runs_skipped_still_running"] == {}
    assert status["oversold"] == []
    text = answer.text
    for secret in ENV.values():
        assert secret not in text
    page = await client.get("/")
    assert page.status_code == 200
    assert 'data-channel="web"' in page.text
    for secret in ENV.values():
        assert secret not in page.text
    await scheduler.shutdown()
    await client.aclose()


async def test_token_protects_everything_but_webhooks_and_health(tmp_path: Path) -> None:
    daemon = DaemonConfig(token=SecretStr("s3cret-token"))
    w, scheduler, client = await world(tmp_path, daemon)
    for path in ("/status", "/metrics", "/"):
        assert (await client.get(path)).status_code == 401, path
        bad = await client.get(path, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        good = await client.get(path, headers={"Authorization": "Bearer s3cret-token"})
        assert good.status_code == 200, path
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    body = json.dumps({"event_id": "e9", "order_id": "O9"}).encode()
    hook = await client.post("/webhooks/web", content=body, headers={"X-Fake-Signature": w.web.sign(body)})
    assert hook.status_code == 200
    # a browser presents the token once and gets a cookie
    login = await client.get("/?token=s3cret-token")
    assert login.status_code == 303
    assert (await client.get("/")).status_code == 200
    await scheduler.drain()
    await scheduler.shutdown()
    await client.aclose()


async def test_metrics_expose_the_counters(tmp_path: Path) -> None:
    w, scheduler, client = await world(tmp_path, DaemonConfig())
    w.web.place_order("WEB-MUG", 1)
    await scheduler.pull("web")
    await scheduler.drain()
    text = (await client.get("/metrics")).text
    for name in (
        'omnisync_cycles_total{channel="web",kind="pull",outcome="ok"}',
        'omnisync_items_pushed_total{channel="web"}',
        'omnisync_items_accepted_total{channel="pos"}',
        'omnisync_items_rejected_total{channel="web"}',
        'omnisync_api_calls_total{channel="web",operation="pull_orders"}',
        'omnisync_orders_imported_total{channel="web"} 1.0',
        'omnisync_quarantined_lines_total{channel="web"}',
        'omnisync_pending_changes{channel="pos"}',
        "omnisync_push_lag_seconds",
        "omnisync_api_throttles_total",
        "omnisync_oversold_units 0.0",
    ):
        assert name in text, name
    await scheduler.shutdown()
    await client.aclose()


async def test_readyz_is_503_when_the_timetable_is_stopped(tmp_path: Path) -> None:
    _w, scheduler, client = await world(tmp_path, DaemonConfig())
    assert (await client.get("/readyz")).json()["ledger"] == "ok"
    await scheduler.shutdown()
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["channels"] == {"web": "ok", "pos": "ok"}
    await client.aclose()


def test_status_page_escapes_values() -> None:
    status = {
        "now": "2026-01-01T00:00:00+00:00",
        "worker": "<b>w</b>",
        "ready": False,
        "oversold": [{"sku": "<script>x</script>", "units": 1}],
        "channels": {
            "web": {
                "connector": "fake",
                "state": "failing",
                "last_pull": None,
                "last_push": None,
                "pending": 3,
                "orders_imported": 0,
                "items_pushed": 0,
                "api_calls": 1,
                "throttled": 0,
                "push_lag_s": None,
                "errors": {"last": "<img src=x onerror=alert(1)>"},
            }
        },
    }
    page = render_status_page(status)
    assert "skipped" not in page
    status["channels"]["web"]["runs_skipped_still_running"] = {"push": 3, "pull": 1}  # type: ignore[index]
    page = render_status_page(status)
    assert "4 scheduled runs skipped: still running" in page
    assert "<script>x" not in page
    assert "&lt;script&gt;" in page
    assert "<img" not in page
    assert "<b>w</b>" not in page


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed at /usr/bin/chromium")
async def test_status_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    w = World(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    await w.start({"MUG": (10, 5)})
    stop = asyncio.Event()
    seen: list[ServiceInfo] = []
    task = asyncio.create_task(
        serve(w.engine, DaemonConfig(port=0), stop=stop, install_signals=False, on_ready=seen.append)
    )
    await wait_for_ready(seen, task)
    await seen[0].scheduler.drain()
    url = f"http://127.0.0.1:{seen[0].port}/"
    chromium = shutil.which(str(CHROMIUM)) or str(CHROMIUM)
    proc = await asyncio.create_subprocess_exec(
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--dump-dom",
        url,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    stop.set()
    assert await task == 0
    dom = out.decode()
    assert 'id="channels"' in dom
    assert 'data-channel="web"' in dom
    assert 'data-channel="pos"' in dom
    assert 'data-state="ok"' in dom
    assert "No oversold SKU" in dom
