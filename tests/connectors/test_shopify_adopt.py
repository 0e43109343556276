"""Adopting a Shopify store: `catalog import --from` builds the master catalogue from its products, and
`listings link` finds its listings by SKU, then by barcode (the engine over the emulated shop)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from omnisync_connectors.shopify.emulator import ShopifyEmulator

from omnisync.catalogue.plan import ListingAction
from omnisync.clock import VirtualClock
from omnisync.config import load_config
from omnisync.engine.runtime import Engine
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger

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
      locations: {{WH: "{warehouse}"}}
"""
MAPPING = "# the web store\nlistings: update\n"
TEE = [
    ("TEE-S", {"Size": "S", "Colour": "Red"}, "4006381333986", "19.90"),
    ("TEE-M", {"Size": "M", "Colour": "Red"}, "4006381333993", "19.90"),
]


class World:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.clock = VirtualClock()
        self.shop = ShopifyEmulator(self.clock, locations=("warehouse",))
        (folder / "web.yaml").write_text(MAPPING)
        self.path = folder / "omnisync.yaml"
        self.path.write_text(
            CONFIG.format(
                db=folder / "ledger.db", shop=self.shop.shop, warehouse=self.shop.locations["warehouse"]
            )
        )
        self.ledger = Ledger(make_engine(load_config(self.path, env=self.env).ledger_url()))
        self.engine = self.new_engine()

    @property
    def env(self) -> dict[str, str]:
        return {"SHOPIFY_TOKEN": self.shop.access_token}

    def new_engine(self) -> Engine:
        loaded = load_config(self.path, env=self.env)
        return Engine(loaded, self.ledger, clock=self.clock, transports={"web": self.shop.transport()})

    def catalogue(self) -> dict[str, object]:
        with self.ledger.read() as conn:
            return {p.handle: p for p in self.ledger.catalogue(conn)}


@pytest.fixture
async def world(tmp_path: Path) -> World:
    w = World(tmp_path)
    w.engine.migrate_and_seed()
    w.shop.seed_product(
        "classic-tee",
        "Classic tee",
        TEE,
        description="<p>Soft cotton.</p>",
        vendor="Acme",
        product_type="Apparel",
        images=["https://img.example/tee-1.jpg", "https://img.example/tee-2.jpg"],
    )
    w.shop.seed("MUG", 0, "7.50")  # a product without options: Shopify's Default Title
    await w.engine.start()
    return w


async def test_a_dry_run_writes_nothing_and_write_builds_the_catalogue(world: World) -> None:
    dry = await world.engine.import_catalogue("web")
    assert sorted(dry.created) == ["classic-tee", "mug"]
    assert sorted(dry.new_skus) == ["MUG", "TEE-M", "TEE-S"]
    assert world.catalogue() == {}, "a dry run writes nothing"
    with world.ledger.read() as conn:
        assert world.ledger.products(conn) == []

    done = await world.engine.import_catalogue("web", write=True)
    assert done.created == dry.created
    tee = world.catalogue()["classic-tee"]
    assert (tee.title, tee.brand, tee.description) == ("Classic tee", "Acme", "<p>Soft cotton.</p>")  # type: ignore[attr-defined]
    assert tee.images == ("https://img.example/tee-1.jpg", "https://img.example/tee-2.jpg")  # type: ignore[attr-defined]
    assert tee.options == ("Size", "Colour")  # type: ignore[attr-defined]
    variants = {v.sku: v for v in tee.variants}  # type: ignore[attr-defined]
    assert variants["TEE-S"].options == {"Size": "S", "Colour": "Red"}
    assert variants["TEE-S"].barcode == "4006381333986"
    assert (variants["TEE-M"].price, variants["TEE-M"].currency) == (Decimal("19.90"), "USD")
    assert variants["TEE-M"].title == "Classic tee - M / Red"
    mug = world.catalogue()["mug"]
    assert mug.options == ()
    assert [v.sku for v in mug.variants] == ["MUG"]

    planned = {p.product: p.decision.action for p in world.engine.plan_listings("web")}
    assert planned["classic-tee"] is ListingAction.UPDATE, "the shop's listing is linked, not created again"
    again = await world.engine.import_catalogue("web", write=True)
    assert again.created == []
    assert again.new_skus == []
    assert sorted(again.unchanged) == ["classic-tee", "mug"]


async def test_merchant_data_is_kept_unless_overwrite(world: World) -> None:
    with world.ledger.tx() as tx:
        tx.upsert_product("TEE-S", title="Tee small", price=Decimal("21.00"), currency="USD")
        tx.upsert_catalogue(
            [
                {"handle": "classic-tee", "title": "Our tee", "description": "", "brand": "",
                 "condition": "new", "status": "active", "images": [], "attributes": {"material": "cotton"},
                 "options": ["Size", "Colour"]}
            ],
            {"TEE-S": ("classic-tee", {"Size": "S", "Colour": "Red"})},
        )  # fmt: skip
    found = await world.engine.import_catalogue("web", write=True)
    assert found.completed["classic-tee"] == ["description", "brand", "images", "+1 variants"]
    assert "classic-tee: title differs on the channel; the catalogue's is kept" in found.kept
    assert (
        "classic-tee: SKU TEE-S price differs on the channel (19.90 USD there, 21.00 USD in the ledger); "
        "the ledger's is kept"
    ) in found.kept
    tee = world.catalogue()["classic-tee"]
    assert (tee.title, tee.brand, tee.attributes) == ("Our tee", "Acme", {"material": "cotton"})  # type: ignore[attr-defined]
    with world.ledger.read() as conn:
        small = world.ledger.products(conn, ["TEE-S"])[0]
    assert (small.title, small.price, small.barcode) == ("Tee small", Decimal("21.00"), "4006381333986")

    await world.engine.import_catalogue("web", write=True, overwrite=True)
    assert world.catalogue()["classic-tee"].title == "Classic tee"  # type: ignore[attr-defined]
    with world.ledger.read() as conn:
        assert world.ledger.products(conn, ["TEE-S"])[0].price == Decimal("19.90")


async def test_link_finds_a_listing_by_barcode_and_links_it_once_aliased(world: World) -> None:
    with world.ledger.tx() as tx:  # the catalogue names the tee's SKUs otherwise than the shop does
        for sku, barcode in (("AC-TEE-S", "4006381333986"), ("AC-TEE-M", "04006381333993")):
            tx.upsert_product(sku, title=sku, barcode=barcode, price=Decimal("19.90"), currency="USD")
        tx.upsert_product("MUG", title="Mug", price=Decimal("7.50"), currency="USD")
        tx.upsert_catalogue(
            [
                {"handle": h, "title": h, "description": "", "brand": "", "condition": "new",
                 "status": "active", "images": [], "attributes": {}, "options": o}
                for h, o in (("tee", ["Size"]), ("mug", []))
            ],
            {"AC-TEE-S": ("tee", {"Size": "S"}), "AC-TEE-M": ("tee", {"Size": "M"}), "MUG": ("mug", None)},
        )  # fmt: skip
    world.engine.ensure_listings()
    report = await world.engine.link_listings("web")
    plan = report.plan
    assert plan.linked == ["mug"]
    assert plan.unmatched == ["tee"]
    assert {(m.sku, m.channel_sku) for m in plan.by_barcode} == {("AC-TEE-S", "TEE-S"), ("AC-TEE-M", "TEE-M")}
    assert report.aliases_written == {}
    assert "sku_aliases" not in (world.folder / "web.yaml").read_text(), "nothing written without asking"

    report = await world.engine.link_listings("web", write_aliases=True)
    assert report.aliases_written == {"AC-TEE-S": "TEE-S", "AC-TEE-M": "TEE-M"}
    text = (world.folder / "web.yaml").read_text()
    assert text.startswith("# the web store\nlistings: update\n"), "the merchant's lines are kept"
    assert "  AC-TEE-S: TEE-S\n" in text
    engine = world.new_engine()  # a fresh start reads the aliases: the linked listings keep their ids
    await engine.start()
    with world.ledger.read() as conn:
        rt = engine.channels["web"]
        rows = {r.sku: r for r in world.ledger.listings(conn, rt.channel_id)}
    assert rows["AC-TEE-S"].channel_sku == "TEE-S"
    assert rows["AC-TEE-S"].ids["variant_id"] == world.shop.ids("TEE-S")["variant_id"]  # type: ignore[index]
    relinked = await engine.link_listings("web")
    assert relinked.plan.linked == ["mug", "tee"]
    assert relinked.plan.by_barcode == []
    await engine.aclose()
