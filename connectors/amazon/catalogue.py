"""Reading the seller's Amazon listings as catalogue products (``read_catalogue``): searchListingsItems
with their summaries and attributes, every page, grouped into products. Pure but for the read.

A variation family is one product: the parent SKU (``parentage_level`` parent, its
``variation_theme`` naming the options, no offer) is its key and gives its content, and each child
(``child_parent_sku_relationship``) is a variant whose options are its theme attributes (``size``,
``color``, ...). A listing in no family is a product of its own, keyed by its SKU. Content is read from
the attributes the connector writes (``item_name``, ``brand``, ``product_description``, the image
locators, ``externally_assigned_product_identifier`` as the barcode, ``purchasable_offer`` as the
price); the product type is the category. A product none of whose variants has an offer reads as
discontinued (unpublishing deletes the offer). The whole account is read in one go, so that a family
whose items fall on several pages is still one product.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from omnisync.sdk import ChannelProduct, ChannelVariant

INCLUDED = ("summaries", "attributes")
PAGE_SIZE = 20
"""searchListingsItems' largest page."""
THEME_NAMES = {"SIZE": "Size", "COLOR": "Colour"}
"""Variation theme parts and the option names they read back as (the catalogue's own spelling)."""

Json = Mapping[str, Any]


def _first(attributes: Json, name: str, key: str = "value") -> Any:
    values = attributes.get(name)
    if isinstance(values, list) and values and isinstance(values[0], Mapping):
        return values[0].get(key)
    return None


def _price(attributes: Json) -> tuple[Decimal | None, str | None]:
    offer = _first(attributes, "purchasable_offer", "our_price")
    currency = _first(attributes, "purchasable_offer", "currency")
    try:
        value = offer[0]["schedule"][0]["value_with_tax"]
        return Decimal(str(value)), str(currency) if currency else None
    except (TypeError, KeyError, IndexError, InvalidOperation):
        return None, str(currency) if currency else None


def _theme(attributes: Json) -> list[tuple[str, str]]:
    """(attribute, option name) of the family's variation theme (``SIZE/COLOR``)."""
    theme = _first(attributes, "variation_theme", "name")
    parts = [p for p in str(theme or "").split("/") if p]
    return [(p.lower(), THEME_NAMES.get(p.upper(), p.capitalize())) for p in parts]


def _parent_sku(attributes: Json) -> str | None:
    parent = _first(attributes, "child_parent_sku_relationship", "parent_sku")
    return str(parent) if parent else None


def _summary(item: Json) -> Json:
    summaries = item.get("summaries")
    return (
        summaries[0]
        if isinstance(summaries, list) and summaries and isinstance(summaries[0], Mapping)
        else {}
    )


def channel_products(items: Sequence[Json], marketplace: str) -> list[ChannelProduct]:
    """The listings grouped into products: families by their parent SKU, the others alone."""
    parents: dict[str, Json] = {}
    children: dict[str, list[Json]] = {}
    order: list[str] = []
    for item in items:
        sku = str(item.get("sku") or "")
        attributes = item.get("attributes") or {}
        if not sku:
            continue
        parent = _parent_sku(attributes)
        key = parent or sku
        if key not in order:
            order.append(key)
        if _first(attributes, "parentage_level") == "parent":
            parents[sku] = item
        else:
            children.setdefault(key, []).append(item)
    return [_product(key, parents.get(key), children.get(key, []), marketplace) for key in order]


def _product(key: str, parent: Json | None, items: Sequence[Json], marketplace: str) -> ChannelProduct:
    head = parent or (items[0] if items else {"sku": key})
    attributes: Json = head.get("attributes") or {}
    theme = _theme(attributes) if parent is not None else []
    images = [str(_first(attributes, "main_product_image_locator", "media_location") or "")]
    images += [
        str(_first(attributes, f"other_product_image_locator_{n}", "media_location") or "")
        for n in range(1, 9)
    ]
    variants: list[ChannelVariant] = []
    currency: str | None = None
    offered = False
    for item in items:
        own: Json = item.get("attributes") or {}
        price, cur = _price(own)
        currency = currency or cur
        offered = offered or price is not None
        barcode = _first(own, "externally_assigned_product_identifier")
        variants.append(
            ChannelVariant(
                channel_sku=str(item["sku"]),
                title=str(_first(own, "item_name") or ""),
                options={
                    name: str(_first(own, attr)) for attr, name in theme if _first(own, attr) is not None
                },
                barcode=str(barcode) if barcode else None,
                price=price,
                ids={
                    "marketplace_id": marketplace,
                    "product_type": str(_summary(item).get("productType") or "PRODUCT"),
                },
            )
        )
    product_type = str(_summary(head).get("productType") or "")
    return ChannelProduct(
        key=key,
        title=str(_first(attributes, "item_name") or ""),
        description=str(_first(attributes, "product_description") or ""),
        brand=str(_first(attributes, "brand") or ""),
        category=product_type,
        status="active" if offered else "discontinued",
        images=tuple(u for u in images if u),
        options=tuple(name for _, name in theme),
        variants=tuple(variants),
        ids={"sku": key, "product_type": product_type or "PRODUCT"},
        currency=currency,
    )
