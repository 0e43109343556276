"""The engine with the emulated Shopify shop: the stale compare-and-set path end to end, and the
listing publication.

A sale on the shop between two pushes must not be overwritten: the push carries the last
acknowledged quantity as ``changeFromQuantity``, Shopify answers CHANGE_FROM_QUANTITY_STALE, the
engine pulls the order, re-plans and pushes again.

A new product is written and published, an edit of a published product is the ``productSet`` alone
(nothing published again), a discontinued one is unpublished (DRAFT, off the sales channel), and one
active again is republished.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from omnisync_connectors.shopify.emulator import ShopifyEmulator
from omnisync_connectors.shopify.emulator_products import PUBLICATION

from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.engine.runtime import Engine
from omnisync.ledger.db import make_engine
from omnisync.ledger.journal import history
from omnisync.ledger.repository import Ledger
from omnisync.ledger.rows import CatalogueItem

CONFIG = """\
ledger:
  url: sqlite:///{db}
currency: USD
locations:
  - {{code: WH, name: Warehouse, kind: warehouse}}
channels:
  web:
    connector: shopify
    sources: [WH]
    mapping: web.yaml
    settings:
      shop: {shop}
      access_token: ${{SHOPIFY_TOKEN}}
      webhook_secret: ${{SHOPIFY_WEBHOOK_SECRET}}
      locations: {{WH: "{warehouse}"}}
      publication_id: "{publication}"
"""


class World:
    def __init__(self, folder: Path, mapping: str = "listings: update\n") -> None:
        self.clock = VirtualClock()
        self.shop = ShopifyEmulator(self.clock, locations=("warehouse",))
        (folder / "web.yaml").write_text(mapping)
        path = folder / "omnisync.yaml"
        path.write_text(
            CONFIG.format(
                db=folder / "ledger.db",
                shop=self.shop.shop,
                warehouse=self.shop.locations["warehouse"],
                publication=PUBLICATION,
            )
        )
        env = {"SHOPIFY_TOKEN": self.shop.access_token, "SHOPIFY_WEBHOOK_SECRET": self.shop.webhook_secret}
        loaded = load_config(path, env=env)
        self.ledger = Ledger(make_engine(loaded.ledger_url()))
        self.engine = Engine(loaded, self.ledger, clock=self.clock, transports={"web": self.shop.transport()})

    async def start(self, units: int) -> None:
        self.engine.migrate_and_seed()
        with self.ledger.tx() as tx:
            tx.upsert_product("MUG", title="Mug", price=Decimal("12.00"), currency="USD")
            tx.record_movement("MUG", "WH", "receipt", units, "seed:WH", at=self.clock.now())
        self.shop.seed("MUG", 0, "12.00")
        await self.engine.start()


@pytest.fixture
async def world(tmp_path: Path) -> World:
    w = World(tmp_path)
    await w.start(units=10)
    reports = await w.engine.sync_once()
    assert all(r.ok for r in reports.values()), reports
    assert w.shop.quantity("MUG") == 10
    return w


async def test_a_sale_between_two_pushes_is_not_overwritten(world: World) -> None:
    world.shop.place_order("MUG", 2)  # the shop shows 8; the ledger still believes 10
    with world.ledger.tx() as tx:  # a delivery lands before the order is pulled: the target becomes 14
        tx.record_movement("MUG", "WH", "receipt", 4, "delivery:1", at=world.clock.now())
    report = await world.engine.cycle("web", pull=False)  # push first: changeFromQuantity 10 is stale
    assert report.ok, report
    stale = [r for r in world.shop.requests if "CHANGE_FROM_QUANTITY_STALE" in str(r["response"])]
    assert stale, "the first push met the sale and was refused"
    # the live read (8) holds a sale the ledger has not imported: the raise to 14 would overwrite it,
    # so it waits for the pull the push asked for
    assert report.push.wants_pull
    assert world.shop.quantity("MUG") == 8, "the sale survived: the raise waits for the pull"
    again = await world.engine.cycle("web")
    assert world.shop.quantity("MUG") == 12, "10 - 2 sold + 4 delivered"
    assert again.orders.imported == 1
    settled = await world.engine.cycle("web")
    assert settled.push.pushed == 0, "settled: the sale was imported once and nothing is left to push"
    assert world.shop.quantity("MUG") == 12


async def test_a_target_that_returns_to_an_earlier_number_at_the_same_version_is_pushed_again(
    world: World,
) -> None:
    """The adaptive policy's targets move with time, not only with stock: at one ledger version a
    pair can go 10 -> 9 -> 10. The third push carries the same values as the first (10 from 9 at
    that version); had it the same @idempotent key, Shopify would answer the first push's result
    again without applying it, the engine would record 10 and the shop would keep showing 9 (seed 7
    of the trading day under the adaptive policy: no convergence after the reconcile)."""
    calculator = world.engine.calculator
    rules = calculator.channels["web"]
    channel_id = world.engine.channels["web"].channel_id

    async def push_with(buffer: int) -> None:
        calculator.channels["web"] = replace(rules, quantity=replace(rules.quantity, buffer_units=buffer))
        with world.ledger.tx() as tx:
            tx.mark_all_dirty(channel_id)
        world.clock.advance(60)
        report = await world.engine.cycle("web")
        assert report.ok, report

    await push_with(1)  # 9 from 10: the first change at this version
    assert world.shop.quantity("MUG") == 9
    await push_with(0)  # 10 from 9
    assert world.shop.quantity("MUG") == 10
    await push_with(1)  # 9 from 10 again, the same version and values as the first
    assert world.shop.quantity("MUG") == 9
    await push_with(0)
    assert world.shop.quantity("MUG") == 10
    with world.ledger.read() as conn:
        (listing,) = world.ledger.listings(conn, channel_id)
    assert listing.acked_quantity == 10


TEE: CatalogueItem = {
    "handle": "TEE",
    "title": "Classic tee",
    "description": "<p>Plain.</p>",
    "brand": "Acme",
    "condition": "new",
    "status": "active",
    "images": ["https://img.example/tee.jpg"],
    "attributes": {},
    "options": ["Size"],
}


def operations(shop: ShopifyEmulator) -> list[str]:
    found = [re.search(r"(?:query|mutation) (\w+)", r["query"]) for r in shop.requests]
    return [m.group(1) for m in found if m]


async def test_only_what_is_not_published_yet_is_published(tmp_path: Path) -> None:
    w = World(tmp_path, mapping="listings: create\n")
    shop, ledger, engine = w.shop, w.ledger, w.engine
    engine.migrate_and_seed()
    with ledger.tx() as tx:
        for size in ("S", "M"):
            tx.upsert_product(f"TEE-{size}", title=f"Tee {size}", price=Decimal("20.00"), currency="USD")
        tx.upsert_catalogue([TEE], {"TEE-S": ("TEE", {"Size": "S"}), "TEE-M": ("TEE", {"Size": "M"})})
    await engine.start()
    engine.ensure_listings()

    async def push(**change: str) -> list[str]:
        if change:
            with ledger.tx() as tx:
                tx.upsert_catalogue([{**TEE, **change}], {})  # type: ignore[typeddict-item]
        shop.requests.clear()
        _, done = await engine.push_listings("web", dirty_only=True)
        assert done.issues == {}, done.issues
        return [op for op in operations(shop) if op not in ("OmnisyncLocations",)]

    assert await push() == ["OmnisyncProductSet", "OmnisyncPublicationUpdate"]
    assert shop.listing("tee")["published"] is True  # type: ignore[index]

    assert await push(title="Classic tee, organic") == ["OmnisyncProductSet"], "published already"
    assert shop.listing("tee")["title"] == "Classic tee, organic"  # type: ignore[index]

    assert await push(title="Classic tee, organic", status="discontinued") == [
        "OmnisyncProductStatus",
        "OmnisyncPublicationUpdate",
    ]
    shown = shop.listing("tee")
    assert shown is not None, "never deleted"
    assert (shown["published"], shown["status"]) == (False, "DRAFT")

    assert await push(title="Classic tee, organic") == ["OmnisyncProductSet", "OmnisyncPublicationUpdate"]
    assert shop.listing("tee")["published"] is True, "active again: republished"  # type: ignore[index]
    await engine.aclose()


async def test_a_returns_dispositions_land_in_the_buckets_once(world: World) -> None:
    """Five mugs shipped, returned: one restocked is offered again, one not restocked goes to the
    damaged bucket, one to inspect waits in its bucket, one missing comes back nowhere; pulling the
    order again journals nothing twice, and a webhook of the refunded order asks for that pull rather
    than carrying a version without the dispositions."""
    order = world.shop.place_order("MUG", 5)
    await world.engine.cycle("web")
    world.shop.fulfill(order)
    await world.engine.cycle("web")
    world.clock.advance(60)
    world.shop.return_items(order, "MUG", restocked=1, not_restocked=1, processing=1, missing=1)
    headers, body, _ = world.shop.signed_webhook(order, "orders/updated")
    [event] = world.engine.channels["web"].connector.parse_webhook(headers, body)
    assert event.order is None, "the refunded order is pulled, not taken from the REST payload"
    await world.engine.cycle("web")
    world.clock.advance(60)
    await world.engine.cycle("web")

    def levels() -> tuple[int, int, int]:
        with world.ledger.read() as conn:
            pid = world.ledger.product_id(conn, "MUG")
            wh = world.ledger.location_id(conn, "WH")
            on_hand, _ = world.ledger.stock_for(conn, [pid])[pid][wh]
            held = world.ledger.buckets(conn, [pid]).get(pid, {}).get(wh, {})
        return on_hand, held.get("damaged", 0), held.get("inspect", 0)

    assert levels() == (10 - 5 + 1, 1, 1)
    assert world.shop.quantity("MUG") == 6, "the restocked unit is offered again, the others are not"
    with world.ledger.read() as conn:
        moves = [m for m in history(conn, "MUG") if m["kind"] == "return"]
    assert sorted((m["quantity"], m["bucket"] or "") for m in moves) == [
        (1, ""),
        (1, "damaged"),
        (1, "inspect"),
    ]
