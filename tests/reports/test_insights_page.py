"""The status page's sales and stock cover charts, the reorder list and a SKU's ``explain``, served by
the daemon itself (Plotly's script included: no CDN) and read back from headless Chromium, with a
screenshot in the test artefacts (skipped where Chromium is absent)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import uvicorn
from enginekit import World
from starlette.applications import Starlette

from omnisync.daemon.http import create_app
from omnisync.engine.intake import ChannelIntake, import_orders
from omnisync.sdk.models import Order, OrderLine, OrderStatus

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless Chromium not installed at /usr/bin/chromium"
)


async def trading(tmp_path: Path) -> World:
    """Ten days of trade: the web shop sells 4 mugs a day (60 in the warehouse), the store a tee a day."""
    w = World(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    await w.start({"MUG": (60, 10), "TEE": (40, 30)})
    with w.ledger.tx() as tx:
        ids = {name: tx.ensure_channel(name, "fake") for name in ("web", "pos")}
    web = ChannelIntake("web", ids["web"], ("WH", "STORE"), resolve_sku=lambda s: s.removeprefix("WEB-"))
    pos = ChannelIntake("pos", ids["pos"], ("STORE",), resolve_sku=lambda s: s)
    now = w.clock.now()
    for day in range(10):
        at = now - timedelta(days=day, minutes=5)
        mugs = (OrderLine("1", "WEB-MUG", 4, fulfilled=4, unit_price=Decimal("12.00")),)
        tee = (OrderLine("1", "TEE", 1, fulfilled=1, unit_price=Decimal("20.00")),)
        import_orders(
            w.ledger, web, [Order(f"W{day}", OrderStatus.FULFILLED, at, mugs, created_at=at)], at=now
        )
        import_orders(
            w.ledger,
            pos,
            [Order(f"P{day}", OrderStatus.FULFILLED, at, tee, created_at=at, location="STORE")],
            at=now,
        )
    return w


@contextlib.asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def chromium(tmp_path: Path, url: str, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1280,2000",
        "--virtual-time-budget=4000",  # under the page's 5 s refresh
        "--run-all-compositor-stages-before-draw",
        *args,
        url,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return out.decode()


async def test_the_page_serves_its_chart_library_and_data(tmp_path: Path) -> None:
    w = await trading(tmp_path)
    app = create_app(w.engine, w.engine.config.daemon)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://daemon") as client:
        page = (await client.get("/")).text
        plotly = await client.get("/static/plotly.min.js")
        assert plotly.status_code == 200
        assert plotly.headers["content-type"].startswith("text/javascript")
        assert len(plotly.content) > 1_000_000, "Plotly's own bundle, from its Python package"
        assert (await client.get("/static/charts.js")).status_code == 200
        assert (await client.get("/static/nope.js")).status_code == 404
        assert '<script src="/static/plotly.min.js">' in page
        assert "cdn" not in page.lower()
        assert '<tr data-sku="MUG">' in page, "20 mugs left, selling 4 a day: on the reorder list"
        assert '<tr data-sku="TEE">' not in page, "70 tees at 1 a day: nothing to order"
        assert "web 480.00 EUR" in page
        sku = await client.get("/sku/MUG")
        assert sku.status_code == 200
        assert 'data-channel="web"' in sku.text
        assert "buffer" in sku.text, "the allocation rules, step by step"
        missing = await client.get("/sku/NOPE")
        assert missing.status_code == 404
        assert "unknown SKU" in missing.text
        form = await client.get("/sku", params={"sku": "MUG"}, follow_redirects=False)
        assert form.headers["location"] == "/sku/MUG"
    await w.engine.aclose()


@needs_chromium
async def test_the_page_in_headless_chromium(tmp_path: Path, artefacts_dir: Path) -> None:
    w = await trading(tmp_path)
    app = create_app(w.engine, w.engine.config.daemon)
    async with served(app) as base:
        shot = artefacts_dir / "status-page-insights.png"
        shot.unlink(missing_ok=True)
        await chromium(tmp_path, f"{base}/", f"--screenshot={shot}")
        dom = await chromium(tmp_path, f"{base}/", "--dump-dom")
        sku_shot = artefacts_dir / "sku-page.png"
        await chromium(tmp_path, f"{base}/sku/MUG", f"--screenshot={sku_shot}")
        sku_dom = await chromium(tmp_path, f"{base}/sku/MUG", "--dump-dom")
    await w.engine.aclose()
    assert shot.stat().st_size > 10_000
    # Plotly ran in the browser and drew both charts: SVG with the channels and the SKUs in them
    assert dom.count('class="main-svg"') >= 4, "two charts, each drawn in Plotly's SVG layers"
    sales = dom[dom.index('id="sales-chart"') : dom.index('id="cover-chart"')]
    assert ">web<" in sales, "one series per channel, named in the legend"
    assert ">pos<" in sales
    cover = dom[dom.index('id="cover-chart"') :]
    assert "MUG @ WH" in cover
    assert "TEE @ STORE" in cover
    assert '<tr data-sku="MUG">' in dom
    assert sku_dom.count('class="channel"') == 2
    assert 'data-channel="web"' in sku_dom
    assert 'data-channel="pos"' in sku_dom
    assert sku_shot.stat().st_size > 5_000
