"""Reading the seller's Square items as catalogue products (``read_catalogue``): SearchCatalogObjects
over ``ITEM`` with their related objects (the item options their variations name, their images), a
page at a time.

An item has no handle at Square: its key is its name, slugged (two items of one name are told apart
by the catalogue import). Variations become variants: SKU, name, option values (by the item's
options), ``upc`` as the barcode and the price in the seller's currency. An archived item reads as
discontinued.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

from omnisync.sdk import CataloguePage, ChannelProduct, ChannelVariant

from .client import CATALOG_SEARCH, Json, SquareApi, as_dict
from .inventory import ITEM_ID, VARIATION_ID
from .prices import from_minor

ITEMS_PER_PAGE = 100
_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-") or "item"


def _variant(
    variation: Json, item_id: str, options: Sequence[tuple[str, str]], values: Mapping[str, str]
) -> ChannelVariant:
    data = as_dict(variation.get("item_variation_data"))
    money = as_dict(data.get("price_money"))
    chosen = {
        as_dict(c).get("item_option_id"): as_dict(c).get("item_option_value_id")
        for c in data.get("item_option_values") or []
    }
    price: Decimal | None = None
    if isinstance(money.get("amount"), int) and money.get("currency"):
        price = from_minor(int(money["amount"]), str(money["currency"]))
    return ChannelVariant(
        channel_sku=str(data.get("sku") or ""),
        title=str(data.get("name") or ""),
        options={name: values[str(chosen[oid])] for oid, name in options if str(chosen.get(oid)) in values},
        barcode=str(data["upc"]) if data.get("upc") else None,
        price=price,
        ids={VARIATION_ID: str(variation.get("id")), ITEM_ID: item_id},
    )


def channel_product(item: Json, related: Mapping[str, Json], key: str) -> ChannelProduct:
    data = as_dict(item.get("item_data"))
    item_id = str(item.get("id"))
    options: list[tuple[str, str]] = []
    values: dict[str, str] = {}
    for ref in data.get("item_options") or []:
        oid = str(as_dict(ref).get("item_option_id"))
        option = as_dict(related.get(oid))
        odata = as_dict(option.get("item_option_data"))
        options.append((oid, str(odata.get("name") or oid)))
        for value in odata.get("values") or []:
            values[str(as_dict(value).get("id"))] = str(
                as_dict(as_dict(value).get("item_option_value_data")).get("name")
            )
    images = tuple(
        str(as_dict(as_dict(related.get(str(i))).get("image_data")).get("url"))
        for i in data.get("image_ids") or []
        if as_dict(as_dict(related.get(str(i))).get("image_data")).get("url")
    )
    variants = tuple(_variant(as_dict(v), item_id, options, values) for v in data.get("variations") or [])
    currency = next(
        (str(as_dict(as_dict(as_dict(v).get("item_variation_data")).get("price_money")).get("currency"))
         for v in data.get("variations") or []
         if as_dict(as_dict(as_dict(v).get("item_variation_data")).get("price_money")).get("currency")),
        None,
    )  # fmt: skip
    return ChannelProduct(
        key=key,
        title=str(data.get("name") or ""),
        description=str(data.get("description_html") or data.get("description") or ""),
        brand="",
        category="",
        status="discontinued" if data.get("is_archived") else "active",
        images=images,
        options=tuple(name for _, name in options),
        variants=variants,
        ids={ITEM_ID: item_id},
        currency=currency,
    )


class CatalogueReader:
    def __init__(self, api: SquareApi) -> None:
        self.api = api

    async def page(self, cursor: str | None) -> CataloguePage:
        body: Json = {"object_types": ["ITEM"], "include_related_objects": True, "limit": ITEMS_PER_PAGE}
        if cursor:
            body["cursor"] = cursor
        answer = self.api.parse(
            await self.api.post(CATALOG_SEARCH, body, "read_listings"), "SearchCatalogObjects"
        )
        related = {str(as_dict(o).get("id")): as_dict(o) for o in answer.get("related_objects") or []}
        items = [as_dict(o) for o in answer.get("objects") or [] if as_dict(o).get("type") == "ITEM"]
        products = [
            channel_product(item, related, slug(str(as_dict(item.get("item_data")).get("name") or "")))
            for item in items
        ]
        next_cursor = answer.get("cursor")
        return CataloguePage(products, str(next_cursor) if next_cursor else None)
