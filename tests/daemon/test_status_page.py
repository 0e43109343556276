"""The status page a merchant leaves open: each channel's state derived from its last pull and its
last push, orders behind, quarantined lines, the last error with its time, readable local times;
read back from headless Chromium (skipped where Chromium is absent)."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from enginekit import World

from omnisync.daemon.http import DaemonView, local_time, render_status_page

CHROMIUM = Path("/usr/bin/chromium")


async def pulls_failing_pushes_fine(tmp_path: Path) -> tuple[World, dict[str, object]]:
    """The web channel's order pulls fail (last good pull a minute ago) while its pushes succeed."""
    w = World(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    await w.start({"MUG": (10, 5)})
    await w.engine.sync_once()
    now = w.clock.now()
    web = w.engine.channels["web"].health
    web.state = "ok"  # the last run (a push) succeeded: the engine's own state says ok
    web.last_pull_at = now - timedelta(seconds=60)
    web.last_error, web.last_error_at = "getOrders: HTTP 503 <b>unavailable</b>", now - timedelta(seconds=5)
    web.last_push_at = now - timedelta(seconds=1)
    web.orders_behind = True
    return w, DaemonView(w.engine).status()


async def test_status_json_derives_failing_from_the_pull(tmp_path: Path) -> None:
    w, status = await pulls_failing_pushes_fine(tmp_path)
    channels = status["channels"]
    assert isinstance(channels, dict)
    assert channels["web"]["state"] == "failing"
    assert channels["web"]["engine_state"] == "ok"
    assert "pull" in channels["web"]["why"]
    assert channels["web"]["orders_behind"] is True
    assert channels["pos"]["state"] == "ok"
    assert status["quarantined_lines"] == 0
    ready, body = DaemonView(w.engine).readiness()
    assert ready, "a failing channel does not stop the daemon taking webhooks for the others"
    assert body["channels"] == {"web": "failing", "pos": "ok"}, "/readyz no longer says a bare ok over it"
    assert body["failing"] == ["web"]
    await w.engine.aclose()


def test_local_time_is_readable() -> None:
    assert local_time(None) == "never"
    shown = local_time("2026-12-04T10:05:09+00:00", "2026-12-04T10:06:00+00:00")
    assert shown.startswith('<time datetime="2026-12-04T10:05:09+00:00">')
    local = datetime.fromisoformat("2026-12-04T10:05:09+00:00").astimezone()
    assert f">{local:%H:%M:%S}</time>" in shown, "the machine's local time, seconds, no ISO T"
    other_day = local_time("2026-12-01T10:05:00+00:00", "2026-12-04T10:06:00+00:00")
    assert f"{datetime.fromisoformat('2026-12-01T10:05:00+00:00').astimezone():%b}" in other_day


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed at /usr/bin/chromium")
async def test_the_page_in_headless_chromium(tmp_path: Path) -> None:
    w, status = await pulls_failing_pushes_fine(tmp_path)
    await w.engine.aclose()
    page = tmp_path / "status.html"
    page.write_text(render_status_page(status), encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--dump-dom",
        page.as_uri(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    dom = out.decode()
    assert '<tr data-channel="web" data-state="failing">' in dom, "not ok beside a red error"
    assert '<tr data-channel="pos" data-state="ok">' in dom
    assert "orders behind" in dom
    assert "getOrders: HTTP 503 &lt;b&gt;unavailable&lt;/b&gt;" in dom
    assert dom.count("<time datetime=") >= 4  # last pull, last push, the error's time, as of
    assert "No oversold SKU" in dom
    assert "No quarantined order line" in dom
