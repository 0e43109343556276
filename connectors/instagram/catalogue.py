"""Reading the Meta catalog as catalogue products (``read_catalogue``): ``GET /{catalog_id}/products``
with the ProductItem content fields, every page, grouped into products. Pure but for the read.

Meta lists every variant as its own item; the items of one product share
``retailer_product_group_id``, the product's key (an item without one is a product of its own, keyed by
its retailer id). The product takes its items' name, description, brand and category, its images from
``image_url`` then ``additional_image_urls``; its options are the variant fields the items carry
(``size``, ``color``, ``material``, ``pattern``, ``gender``) then their ``additional_variant_attributes``.
Each item is a variant: its retailer id is the channel SKU, ``gtin`` the barcode, ``price`` its price. A
product none of whose items is ``published`` (all in ``staging``) reads as discontinued. The whole
catalog is read in one go, so that a product whose items fall on two pages is still one product.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omnisync.sdk import ChannelProduct, ChannelVariant

from .fields import PUBLISHED, parse_price

VARIANT_OPTIONS = tuple(
    (field, field.capitalize()) for field in ("size", "color", "material", "pattern", "gender")
)
"""ProductItem variant fields and the option names they read back as."""
CATALOGUE_FIELDS = (
    "id", "retailer_id", "name", "description", "brand", "condition", "category", "url", "image_url",
    "additional_image_urls", "retailer_product_group_id", "gtin", "price", "currency", "visibility",
    *(field for field, _ in VARIANT_OPTIONS), "additional_variant_attributes",
)  # fmt: skip
"""ProductItem fields read for the catalogue (every one a field of the Graph API's ProductItem)."""


def extra_options(value: object) -> dict[str, str]:
    """``additional_variant_attributes`` as option name -> value: a map, or a list of maps (each a
    ``key``/``name`` and ``value`` pair, or entries of their own)."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    found: dict[str, str] = {}
    for entry in value if isinstance(value, list) else []:
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("key") or entry.get("name")
        if name is not None and "value" in entry:
            found[str(name)] = str(entry["value"])
        else:
            found.update({str(k): str(v) for k, v in entry.items()})
    return found


def item_options(row: Mapping[str, Any]) -> dict[str, str]:
    options = {name: str(row[field]) for field, name in VARIANT_OPTIONS if row.get(field)}
    options.update(extra_options(row.get("additional_variant_attributes")))
    return options


def channel_products(rows: Sequence[Mapping[str, Any]]) -> list[ChannelProduct]:
    """The catalog's items grouped into products, in the order their first item came."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if not row.get("retailer_id"):
            continue
        key = str(row.get("retailer_product_group_id") or row["retailer_id"])
        groups.setdefault(key, []).append(row)
    return [_product(key, items) for key, items in groups.items()]


def _product(key: str, items: Sequence[Mapping[str, Any]]) -> ChannelProduct:
    first = items[0]
    names: list[str] = []
    for row in items:
        names += [n for n in item_options(row) if n not in names]
    images = [str(first["image_url"])] if first.get("image_url") else []
    images += [str(u) for u in first.get("additional_image_urls") or [] if u]
    variants = tuple(
        ChannelVariant(
            channel_sku=str(row["retailer_id"]),
            title=str(row.get("name") or ""),
            options={n: v for n, v in item_options(row).items() if n in names} if names else {},
            barcode=str(row["gtin"]) if row.get("gtin") else None,
            price=parse_price(row.get("price")),
            ids={"product_item_id": str(row.get("id", "")), "retailer_id": str(row["retailer_id"])},
        )
        for row in items
    )
    shown = any(row.get("visibility", PUBLISHED) == PUBLISHED for row in items)
    return ChannelProduct(
        key=key,
        title=str(first.get("name") or ""),
        description=str(first.get("description") or ""),
        brand=str(first.get("brand") or ""),
        category=str(first.get("category") or ""),
        status="active" if shown else "discontinued",
        images=tuple(images),
        options=tuple(names),
        variants=variants,
        ids={"retailer_product_group_id": key},
        currency=str(first["currency"]) if first.get("currency") else None,
    )
