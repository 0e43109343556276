"""Building or completing the master catalogue from what a channel lists (``omnisync catalog import
--from CHANNEL``). Pure: the channel's products and the ledger's in, what to write and why out.

A channel product becomes the catalogue product of the same handle, or the one its variants already
belong to, or a new one. Its variants are ledger SKUs named by the channel SKU read back through the
mapping's aliases; a variant without SKU cannot be adopted and is reported. What the merchant already
has is kept: an empty field is filled from the channel, a field that differs is reported and left
alone, unless ``overwrite`` takes the channel's. A known SKU's price is compared with what the
channel's price rules make of its master price (a channel showing the master price plus its markup
shows no difference). A new SKU takes the channel's price as its master price (the channel's price
rules are not reversed: a markup in the mapping then applies on top).
Stock is not read: the ledger is the truth for stock, and ``ledger import`` / ``stock receive`` set it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from omnisync.ledger.rows import CatalogueItem, CatalogueRow, ProductItem, ProductRow
from omnisync.pricing import shown_amount
from omnisync.sdk.listings import ChannelProduct, ChannelVariant

PRODUCT_FIELDS = ("title", "description", "brand", "status", "images", "options")

ChannelPrice = Callable[[ProductRow], tuple[Decimal, str]]
"""A ledger SKU -> the price and currency the channel's price rules make of its master price."""


def _as_is(row: ProductRow) -> tuple[Decimal, str]:
    return row.price, row.currency


@dataclass
class Adoption:
    """What importing a channel's catalogue writes, and the report of it."""

    skus: list[ProductItem] = field(default_factory=list)
    """Ledger SKUs to create or complete (every field given, as ``upsert_products`` takes them)."""
    items: list[CatalogueItem] = field(default_factory=list)
    links: dict[str, tuple[str | None, dict[str, str] | None]] = field(default_factory=dict)
    variant_ids: dict[str, Mapping[str, str]] = field(default_factory=dict)
    """Master SKU -> the channel's ids for it (its listing on the channel, linked)."""
    created: list[str] = field(default_factory=list)
    """Catalogue products created."""
    completed: dict[str, list[str]] = field(default_factory=dict)
    """Catalogue product -> the fields filled (or replaced, with overwrite) and ``+N variants``."""
    unchanged: list[str] = field(default_factory=list)
    new_skus: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Differences left as the merchant has them, one line each."""
    skipped: list[str] = field(default_factory=list)
    """Channel variants or products not adopted, one line each with the reason."""


def _empty(value: object) -> bool:
    return value in ("", None, (), [], {})


def _variant_title(product: ChannelProduct, variant: ChannelVariant) -> str:
    if not product.options or not variant.options:
        return product.title
    return f"{product.title} - {' / '.join(variant.options.values())}"


def _content(product: ChannelProduct) -> dict[str, object]:
    return {
        "title": product.title,
        "description": product.description,
        "brand": product.brand,
        "status": product.status,
        "images": list(product.images),
        "options": list(product.options),
    }


def adopt(
    products: Sequence[ChannelProduct],
    catalogue: Sequence[CatalogueRow],
    ledger: Mapping[str, ProductRow],
    master_sku: Callable[[str], str | None],
    *,
    overwrite: bool = False,
    currency: str = "EUR",
    channel_price: ChannelPrice = _as_is,
) -> Adoption:
    """``ledger``: the ledger's SKUs by SKU; ``master_sku``: channel SKU -> master SKU (the mapping's
    aliases); ``currency``: for new SKUs when the channel does not say its own; ``channel_price``: what
    the channel should show for a ledger SKU (its price rules applied), which its price is compared to."""
    out = Adoption()
    by_handle = {p.handle: p for p in catalogue}
    parent = {v.sku: p for p in catalogue for v in p.variants}
    claimed: dict[str, str] = {}
    keys: dict[str, int] = {}
    for product in products:
        keys[product.key] = keys.get(product.key, 0) + 1
        if keys[product.key] > 1:  # two channel products of one handle (Square items of one name)
            product = replace(product, key=f"{product.key}-{keys[product.key]}")
        skus = []
        for v in product.variants:
            sku = master_sku(v.channel_sku) if v.channel_sku else None
            if sku is None:
                why = "has no SKU" if not v.channel_sku else f"SKU {v.channel_sku} is an aliased name"
                out.skipped.append(f"{product.key}: variant {v.title or v.ids} {why}: not adopted")
            elif sku in claimed:
                out.skipped.append(
                    f"{product.key}: SKU {sku} is also a variant of {claimed[sku]}: not adopted"
                )
            else:
                claimed[sku] = product.key
                skus.append((sku, v))
        if not skus:
            out.skipped.append(f"{product.key}: no variant with a SKU")
            continue
        owners = {parent[s].handle for s, _ in skus if s in parent}
        existing = by_handle.get(product.key) or (by_handle[owners.pop()] if len(owners) == 1 else None)
        if existing is None and owners:
            out.skipped.append(
                f"{product.key}: its variants belong to {', '.join(sorted(owners))} already: not adopted"
            )
            continue
        _adopt_product(out, product, existing, skus, ledger, parent, overwrite, currency, channel_price)
    return out


def _adopt_product(
    out: Adoption,
    product: ChannelProduct,
    existing: CatalogueRow | None,
    skus: Sequence[tuple[str, ChannelVariant]],
    ledger: Mapping[str, ProductRow],
    parent: Mapping[str, CatalogueRow],
    overwrite: bool,
    currency: str,
    channel_price: ChannelPrice,
) -> None:
    channel = _content(product)
    handle = existing.handle if existing is not None else product.key
    changes: list[str] = []
    if existing is None:
        merged = channel
        out.created.append(handle)
    else:
        merged = {f: getattr(existing, f) for f in PRODUCT_FIELDS}
        merged = {f: list(v) if isinstance(v, tuple) else v for f, v in merged.items()}
        for f in PRODUCT_FIELDS:
            theirs, ours = channel[f], merged[f]
            if _empty(theirs) or theirs == ours:
                continue
            if _empty(ours) or overwrite:
                merged[f] = theirs
                changes.append(f)
            else:
                out.kept.append(f"{handle}: {f} differs on the channel; the catalogue's is kept")
    options_ok = merged["options"] == channel["options"]
    added = 0
    for sku, v in skus:
        row = ledger.get(sku)
        price = v.price if v.price is not None else Decimal("0")
        title = _variant_title(product, v)
        if row is None:
            out.skus.append(
                {"sku": sku, "title": title, "barcode": v.barcode, "tags": (), "price": price,
                 "currency": product.currency or currency, "active": True}
            )  # fmt: skip
            out.new_skus.append(sku)
        else:
            shown = channel_price(row)
            item = _completed_sku(out, handle, row, title, v, price, product.currency, shown, overwrite)
            if item is not None:
                out.skus.append(item)
        out.variant_ids[sku] = v.ids
        known = parent.get(sku)
        if known is not None and known.handle == handle:
            variant = next(x for x in known.variants if x.sku == sku)
            if variant.options == v.options or not (overwrite and options_ok):
                continue
        elif known is not None and not overwrite:
            out.kept.append(f"{handle}: SKU {sku} is a variant of {known.handle}; it stays there")
            continue
        elif not options_ok:
            out.skipped.append(f"{handle}: {sku} names options {list(v.options)}, the product has others")
            continue
        out.links[sku] = (handle, dict(v.options) or None)
        added += 1
    if existing is not None and added:
        changes.append(f"+{added} variants")
    if existing is None or changes or added:
        out.items.append(
            {
                "handle": handle,
                "title": str(merged["title"]),
                "description": str(merged["description"]),
                "brand": str(merged["brand"]),
                "condition": existing.condition if existing is not None else "new",
                "status": str(merged["status"]),
                "images": list(merged["images"]),  # type: ignore[call-overload]
                "attributes": dict(existing.attributes) if existing is not None else {},
                "options": list(merged["options"]),  # type: ignore[call-overload]
            }
        )
    if existing is not None:
        if changes:
            out.completed[handle] = changes
        else:
            out.unchanged.append(handle)


def _completed_sku(
    out: Adoption,
    handle: str,
    row: ProductRow,
    title: str,
    v: ChannelVariant,
    price: Decimal,
    currency: str | None,
    expected: tuple[Decimal, str],
    overwrite: bool,
) -> ProductItem | None:
    """The ledger SKU with its empty fields filled (all replaced with ``overwrite``); None: unchanged.
    A price is never "empty": it is replaced only with ``overwrite`` (and then its currency too), and
    only when the channel's differs from ``expected`` (the master price through its price rules)."""
    item: ProductItem = {
        "sku": row.sku, "title": row.title, "barcode": row.barcode, "tags": row.tags,
        "price": row.price, "currency": row.currency, "active": row.active,
    }  # fmt: skip
    if title and title != row.title and (not row.title or overwrite):  # a variant title: not reported
        item["title"] = title
    if v.barcode and v.barcode != row.barcode:
        if not row.barcode or overwrite:
            item["barcode"] = v.barcode
        else:
            out.kept.append(f"{handle}: SKU {row.sku} barcode differs on the channel; the ledger's is kept")
    want, want_currency = expected
    moved = v.price is not None and (price != want or (currency or want_currency) != want_currency)
    if moved and overwrite:
        item["price"], item["currency"] = price, currency or row.currency
    elif moved:
        there = f"{price} {currency or want_currency} there"
        master = shown_amount(row.price, row.currency)
        ours = f"{master} {row.currency} in the ledger"
        if (want, want_currency) != (row.price, row.currency):
            ours = f"{want} {want_currency} by its price rules from the ledger's {master} {row.currency}"
        out.kept.append(
            f"{handle}: SKU {row.sku} price differs on the channel ({there}, {ours}); the ledger's is kept"
        )
    changed = any(item[k] != getattr(row, k) for k in ("title", "barcode", "price", "currency"))
    return item if changed else None
