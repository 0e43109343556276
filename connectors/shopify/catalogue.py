"""Reading the shop's products as catalogue products (``read_catalogue``): the Admin API ``products``
query, a few products a page (a product with its options, images and first variants stays well
under the 1,000-point query maximum), and ``nodes`` for the further variants of a large product.

Shopify's own ``Title`` / ``Default Title`` option of a product without variants is read as no
option; ``ARCHIVED`` as discontinued and ``DRAFT`` / ``UNLISTED`` as draft.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from omnisync.sdk import CataloguePage, ChannelProduct, ChannelVariant, ProtocolError

from .answers import next_cursor
from .client import AdminGraphQL
from .listings import DEFAULT_OPTION

PRODUCTS_PER_PAGE = 5
MEDIA_PER_PRODUCT = 10
VARIANTS_PER_PRODUCT = 50
VARIANTS_PER_PAGE = 100

_VARIANT_FIELDS = "id sku title barcode price position selectedOptions { name value } inventoryItem { id }"

PRODUCTS = f"""
query OmnisyncCatalogue($first: Int!, $after: String) {{
  shop {{ currencyCode }}
  products(first: $first, after: $after, sortKey: ID) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id
      handle
      title
      descriptionHtml
      vendor
      productType
      status
      options {{ name position values }}
      media(first: {MEDIA_PER_PRODUCT}) {{ nodes {{ id ... on MediaImage {{ image {{ url }} }} }} }}
      variants(first: {VARIANTS_PER_PRODUCT}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {_VARIANT_FIELDS} }}
      }}
    }}
  }}
}}
"""

PRODUCT_VARIANTS = f"""
query OmnisyncProductVariants($ids: [ID!]!, $first: Int!, $after: String) {{
  nodes(ids: $ids) {{
    ... on Product {{
      id
      variants(first: $first, after: $after) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {_VARIANT_FIELDS} }}
      }}
    }}
  }}
}}
"""

# Requested costs by Shopify's rules (see querycost.py): a variant is 1 + selectedOptions 1 +
# inventoryItem 1; a product 1 + options 1 + media (2 + 10 × (1 + image 1)) + variants (2 + 50 × 3).
VARIANT_COST = 3
PRODUCT_COST = 1 + 1 + (2 + MEDIA_PER_PRODUCT * 2) + (2 + VARIANTS_PER_PRODUCT * VARIANT_COST)
PRODUCTS_COST = 1 + 2 + PRODUCTS_PER_PAGE * PRODUCT_COST  # shop 1
VARIANTS_COST = 1 + (2 + VARIANTS_PER_PAGE * VARIANT_COST)

STATUSES = {"ACTIVE": "active", "ARCHIVED": "discontinued", "DRAFT": "draft", "UNLISTED": "draft"}


def _price(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def channel_variant(node: Mapping[str, Any], product_id: str, options: Sequence[str]) -> ChannelVariant:
    chosen = {str(o.get("name")): str(o.get("value")) for o in node.get("selectedOptions") or []}
    return ChannelVariant(
        channel_sku=str(node.get("sku") or ""),
        title=str(node.get("title") or ""),
        options={name: chosen[name] for name in options if name in chosen},
        barcode=str(node["barcode"]) if node.get("barcode") else None,
        price=_price(node.get("price")),
        ids={
            "variant_id": str(node.get("id")),
            "product_id": product_id,
            "inventory_item_id": str((node.get("inventoryItem") or {}).get("id")),
        },
    )


def option_names(node: Mapping[str, Any]) -> tuple[str, ...]:
    """The product's option names in position order; Shopify's default option is none."""
    options = sorted(node.get("options") or [], key=lambda o: int(o.get("position") or 0))
    names = tuple(str(o.get("name")) for o in options)
    only = options[0] if len(options) == 1 else None
    if only is not None and (only.get("name"), list(only.get("values") or [])) == (
        DEFAULT_OPTION[0],
        [DEFAULT_OPTION[1]],
    ):
        return ()
    return names


def channel_product(
    node: Mapping[str, Any], variants: Sequence[Mapping[str, Any]], currency: str | None
) -> ChannelProduct:
    gid = str(node.get("id"))
    options = option_names(node)
    images = tuple(
        str(m["image"]["url"])
        for m in (node.get("media") or {}).get("nodes") or []
        if isinstance(m, Mapping) and isinstance(m.get("image"), Mapping) and m["image"].get("url")
    )
    return ChannelProduct(
        key=str(node.get("handle") or gid.rsplit("/", 1)[-1]),
        title=str(node.get("title") or ""),
        description=str(node.get("descriptionHtml") or ""),
        brand=str(node.get("vendor") or ""),
        category=str(node.get("productType") or ""),
        status=STATUSES.get(str(node.get("status")), "active"),
        images=images,
        options=options,
        variants=tuple(channel_variant(v, gid, options) for v in variants),
        ids={"product_id": gid},
        currency=currency,
    )


class CatalogueReader:
    def __init__(self, graphql: AdminGraphQL) -> None:
        self.graphql = graphql

    async def page(self, cursor: str | None) -> CataloguePage:
        answer = await self.graphql.execute(
            PRODUCTS,
            {"first": PRODUCTS_PER_PAGE, "after": cursor},
            operation="read_listings",
            estimate=PRODUCTS_COST,
            name="products",
        )
        connection = answer.data.get("products")
        if not isinstance(connection, Mapping):
            raise ProtocolError("products answer missing")
        currency = (answer.data.get("shop") or {}).get("currencyCode")
        products = []
        for node in connection.get("nodes") or []:
            variants = list((node.get("variants") or {}).get("nodes") or [])
            after = next_cursor(node.get("variants"))
            while after is not None:
                more, after = await self._variants(str(node.get("id")), after)
                variants.extend(more)
            products.append(channel_product(node, variants, str(currency) if currency else None))
        return CataloguePage(products, next_cursor(connection))

    async def _variants(self, gid: str, after: str) -> tuple[list[Mapping[str, Any]], str | None]:
        answer = await self.graphql.execute(
            PRODUCT_VARIANTS,
            {"ids": [gid], "first": VARIANTS_PER_PAGE, "after": after},
            operation="read_listings",
            estimate=VARIANTS_COST,
            name="nodes",
        )
        nodes = answer.data.get("nodes") or [None]
        if not isinstance(nodes[0], Mapping):
            raise ProtocolError(f"product {gid} vanished while its variants were read")
        connection = nodes[0].get("variants")
        return list((connection or {}).get("nodes") or []), next_cursor(connection)
