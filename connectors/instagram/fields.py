"""Field names and values the connector sends to Meta, in one place (the spec tests read them here).

Names and enum values follow the Graph API codegen specs (ProductItem, enum_types, CommerceOrder):
``availability`` in ``ProductItem_availability``, ``visibility`` in ``ProductItem_visibility``, order
states in ``commercemerchantsettingscommerce_orders_state_enum_param``.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ITEM_TYPE = "PRODUCT_ITEM"
METHOD_UPDATE = "UPDATE"

IN_STOCK = "in stock"
OUT_OF_STOCK = "out of stock"
PREORDER = "preorder"
PUBLISHED = "published"
STAGING = "staging"

STATE_CREATED = "CREATED"

# Fields read from /{catalog_id}/products (all ProductItem fields).
PRODUCT_FIELDS = (
    "id",
    "retailer_id",
    "inventory",
    "price",
    "sale_price",
    "currency",
    "availability",
    "visibility",
)
# Fields read from /{cms_id}/commerce_orders (all CommerceOrder fields).
ORDER_FIELDS = ("id", "order_status", "created", "last_updated", "merchant_order_id", "channel")
# Fields read from the order edges (CommerceOrderItem and the items of cancellations/refunds/shipments).
ORDER_ITEM_FIELDS = ("id", "product_id", "retailer_id", "quantity", "price_per_unit")
# Order edges read per order (CommerceOrder edges in the spec).
ORDER_EDGES = ("items", "cancellations", "refunds", "shipments")

# ISO 4217 currencies without minor units: Meta wants "12000 KRW", not "12000.00 KRW".
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)


def availability_for(quantity: int, preorder_units: int = 0) -> str:
    """ProductItem ``availability`` for ``quantity`` to sell, ``preorder_units`` of them ahead of stock
    on order: ``preorder`` once nothing else is left (the catalog takes one availability per item, and
    its ProductItem carries no date for it), ``in stock`` while stock on hand sells first."""
    if quantity <= 0:
        return OUT_OF_STOCK
    return PREORDER if preorder_units >= quantity else IN_STOCK


def visibility_for(available: bool | None) -> str | None:
    """``InventoryUpdate.available`` -> ProductItem ``visibility`` (None: leave as is)."""
    if available is None:
        return None
    return PUBLISHED if available else STAGING


def format_price(amount: Decimal, currency: str) -> str:
    """Meta's price text: the amount, one space, the ISO code ("12000 KRW", "9.99 USD")."""
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"price must be a non-negative number, got {amount}")
    exponent = Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return f"{amount.quantize(exponent, rounding=ROUND_HALF_UP)} {currency}"


_NUMBER = re.compile(r"\d[\d,.\s\u00a0]*")


def parse_price(text: object) -> Decimal | None:
    """The amount in a price as Meta returns it ("$1,234.50", "₩12,000", "12000 KRW"), or None."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return Decimal(str(text))
    if not isinstance(text, str):
        return None
    match = _NUMBER.search(text)
    if not match:
        return None
    digits = re.sub(r"[\s\u00a0]", "", match.group(0)).rstrip(".,")
    if "," in digits and "." in digits:
        # The later separator is the decimal one: "1,234.50" or "1.234,50".
        if digits.rfind(",") > digits.rfind("."):
            digits = digits.replace(".", "").replace(",", ".")
        else:
            digits = digits.replace(",", "")
    elif "," in digits:
        head, _, tail = digits.rpartition(",")
        digits = digits.replace(",", "") if len(tail) == 3 else f"{head.replace(',', '')}.{tail}"
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None
