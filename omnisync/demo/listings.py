"""The demo's listing sync: two catalogue products the daemon lists from the master catalogue.

Every channel's mapping says ``listings: create``. A canvas tote is in the catalogue from the start and
the listing job creates it on every channel before trading; halfway through trading a wool scarf is
added to the catalogue (with stock) and the tote is discontinued, and the listing job runs again: the
scarf appears on every channel with its variants, its stock follows through the ordinary pushes, and
the tote is unpublished everywhere, never deleted. The verdict checks both
(:func:`omnisync.invariants.listing_problems`). Shoppers buy only the catalogue's plain SKUs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omnisync.engine.runtime import Engine
from omnisync.invariants import ListingExpected, listing_problems

from .channels import CURRENCY, DemoChannel

TEMPLATES: dict[str, dict[str, Any]] = {
    "shopify": {"listings": "create", "listing": {"category": "Accessories"}},
    "amazon": {"listings": "create", "listing": {"category": "PRODUCT"}},
    "square": {"listings": "create"},
    "instagram": {"listings": "create", "listing": {"link": "https://shop.example/products/{product}"}},
}
"""Per connector: the listing template of the demo's mapping (Amazon's product type, Meta's link)."""


@dataclass(frozen=True)
class DemoProduct:
    handle: str
    title: str
    option: str
    variants: tuple[tuple[str, str, str, int, int], ...]
    """(SKU, option value, barcode, units at WH, units at STORE)."""
    price: Decimal

    @property
    def skus(self) -> list[str]:
        return [v[0] for v in self.variants]


TOTE = DemoProduct(
    "canvas-tote",
    "Canvas tote",
    "Size",
    (("TOTE-S", "S", "4000000070016", 6, 2), ("TOTE-L", "L", "4000000070023", 4, 2)),
    Decimal("24.00"),
)
SCARF = DemoProduct(
    "wool-scarf",
    "Wool scarf",
    "Colour",
    (("SCARF-GREY", "Grey", "4000000070030", 5, 3), ("SCARF-NAVY", "Navy", "4000000070047", 3, 1)),
    Decimal("39.00"),
)


def templates(channels: Sequence[DemoChannel]) -> None:
    """Each channel's mapping gets its listing template."""
    for ch in channels:
        ch.mapping.update(TEMPLATES.get(ch.connector, {}))
        ch.config["mapping"] = f"mappings/{ch.name}.yaml"


def put(engine: Engine, product: DemoProduct, *, status: str = "active") -> None:
    """The product into the catalogue (its SKUs, their stock once, its content) in one transaction."""
    now = engine.clock.now()
    with engine.ledger.tx() as tx:
        for sku, value, barcode, wh, store in product.variants:
            tx.upsert_product(
                sku, title=f"{product.title} {value}", barcode=barcode, price=product.price, currency=CURRENCY
            )
            for location, units in (("WH", wh), ("STORE", store)):
                if units:
                    key = f"demo-seed:{sku}:{location}"
                    tx.record_movement(sku, location, "receipt", units, key, at=now, actor="demo")
        tx.upsert_catalogue(
            [
                {
                    "handle": product.handle,
                    "title": product.title,
                    "description": f"<p>The demo's {product.title.lower()}, <b>made to last</b>.</p>",
                    "brand": "Omnisync Demo",
                    "condition": "new",
                    "status": status,
                    "images": [f"https://img.example/{product.handle}-1.jpg"],
                    "attributes": {},
                    "options": [product.option],
                }
            ],
            {sku: (product.handle, {product.option: value}) for sku, value, *_ in product.variants},
        )
    engine.ensure_listings()


@dataclass
class ListingSync:
    """The listing sync the demo runs and checks."""

    engine: Engine
    channels: Sequence[DemoChannel]
    run_listings: Callable[[str], Awaitable[None]]
    """The daemon's listing job for a channel (the scheduler's, as its timetable would run it)."""
    changed: bool = False

    async def start(self) -> str:
        put(self.engine, TOTE)
        await self._job()
        return f"listings: {TOTE.handle} created from the catalogue on {self._names()}"

    async def change(self) -> str:
        """Halfway: the scarf added, the tote discontinued, the listing job run."""
        put(self.engine, SCARF)
        with self.engine.ledger.tx() as tx:
            current = {p.handle: p for p in self.engine.ledger.catalogue(tx.conn, [TOTE.handle])}
            tote = current[TOTE.handle]
            tx.upsert_catalogue(
                [
                    {
                        "handle": tote.handle,
                        "title": tote.title,
                        "description": tote.description,
                        "brand": tote.brand,
                        "condition": tote.condition,
                        "status": "discontinued",
                        "images": list(tote.images),
                        "attributes": dict(tote.attributes),
                        "options": list(tote.options),
                    }
                ],
                {},
            )
        self.changed = True
        await self._job()
        return (
            f"listings: {SCARF.handle} added and {TOTE.handle} discontinued in the catalogue;"
            f" the listing job ran on {self._names()}"
        )

    @property
    def skus(self) -> list[str]:
        """The SKUs whose stock the channels must show (the tote's stop counting once it is gone)."""
        return SCARF.skus if self.changed else TOTE.skus

    def expected(self) -> list[ListingExpected]:
        tote = ListingExpected(TOTE.handle, published=not self.changed, variants=tuple(TOTE.skus))
        if not self.changed:
            return [tote]
        return [tote, ListingExpected(SCARF.handle, published=True, variants=tuple(SCARF.skus))]

    def problems(self) -> dict[str, list[str]]:
        creating = [ch for ch in self.channels if self.engine.manages_listings(ch.name)]
        return listing_problems(self.expected(), {ch.name: ch.double.listing for ch in creating})

    async def _job(self) -> None:
        await asyncio.gather(*(self.run_listings(ch.name) for ch in self.channels))

    def _names(self) -> str:
        return ", ".join(ch.name for ch in self.channels if self.engine.manages_listings(ch.name))
