"""What the connector sends and what the emulator answers, checked against the published schema.

The schema is ``../shared/specs/shopify-admin/admin_2026-04.json`` (introspection of the GraphQL
Admin API 2026-04), read through the ``specs_dir`` fixture; these tests skip where it is absent.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    parse,
    validate,
)
from omnisync_connectors.shopify import catalogue
from omnisync_connectors.shopify import documents as docs
from omnisync_connectors.shopify.emulator_graphql import subset_schema
from omnisync_connectors.shopify.querycost import query_cost
from shopify_fixtures import answer_errors, make, published_schema, request_errors, update

from omnisync.sdk import (
    InventoryRef,
    ItemStatus,
    ListingContent,
    ListingRef,
    OrderCursor,
    Preorder,
    PriceUpdate,
)
from omnisync.testing.conformance_listings import kit_listing

ALL_OPERATIONS = {
    "OmnisyncLocations",
    "OmnisyncVariantsBySku",
    "OmnisyncInventoryLevels",
    "OmnisyncSetQuantities",
    "OmnisyncUpdatePrices",
    "OmnisyncUpdatePolicies",
    "OmnisyncOrders",
    "OmnisyncOrderLines",
    "OmnisyncOrderReturns",
    "OmnisyncProductSet",
    "OmnisyncProductStatus",
    "OmnisyncPublicationUpdate",
    "OmnisyncCatalogue",
    "OmnisyncProductVariants",
}


@pytest.fixture(scope="module")
def schema(specs_dir: Path) -> GraphQLSchema:
    return published_schema(specs_dir)


@pytest.mark.parametrize(
    "document",
    [
        docs.LOCATIONS,
        docs.VARIANTS_BY_SKU,
        docs.INVENTORY_LEVELS,
        docs.SET_QUANTITIES,
        docs.ORDERS,
        docs.ORDER_LINES_PAGE,
        docs.ORDER_RETURNS,
        docs.price_update_document(1),
        docs.price_update_document(4),
        docs.policy_update_document(2),
        docs.PRODUCT_SET,
        docs.PRODUCT_STATUS,
        docs.PUBLISH,
        docs.UNPUBLISH,
        catalogue.PRODUCTS,
        catalogue.PRODUCT_VARIANTS,
        docs.STAGED_UPLOADS_CREATE,
        docs.BULK_RUN_MUTATION,
        docs.BULK_OPERATION,
        docs.CURRENT_BULK_MUTATION,
    ],
    ids=lambda d: re.search(r"(query|mutation) (\w+)", d).group(2),  # type: ignore[union-attr]
)
def test_every_document_validates_against_the_published_schema(schema: GraphQLSchema, document: str) -> None:
    assert [e.message for e in validate(schema, parse(document))] == []


def test_the_emulator_schema_is_a_faithful_subset(schema: GraphQLSchema) -> None:
    subset = subset_schema()
    for name, ours in subset.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        real = schema.type_map.get(name)
        assert real is not None, f"{name} is not in the published schema"
        assert type(real) is type(ours), name
        if isinstance(ours, GraphQLEnumType):
            assert set(ours.values) <= set(real.values), name  # type: ignore[attr-defined]
        if isinstance(ours, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, field in ours.fields.items():
                published = real.fields.get(field_name)  # type: ignore[union-attr]
                assert published is not None, f"{name}.{field_name} is not published"
                assert str(published.type) == str(field.type), f"{name}.{field_name}"
                for arg_name, arg in getattr(field, "args", {}).items():
                    assert str(published.args[arg_name].type) == str(arg.type), (
                        f"{name}.{field_name}({arg_name})"
                    )
        if isinstance(ours, GraphQLInputObjectType):
            required = {n for n, f in real.fields.items() if str(f.type).endswith("!")}  # type: ignore[union-attr]
            assert required <= set(ours.fields), f"{name} leaves out required input fields"


def many_variants(count: int) -> ListingContent:
    base = kit_listing("MANY", "Many sizes", ["M-0"], "Shirts")
    variants = tuple(
        replace(base.variants[0], sku=f"M-{n}", channel_sku=f"M-{n}", options={"Size": f"S{n}"}, barcode=None)
        for n in range(count)
    )
    return replace(base, variants=variants)


async def _exercise() -> tuple[list[dict], object]:
    """Drive every operation of the connector against the emulator; return the requests answered."""
    emulator, connector = make()
    product = emulator.seed("TEE-S", 5, "10.00")["product_id"]
    emulator.seed("TEE-M", 5, "10.00", product_id=product)
    emulator.seed("MUG", 9, "7.50")
    emulator.seed("CAP", 2, "12.00", location="store")
    await connector.prepare()
    listings = {
        item.channel_sku: item for item in await connector.read_listings(["TEE-S", "TEE-M", "MUG", "NOPE"])
    }
    await connector.push_inventory(
        [
            update(emulator, "TEE-S", 4, 5),
            replace(update(emulator, "MUG", 1, 8), preorder=Preorder(1), preorder_changed=True),
            update(emulator, "CAP", 1, 2, location="store"),
        ]
    )
    await connector.read_inventory([InventoryRef("M-TEE-S", "TEE-S", listings["TEE-S"].ids)])
    await connector.push_prices(
        [
            PriceUpdate(
                f"M-{s}", s, Decimal("11.00"), "USD", 1, f"p-{s}", Decimal("14.00"), ids=listings[s].ids
            )
            for s in ("TEE-S", "TEE-M", "MUG")
        ]
    )
    shipped = emulator.place_order([("TEE-S", 1), ("MUG", 2)])
    emulator.fulfill(shipped)
    emulator.refund(shipped, "MUG", 1, location="store")
    emulator.return_items(shipped, "TEE-S", not_restocked=1, location="store")  # its dispositions are read
    emulator.cancel(emulator.place_order("TEE-M", 1))
    emulator.place_order("CAP", 1, location="store", pickup=True)
    emulator.place_order("CAP", 1, location="store", retail=True)
    emulator.place_order([("MUG", 1)] * 60)  # more lines than one page asks for
    listing = kit_listing("TEE2", "Tee two", ["T2-S", "T2-M"], "Shirts")
    [made] = await connector.upsert_listings([listing])
    assert made.status is ItemStatus.ACCEPTED, made.issues
    await connector.unpublish_listings([ListingRef("TEE2", made.ids, ("T2-S", "T2-M"))])
    many = many_variants(60)  # a second page of variants
    assert (await connector.upsert_listings([many]))[0].status is ItemStatus.ACCEPTED
    cursor_: str | None = None
    while True:
        page_ = await connector.read_catalogue(cursor_)
        if (cursor_ := page_.next_cursor) is None:
            break
    cursor = OrderCursor(None)
    while True:
        page = await connector.pull_orders(cursor)
        if page.next_page_token is None:
            break
        cursor = OrderCursor(None, page.next_page_token)
    await connector.aclose()
    return emulator.requests, emulator


async def test_every_request_and_answer_fits_the_published_schema(schema: GraphQLSchema) -> None:
    requests, _ = await _exercise()
    seen = set()
    for request in requests:
        seen.add(re.search(r"(?:query|mutation) (\w+)", request["query"]).group(1))  # type: ignore[union-attr]
        assert request_errors(schema, request["query"], request["variables"]) == []
        response = request["response"]
        assert "errors" not in response, response.get("errors")
        problems = answer_errors(schema, request["query"], request["variables"], response["data"])
        assert [str(p) for p in problems] == []
        assert set(response["extensions"]["cost"]) == {
            "requestedQueryCost",
            "actualQueryCost",
            "throttleStatus",
        }
    assert seen == ALL_OPERATIONS


def test_a_variable_of_the_wrong_type_is_caught(schema: GraphQLSchema) -> None:
    """The check above can fail: a quantity as a string does not coerce to Int!."""
    bad = {
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [
                {
                    "inventoryItemId": "gid://shopify/InventoryItem/1",
                    "locationId": "gid://shopify/Location/1",
                    "quantity": "7",
                    "changeFromQuantity": None,
                }
            ],
        },
        "idempotencyKey": "k",
    }
    assert request_errors(schema, docs.SET_QUANTITIES, bad) != []


def test_an_answer_missing_a_non_null_field_is_caught(schema: GraphQLSchema) -> None:
    data = {"inventorySetQuantities": {"inventoryAdjustmentGroup": None}}  # userErrors is [..]!
    assert answer_errors(schema, docs.SET_QUANTITIES, {"input": {}, "idempotencyKey": "k"}, data) != []


@pytest.mark.parametrize(
    ("document", "variables", "estimate"),
    [
        (docs.ORDERS, {"first": 2}, docs.estimate_orders(2)),
        (
            docs.VARIANTS_BY_SKU,
            {"first": 100, "query": "sku:A", "locationId": "gid://shopify/Location/1"},
            docs.estimate_variants(100),
        ),
        (docs.INVENTORY_LEVELS, {"ids": ["x"] * 250, "locationId": "l"}, 250 * docs.INVENTORY_NODE_COST),
        (docs.SET_QUANTITIES, {}, docs.MUTATION_COST),
        (docs.price_update_document(3), {}, 3 * docs.MUTATION_COST),
        (catalogue.PRODUCTS, {"first": catalogue.PRODUCTS_PER_PAGE}, catalogue.PRODUCTS_COST),
        (catalogue.PRODUCT_VARIANTS, {"ids": ["p"], "first": 100}, catalogue.VARIANTS_COST),
    ],
)
def test_requested_costs_match_the_estimates_and_stay_under_the_query_maximum(
    schema: GraphQLSchema, document: str, variables: dict, estimate: int
) -> None:
    parsed = parse(document)
    on_published = query_cost(schema, parsed, variables)
    assert on_published == query_cost(subset_schema(), parsed, variables) == estimate
    assert on_published <= 1000
