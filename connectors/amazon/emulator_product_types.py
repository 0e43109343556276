"""Product types the Amazon emulator knows: their definitions (getDefinitionsProductType) and JSON
Schemas, shaped like Amazon's (each attribute an array of objects carrying ``marketplace_id``), and
putListingsItem checked against them.

Two product types: ``PRODUCT`` (the generic one) and ``SHIRT`` (which also requires a size and a
colour on every child). A listing requires a name, a brand, a condition, a description and, unless
it is a variation parent, an external product id and a main image; at most 8 other images.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

DEFINED_PRODUCT_TYPES = ("PRODUCT", "SHIRT")
META_SCHEMA = "https://schemas.amazon.com/selling-partners/definitions/product-types/meta-schema/v1"


def _values(
    value: dict[str, Any], *, max_items: int = 1, required: tuple[str, ...] = ("value",)
) -> dict[str, Any]:
    item = {
        "type": "object",
        "required": list(required),
        "properties": {"marketplace_id": {"type": "string"}, "language_tag": {"type": "string"}, **value},
        "additionalProperties": False,
    }
    return {"type": "array", "minItems": 1, "maxItems": max_items, "items": item}


def _text(max_length: int) -> dict[str, Any]:
    return _values({"value": {"type": "string", "minLength": 1, "maxLength": max_length}})


def _image() -> dict[str, Any]:
    return _values(
        {"media_location": {"type": "string", "format": "uri", "pattern": "^https://"}},
        required=("media_location",),
    )


def schema_for(product_type: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "item_name": _text(200),
        "brand": _text(100),
        "product_description": _text(2000),
        "bullet_point": _values({"value": {"type": "string", "maxLength": 500}}, max_items=10),
        "condition_type": _values(
            {
                "value": {
                    "enum": [
                        "new_new",
                        "used_like_new",
                        "used_very_good",
                        "used_good",
                        "used_acceptable",
                        "refurbished_refurbished",
                    ]
                }
            }
        ),
        "externally_assigned_product_identifier": _values(
            {
                "type": {"enum": ["ean", "gtin", "upc", "isbn"]},
                "value": {"type": "string", "pattern": "^[0-9]{8,14}$"},
            },
            required=("type", "value"),
        ),
        "main_product_image_locator": _image(),
        **{f"other_product_image_locator_{n}": _image() for n in range(1, 9)},
        "parentage_level": _values({"value": {"enum": ["parent", "child"]}}),
        "child_parent_sku_relationship": _values(
            {
                "child_relationship_type": {"enum": ["variation"]},
                "parent_sku": {"type": "string", "minLength": 1},
            },
            required=("child_relationship_type", "parent_sku"),
        ),
        "variation_theme": _values({"name": {"type": "string", "minLength": 1}}, required=("name",)),
        "size": _text(50),
        "color": _text(50),
        "material": _text(100),
        "purchasable_offer": {"type": "array"},
        "fulfillment_availability": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "fulfillment_channel_code": {"type": "string"},
                    "quantity": {"type": "integer", "minimum": 0},
                    "lead_time_to_ship_max_days": {"type": "integer", "minimum": 0},
                    "restock_date": {"type": "string", "format": "date"},
                    "is_inventory_available": {"type": "boolean"},
                },
                "required": ["fulfillment_channel_code"],
                "additionalProperties": False,
            },
        },
    }
    parent = {
        "properties": {"parentage_level": {"contains": {"properties": {"value": {"const": "parent"}}}}},
        "required": ["parentage_level"],
    }
    child_rules: list[str] = ["externally_assigned_product_identifier", "main_product_image_locator"]
    if product_type == "SHIRT":
        child_rules += ["size", "color"]
    return {
        "$schema": META_SCHEMA,
        "$id": f"https://schemas.amazon.com/selling-partners/definitions/product-types/schema/v1/{product_type}",
        "type": "object",
        "properties": properties,
        "required": ["item_name", "brand", "condition_type", "product_description"],
        "additionalProperties": False,
        "allOf": [{"if": parent, "then": True, "else": {"required": child_rules}}],
    }


def schema_bytes(product_type: str) -> bytes:
    return json.dumps(schema_for(product_type), sort_keys=True).encode()


def definition(product_type: str, marketplace_id: str, schema_url: str, locale: str) -> dict[str, Any]:
    """A ProductTypeDefinition (definitionsProductTypes_2020-09-01) pointing at the schema."""
    checksum = base64.b64encode(hashlib.md5(schema_bytes(product_type)).digest()).decode()  # noqa: S324 - Amazon's checksum
    return {
        "metaSchema": {"link": {"resource": META_SCHEMA, "verb": "GET"}, "checksum": "meta"},
        "schema": {"link": {"resource": schema_url, "verb": "GET"}, "checksum": checksum},
        "requirements": "LISTING",
        "requirementsEnforced": "ENFORCED",
        "propertyGroups": {
            "offer": {
                "title": "Offer",
                "propertyNames": ["condition_type", "purchasable_offer", "fulfillment_availability"],
            },
            "product_identity": {
                "title": "Product Identity",
                "propertyNames": ["item_name", "brand", "externally_assigned_product_identifier"],
            },
        },
        "locale": locale,
        "marketplaceIds": [marketplace_id],
        "productType": product_type,
        "displayName": product_type.title(),
        "productTypeVersion": {"version": "U1.0", "latest": True, "releaseCandidate": False},
    }
