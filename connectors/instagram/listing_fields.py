"""A catalogue listing as Meta catalog items: one ``items_batch`` request per variant. Pure.

Meta lists every variant as its own item; the items of one product share
``retailer_product_group_id`` (the catalogue product) and its ``name``, and differ by their variant
fields (``size``, ``color``, ...; other options go in ``additional_variant_attributes``). Field names
are ProductItem's (Graph API codegen spec); a new item carries every field Meta requires of one
(name, description, availability, condition, price, url, image_url, brand). Availability and
inventory belong to the stock push: a new item starts ``out of stock`` and an update leaves them alone.
"""

from __future__ import annotations

from typing import Any

from omnisync.sdk.listings import ListingContent, ListingVariant

from .fields import OUT_OF_STOCK, PUBLISHED, STAGING, format_price

METHOD_CREATE = "CREATE"
METHOD_UPDATE = "UPDATE"
REQUIRED_ON_CREATE = (
    "name",
    "description",
    "availability",
    "condition",
    "price",
    "url",
    "image_url",
    "brand",
)
MAX_ADDITIONAL_IMAGES = 20
VARIANT_FIELDS = {
    "size": "size",
    "color": "color",
    "colour": "color",
    "material": "material",
    "pattern": "pattern",
    "gender": "gender",
}
"""Option names (lower case) that are Meta variant fields."""


def item_data(listing: ListingContent, variant: ListingVariant, *, create: bool) -> dict[str, Any]:
    """The ``data`` of the items_batch request for one variant."""
    data: dict[str, Any] = {
        "id": variant.channel_sku,
        "name": listing.title,
        "description": listing.description,
        "brand": listing.brand,
        "condition": listing.condition,
        "url": listing.link,
        "image_url": listing.images[0] if listing.images else "",
        "additional_image_urls": list(listing.images[1:]),
        "retailer_product_group_id": listing.key,
        "visibility": PUBLISHED if listing.publish else STAGING,
    }
    if listing.category:
        data["category"] = listing.category
    if variant.barcode:
        data["gtin"] = variant.barcode
    extra: dict[str, str] = {}
    for name, value in variant.options.items():
        field = VARIANT_FIELDS.get(name.lower())
        if field is not None:
            data[field] = value
        else:
            extra[name] = value
    if extra:
        data["additional_variant_attributes"] = extra
    data.update({**listing.attributes, **variant.attributes})
    if create:
        data["price"] = format_price(variant.price, variant.currency)
        data["availability"] = OUT_OF_STOCK
    return data


def hide_data(channel_sku: str) -> dict[str, Any]:
    """Unpublish one item: staging keeps it in the catalog, out of the shop."""
    return {"id": channel_sku, "visibility": STAGING}
