"""A listing sync to run over the emulators: two catalogue products and the templates that let every
built-in channel create them. The demo (:mod:`omnisync.demo.listings`) and the simulation
(:mod:`omnisync.simulate.run`) both use it, and check the outcome with
:func:`omnisync.invariants.listing_problems`.

A canvas tote is in the catalogue from the start; later a wool scarf is added (with stock) and the
tote discontinued. Every channel whose mapping says ``listings: create`` must then list the scarf
with its variants and show the tote unpublished, never deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omnisync.invariants import ListingExpected

TEMPLATES: dict[str, dict[str, Any]] = {
    "shopify": {"listings": "create", "listing": {"category": "Accessories"}},
    "amazon": {"listings": "create", "listing": {"category": "PRODUCT"}},
    "square": {"listings": "create"},
    "instagram": {"listings": "create", "listing": {"link": "https://shop.example/products/{product}"}},
    "fake": {"listings": "create"},
}
"""Per connector kind: the mapping keys that let the channel create the listings (Amazon's product
type, Meta's product page link)."""


@dataclass(frozen=True)
class SyncProduct:
    handle: str
    title: str
    option: str
    variants: tuple[tuple[str, str, str, int, int], ...]
    """(SKU, option value, barcode, units at WH, units at STORE)."""
    price: Decimal

    @property
    def skus(self) -> list[str]:
        return [v[0] for v in self.variants]


TOTE = SyncProduct(
    "canvas-tote",
    "Canvas tote",
    "Size",
    (("TOTE-S", "S", "4000000070016", 6, 2), ("TOTE-L", "L", "4000000070023", 4, 2)),
    Decimal("24.00"),
)
SCARF = SyncProduct(
    "wool-scarf",
    "Wool scarf",
    "Colour",
    (("SCARF-GREY", "Grey", "4000000070030", 5, 3), ("SCARF-NAVY", "Navy", "4000000070047", 3, 1)),
    Decimal("39.00"),
)


def put(
    tx: Any, product: SyncProduct, *, currency: str, at: Any, actor: str, locations: Mapping[str, str]
) -> dict[tuple[str, str], int]:
    """The product into the catalogue (its SKUs, their stock received once, its content) on ledger
    transaction ``tx``. ``locations``: WH/STORE -> the ledger's location codes for them. Returns the
    units received per (SKU, location)."""
    received: dict[tuple[str, str], int] = {}
    for sku, value, barcode, wh, store in product.variants:
        tx.upsert_product(
            sku, title=f"{product.title} {value}", barcode=barcode, price=product.price, currency=currency
        )
        for role, units in (("WH", wh), ("STORE", store)):
            location = locations.get(role)
            if units and location:
                tx.record_movement(
                    sku, location, "receipt", units, f"{actor}-seed:{sku}:{location}", at=at, actor=actor
                )
                received[(sku, location)] = units
    tx.upsert_catalogue(
        [item(product)],
        {sku: (product.handle, {product.option: value}) for sku, value, *_ in product.variants},
    )
    return received


def item(product: SyncProduct, status: str = "active") -> dict[str, Any]:
    """The product's catalogue content (``upsert_catalogue``'s item)."""
    return {
        "handle": product.handle,
        "title": product.title,
        "description": f"<p>The {product.title.lower()}, <b>made to last</b>.</p>",
        "brand": "Omnisync Demo",
        "condition": "new",
        "status": status,
        "images": [f"https://img.example/{product.handle}-1.jpg"],
        "attributes": {},
        "options": [product.option],
    }


def discontinue(tx: Any, product: SyncProduct) -> None:
    tx.upsert_catalogue([item(product, "discontinued")], {})


def expected(changed: bool) -> list[ListingExpected]:
    """What every creating channel must show: the tote listed before the change; after it, the tote
    unpublished and the scarf listed."""
    tote = ListingExpected(TOTE.handle, published=not changed, variants=tuple(TOTE.skus))
    if not changed:
        return [tote]
    return [tote, ListingExpected(SCARF.handle, published=True, variants=tuple(SCARF.skus))]
