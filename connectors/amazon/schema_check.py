"""Listing attributes checked against a product type's JSON Schema (Product Type Definitions API).

Amazon's product type schemas declare their own meta-schema (draft 2019-09 plus Amazon keywords such
as ``maxUniqueItems`` and ``selectors``); the standard keywords are checked here with jsonschema's
2019-09 validator, which leaves the unknown keywords alone. One issue per failed keyword, naming the
attribute, as Amazon's own listing issues do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft201909Validator


def validator(schema: Mapping[str, Any]) -> Draft201909Validator:
    return Draft201909Validator(dict(schema))


def schema_issues(check: Draft201909Validator, attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(attribute name, message) for every way ``attributes`` break the schema (sorted, stable)."""
    found = []
    for error in check.iter_errors(dict(attributes)):
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required" and not path:
            name = str(error.message).split("'")[1] if "'" in error.message else ""
            found.append((name, f"'{name}' is required but not supplied."))
            continue
        found.append((path[0] if path else "", f"{'.'.join(path) or 'attributes'}: {error.message}"))
    return sorted(set(found))


def attribute_issues(check: Draft201909Validator, attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Like :func:`schema_issues` for a partial update: each attribute against its own subschema."""
    props: Mapping[str, Any] = check.schema.get("properties", {})
    found = []
    for name, value in attributes.items():
        if name not in props:
            found.append((name, f"'{name}' is not an attribute of this product type."))
            continue
        for error in Draft201909Validator(props[name]).iter_errors(value):
            where = ".".join([name, *(str(p) for p in error.absolute_path)])
            found.append((name, f"{where}: {error.message}"))
    return sorted(set(found))
