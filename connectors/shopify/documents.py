"""Every GraphQL document the connector sends, with its requested-cost estimate.

The estimates follow Shopify's calculated query cost rules (objects 1, scalars and enums 0,
connections 2 + ``first`` × the node's cost, a node list per id, mutations 10). The client waits for
that many points before sending; the answer's ``requestedQueryCost`` then replaces the estimate.
Tests validate every document here against the published 2026-04 schema.
"""

from __future__ import annotations

MUTATION_COST = 10
ORDER_LINES = 50
"""Line items asked per order (and per fulfilment / refund); more are fetched with ORDER_LINES_PAGE."""

LOCATIONS = """
query OmnisyncLocations($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Location { id name isActive }
  }
}
"""

VARIANTS_BY_SKU = """
query OmnisyncVariantsBySku($first: Int!, $after: String, $query: String!, $locationId: ID!) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      price
      compareAtPrice
      product { id }
      inventoryItem {
        id
        inventoryLevel(locationId: $locationId) {
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
  }
}
"""

INVENTORY_LEVELS = """
query OmnisyncInventoryLevels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) {
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}
"""

SET_QUANTITIES = """
mutation OmnisyncSetQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup {
      id
      changes(quantityNames: ["available"]) {
        name
        delta
        quantityAfterChange
        item { id }
        location { id }
      }
    }
    userErrors { code field message }
  }
}
"""

LINE_FIELDS = "id sku quantity discountedUnitPriceAfterAllDiscountsSet { shopMoney { amount } }"
"""A line's id, SKU, quantity and what was charged per unit after every discount, in the shop's currency
(the order's ``currencyCode``): the sales report's revenue. Its MoneyBag and MoneyV2 cost 2 points."""

_ORDER_FIELDS = f"""
fragment OmnisyncOrder on Order {{
  id
  name
  createdAt
  updatedAt
  cancelledAt
  closed
  currencyCode
  displayFulfillmentStatus
  returnStatus
  retailLocation {{ id }}
  lineItems(first: {ORDER_LINES}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {LINE_FIELDS} }}
  }}
  fulfillments(first: 10) {{
    status
    fulfillmentLineItems(first: {ORDER_LINES}) {{ nodes {{ quantity lineItem {{ id }} }} }}
  }}
  refunds(first: 10) {{
    refundLineItems(first: {ORDER_LINES}) {{
      nodes {{ quantity restockType location {{ id }} lineItem {{ id }} }}
    }}
  }}
  fulfillmentOrders(first: 5) {{
    nodes {{ deliveryMethod {{ methodType }} assignedLocation {{ location {{ id }} }} }}
  }}
}}
"""

ORDERS = (
    """
query OmnisyncOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OmnisyncOrder }
  }
}
"""
    + _ORDER_FIELDS
)

ORDER_LINES_PAGE = f"""
query OmnisyncOrderLines($id: ID!, $after: String) {{
  order(id: $id) {{
    id
    lineItems(first: 100, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {LINE_FIELDS} }}
    }}
  }}
}}
"""

RETURNS_PER_ORDER = 5
RETURN_LINES = 25
"""Returns asked per order and line items per reverse fulfilment order (an order with more is read
up to these: see the connector's README)."""

ORDER_RETURNS = f"""
query OmnisyncOrderReturns($id: ID!) {{
  order(id: $id) {{
    id
    returns(first: {RETURNS_PER_ORDER}) {{
      nodes {{
        reverseFulfillmentOrders(first: 1) {{
          nodes {{
            lineItems(first: {RETURN_LINES}) {{
              nodes {{
                fulfillmentLineItem {{ lineItem {{ id }} }}
                dispositions {{ type quantity location {{ id }} }}
              }}
            }}
          }}
        }}
      }}
    }}
  }}
}}
"""
# the order 1, returns 2 + 5 × (the return 1, reverse fulfilment orders 2 + 1 × (the order 1, line
# items 2 + 25 × (the item 1, its fulfilment line item 1 and line 1, its dispositions 1 and location 1)))
ORDER_RETURNS_COST = 1 + 2 + RETURNS_PER_ORDER * (1 + 2 + 1 * (1 + 2 + RETURN_LINES * 5))

# Requested cost of one order node in ORDERS: the order 1, retailLocation 1, lineItems 2 + 50 × 3
# (the line, its price's MoneyBag and MoneyV2), fulfillments 1 + (2 + 50 × 2), refunds 1 + (2 + 50 × 3),
# fulfillmentOrders 2 + 5 × 4.
ORDER_NODE_COST = (
    1 + 1 + (2 + ORDER_LINES * 3) + (1 + 2 + ORDER_LINES * 2) + (1 + 2 + ORDER_LINES * 3) + (2 + 5 * 4)
)
VARIANT_NODE_COST = 5  # variant, product, inventoryItem, inventoryLevel, quantities
INVENTORY_NODE_COST = 3  # inventoryItem, inventoryLevel, quantities


def variants_update_document(groups: int, name: str, selection: str) -> str:
    """One mutation document (operation ``name``) updating ``groups`` products, each through its own
    aliased ``productVariantsBulkUpdate`` (variables ``$p<i>`` product id, ``$v<i>`` variants),
    answering ``selection`` of each variant."""
    if groups < 1:
        raise ValueError("at least one product")
    params = ", ".join(f"$p{i}: ID!, $v{i}: [ProductVariantsBulkInput!]!" for i in range(groups))
    fields = "\n".join(
        f"  p{i}: productVariantsBulkUpdate(productId: $p{i}, variants: $v{i},"
        " allowPartialUpdates: true) {\n"
        f"    productVariants {{ {selection} }}\n"
        "    userErrors { code field message }\n"
        "  }"
        for i in range(groups)
    )
    return f"mutation {name}({params}) {{\n{fields}\n}}\n"


def price_update_document(groups: int) -> str:
    """Prices (and compare-at prices) of ``groups`` products' variants."""
    return variants_update_document(groups, "OmnisyncUpdatePrices", "id price compareAtPrice")


def policy_update_document(groups: int) -> str:
    """The inventory policy (``CONTINUE``: sell when out of stock, a preorder; ``DENY``) of ``groups``
    products' variants."""
    return variants_update_document(groups, "OmnisyncUpdatePolicies", "id inventoryPolicy")


def estimate_orders(first: int) -> int:
    return 2 + first * ORDER_NODE_COST


def estimate_variants(first: int) -> int:
    return 2 + first * VARIANT_NODE_COST


def sku_search(skus: list[str]) -> str:
    """Shopify search syntax matching any of these SKUs exactly (values quoted and escaped)."""
    terms = []
    for sku in skus:
        escaped = sku.replace("\\", "\\\\").replace('"', '\\"')
        terms.append(f'sku:"{escaped}"')
    return " OR ".join(terms)


PRODUCT_SET = """
mutation OmnisyncProductSet($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product {
      id
      variants(first: 250) { nodes { id sku inventoryItem { id } } }
    }
    userErrors { code field message }
  }
}
"""

PRODUCT_STATUS = """
mutation OmnisyncProductStatus($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product { id status }
    userErrors { code field message }
  }
}
"""

PUBLISH = """
mutation OmnisyncPublish($id: ID!, $input: [PublicationInput!]!) {
  publishablePublish(id: $id, input: $input) { userErrors { field message } }
}
"""

UNPUBLISH = """
mutation OmnisyncUnpublish($id: ID!, $input: [PublicationInput!]!) {
  publishableUnpublish(id: $id, input: $input) { userErrors { field message } }
}
"""

PUBLICATION_UPDATE = """
mutation OmnisyncPublicationUpdate($id: ID!, $input: PublicationUpdateInput!) {
  publicationUpdate(id: $id, input: $input) {
    publication { id }
    userErrors { code field message }
  }
}
"""


def estimate_product_set(variants: int) -> int:
    """productSet: the mutation, plus the product and a page of its variants (each with its item)."""
    return MUTATION_COST + 1 + 2 + min(250, max(1, variants)) * 2


# -- bulk operations (bulk.py) -----------------------------------------------------------------------
STAGED_UPLOADS_CREATE = """
mutation OmnisyncStagedUploads($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}
"""

BULK_RUN_MUTATION = """
mutation OmnisyncBulkRun($mutation: String!, $stagedUploadPath: String!, $clientIdentifier: String) {
  bulkOperationRunMutation(
    mutation: $mutation, stagedUploadPath: $stagedUploadPath, clientIdentifier: $clientIdentifier
  ) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}
"""

BULK_OPERATION_FIELDS = "id status errorCode objectCount rootObjectCount fileSize url partialDataUrl"

BULK_OPERATION = f"""
query OmnisyncBulkOperation($id: ID!) {{
  node(id: $id) {{
    ... on BulkOperation {{ {BULK_OPERATION_FIELDS} }}
  }}
}}
"""

CURRENT_BULK_MUTATION = f"""
query OmnisyncCurrentBulkMutation {{
  currentBulkOperation(type: MUTATION) {{ {BULK_OPERATION_FIELDS} }}
}}
"""
BULK_POLL_COST = 1
"""One object (the BulkOperation); its fields are scalars and enums."""
