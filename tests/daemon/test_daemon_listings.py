"""The daemon's listing job: its own job per channel that manages listings, in its own lane."""

from __future__ import annotations

import asyncio
from pathlib import Path

from enginekit import World

from omnisync.config import DaemonConfig
from omnisync.daemon.scheduler import Scheduler
from omnisync.ledger.rows import CatalogueItem


async def test_the_listing_job_keeps_the_catalogue_on_every_channel_beside_the_pushes(tmp_path: Path) -> None:
    w = World(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    await w.start({"MUG": (10, 5), "TEE": (3, 0)})
    with w.ledger.tx() as tx:
        item: CatalogueItem = {
            "handle": "SHIRT",
            "title": "Shirt",
            "description": "Plain.",
            "brand": "Acme",
            "condition": "new",
            "status": "active",
            "images": [],
            "attributes": {},
            "options": [],
        }
        tx.upsert_catalogue([item], {"TEE": ("SHIRT", None)})
    w.engine.ensure_listings()
    scheduler = Scheduler(w.engine, DaemonConfig())
    scheduler.start()
    await scheduler.drain()
    jobs = scheduler.jobs()
    assert {"listings:web", "listings:pos"} <= set(jobs)
    assert "interval[0:05:00]" in jobs["listings:web"]

    gate = w.engine.channels["web"].gate
    async with gate.enter("listings"):  # a listing run in progress holds only its own lane
        w.web.place_order("WEB-MUG", 1)
        await asyncio.wait_for(scheduler.push("web"), 5)
    await scheduler.listings("web")
    await scheduler.drain()
    shirt = w.web.listings.by_key("SHIRT")
    assert shirt is not None, "TEE was on the web store: the listing job wrote its content"
    assert (shirt.title, sorted(shirt.variants)) == ("Shirt", ["TEE"])
    assert scheduler.activity["web"].cycles[("listings", "ok")] == 1
    await scheduler.shutdown()
