"""Fulfillment by Amazon as a location the engine reads and never pushes: its stock from
getInventorySummaries, AFN orders imported once as sales from it (no reservation in the merchant's
warehouse, Amazon's MFN listing untouched), no double count when the next FBA read arrives, a web
store drawing on it, and the books balancing (journal = on_hand, reservations = reserved)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from amazon_fixtures import Recording, model_for
from amazonworld import AmazonWorld
from typer.testing import CliRunner

from omnisync import reports
from omnisync.cli import app
from omnisync.daemon.http import create_app
from omnisync.ledger import queries
from omnisync.yamlsource import ConfigFileError

SKUS = ["TEE-0", "TEE-1"]
LOCATIONS = [
    {"code": "WH", "name": "Warehouse", "kind": "warehouse"},
    {"code": "FBA-US", "name": "Amazon US fulfilment centres", "kind": "fba"},
]
FBA = {"fba_locations": {"FBA-US": "ATVPDKIKX0DER"}}


class World(AmazonWorld):
    recording: Recording

    async def sync(self) -> None:
        self.clock.advance(120)
        await super().sync()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = World(
        tmp_path,
        locations=LOCATIONS,
        # the web store may sell what sits at Amazon (shipping it is the merchant's business);
        # Amazon's MFN offer draws on the warehouse only
        web_sources=["WH", "FBA-US"],
        amazon_settings=FBA,
    )
    w.recording = Recording(w.amazon.transport())
    w.engine.transports["amazon"] = w.recording
    await w.start(SKUS, 5)
    w.amazon.seed_fba("TEE-0", 10, inbound=4)
    yield w
    await w.close()


async def test_fba_stock_is_read_offered_where_configured_and_never_pushed(world: World) -> None:
    await world.sync()
    assert world.stock("TEE-0")["FBA-US"] == (10, 0)
    assert world.web.items["TEE-0"].quantity == 15, "the web store draws on the warehouse and FBA"
    assert world.amazon.quantity("TEE-0") == 5, "Amazon's MFN offer: the warehouse alone"
    assert world.amazon.fba["TEE-0"].fulfillable == 10
    with world.ledger.read() as conn:
        notes = queries.count_notes(conn, "TEE-0")
    assert notes == {"FBA-US": "amazon count 10 (fulfillable 10, inbound 4, reserved 0)"}, "inbound shown"
    assert world.books_balance() == []


async def test_an_afn_order_is_a_sale_from_fba_counted_once(world: World) -> None:
    await world.sync()
    order_id = world.amazon.place_fba_order("TEE-0", 3)
    await world.sync()
    assert world.stock("TEE-0") == {"WH": (5, 0), "FBA-US": (10, 3)}, "reserved at FBA, not at WH"
    assert world.web.items["TEE-0"].quantity == 12
    assert world.amazon.quantity("TEE-0") == 5, "the MFN listing never held these units"
    with world.ledger.read() as conn:
        cid = world.ledger.channel_id(conn, "amazon")
        assert queries.imported_orders(conn, cid) == [order_id]

    # the next reads (Amazon: 7 fulfillable + 3 for the order) count nothing twice
    await world.sync()
    assert world.stock("TEE-0") == {"WH": (5, 0), "FBA-US": (10, 3)}
    assert world.web.items["TEE-0"].quantity == 12

    world.amazon.ship_order(order_id)
    await world.sync()
    assert world.stock("TEE-0") == {"WH": (5, 0), "FBA-US": (7, 0)}
    assert world.web.items["TEE-0"].quantity == 12

    world.amazon.receive_fba("TEE-0", 4)  # the inbound shipment is received
    await world.sync()
    assert world.stock("TEE-0")["FBA-US"] == (11, 0)
    assert world.web.items["TEE-0"].quantity == 16
    assert world.books_balance() == []


async def test_a_cancelled_afn_order_gives_its_units_back(world: World) -> None:
    await world.sync()
    order_id = world.amazon.place_fba_order("TEE-0", 2)
    await world.sync()
    world.amazon.cancel_order(order_id)
    await world.sync()
    assert world.stock("TEE-0")["FBA-US"] == (10, 0)
    assert world.web.items["TEE-0"].quantity == 15
    assert world.books_balance() == []


async def test_fba_requests_and_answers_follow_the_model(world: World, specs_dir: Path) -> None:
    world.amazon.seed_fba("TEE-1", 1)
    await world.sync()
    await world.sync()
    exchanges = [(q, r) for q, r in world.recording.exchanges if q.url.path.startswith("/fba/")]
    assert len(exchanges) >= 2
    for request, response in exchanges:
        model = model_for(specs_dir, str(request.url))
        operation = model.validate_request(request.method, str(request.url), request.content)
        assert operation == "getInventorySummaries"
        model.validate_response(request.method, str(request.url), response.status_code, response.json())
    assert "startDateTime" in str(exchanges[-1][0].url), "after the first, only what changed"


async def test_the_engine_refuses_amazon_drawing_on_its_own_fba_location(tmp_path: Path) -> None:
    """Amazon's merchant-fulfilled offer listing its own FBA location as a source would offer the
    units Amazon ships itself: the daemon, sync and every command that starts the engine refuse it
    before any call, in one line naming the key."""
    w = World(
        tmp_path,
        locations=LOCATIONS,
        amazon_sources=["WH", "FBA-US"],
        amazon_settings=FBA,
    )
    with pytest.raises(ConfigFileError) as refused:
        await w.start(SKUS, 5)
    message = str(refused.value)
    assert len(message.splitlines()) == 1
    assert ": channels.amazon.sources.1: 'FBA-US' is this channel's own fba location" in message
    assert sum(w.amazon.calls.values()) == 0, "refused before any call"
    await w.close()


async def test_explain_and_the_sku_page_show_amazons_breakdown(world: World, tmp_path: Path) -> None:
    """fulfillable, inbound and reserved as Amazon last gave them, on the row of the channel that
    reads the location (amazon) and of the one that draws on it (web), in ``explain`` (data and text)
    and on the status page's SKU view; kept up to date when the count itself does not move."""
    await world.sync()
    rows = reports.explain_sku(world.engine, "TEE-0")
    fba = rows["web"]["external_stock"]["FBA-US"]
    assert (fba["channel"], fba["count"]) == ("amazon", 10)
    assert fba["details"] == {"fulfillable": 10, "inbound": 4, "reserved": 0}
    assert rows["amazon"]["external_stock"] == rows["web"]["external_stock"], "the channel that reads it"

    world.amazon.place_fba_order("TEE-0", 3)  # Amazon's count stays 10: 7 fulfillable, 3 for the order
    world.amazon.fba["TEE-0"].inbound_shipped = 6
    await world.sync()
    fba = reports.explain_sku(world.engine, "TEE-0")["web"]["external_stock"]["FBA-US"]
    assert (fba["count"], fba["details"]) == (10, {"fulfillable": 7, "inbound": 6, "reserved": 3})
    assert "external_stock" not in reports.explain_sku(world.engine, "TEE-1")["web"], "no FBA count"

    runner = CliRunner(env={"COLUMNS": "200"})  # the CLI runs its own loop: in a thread of its own
    args = ["-c", str(tmp_path / "omnisync.yaml"), "explain", "TEE-0"]
    text = await asyncio.to_thread(runner.invoke, app, args)
    assert text.exit_code == 0, text.output
    assert "FBA-US: amazon counts 10 (fulfillable 7, inbound 6, reserved 3), read " in text.output

    daemon = create_app(world.engine, world.engine.config.daemon)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=daemon), base_url="http://d") as client:
        page = (await client.get("/sku/TEE-0")).text
    assert "<th>the channel's own count</th>" in page
    assert "amazon counts 10 (fulfillable 7, inbound 6, reserved 3)" in page
