"""Shared helpers for the Shopify connector tests (imported by tests/connectors/test_shopify_*.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_client_schema,
    execute_sync,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from omnisync_connectors.shopify import ShopifyConnector
from omnisync_connectors.shopify.emulator import ShopifyEmulator

from omnisync.clock import VirtualClock
from omnisync.sdk import InventoryUpdate, idempotency_key
from omnisync.sdk.runtime import instantiate

SPEC = Path("shopify-admin") / "admin_2026-04.json"


def published_schema(specs_dir: Path) -> GraphQLSchema:
    """The published Admin schema from the specs folder; the test skips where it is absent."""
    path = specs_dir / SPEC
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return admin_schema(path)


@lru_cache(maxsize=2)
def admin_schema(path: Path) -> GraphQLSchema:
    """The published 2026-04 Admin schema, built once per test session (10 MB of introspection)."""
    with path.open(encoding="utf-8") as fh:
        return build_client_schema(json.load(fh)["data"])


def make(clock: VirtualClock | None = None, **settings: Any) -> tuple[ShopifyEmulator, ShopifyConnector]:
    clock = clock or VirtualClock()
    emulator = ShopifyEmulator(clock)
    connector = instantiate(
        ShopifyConnector,
        emulator.settings(**settings),
        channel="shop",
        clock=clock,
        transport=emulator.transport(),
    )
    assert isinstance(connector, ShopifyConnector)
    return emulator, connector


def update(
    emulator: ShopifyEmulator,
    sku: str,
    quantity: int,
    previous: int | None,
    version: int = 1,
    location: str | None = None,
) -> InventoryUpdate:
    return InventoryUpdate(
        sku=f"M-{sku}",
        channel_sku=sku,
        quantity=quantity,
        previous=previous,
        version=version,
        idempotency_key=idempotency_key("shop", f"M-{sku}", version),
        ids=emulator.ids(sku) or {},
        location=location,
    )


def request_errors(schema: GraphQLSchema, query: str, variables: Mapping[str, Any]) -> list[str]:
    """Validation errors of a document and of its variables' values against ``schema``."""
    document = parse(query)
    problems = [e.message for e in validate(schema, document)]
    if problems:
        return problems
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            coerced = get_variable_values(schema, definition.variable_definitions or [], dict(variables))
            if isinstance(coerced, list):
                problems.extend(e.message for e in coerced)
    return problems


def _replay_field(source: Any, info: Any, **_args: Any) -> Any:
    return source.get(info.path.key) if isinstance(source, Mapping) else None


def _replay_type(value: Any, _info: Any, _abstract: Any) -> str | None:
    gid = value.get("id", "") if isinstance(value, Mapping) else ""
    parts = str(gid).split("/")
    return parts[3].split("?")[0] if len(parts) > 3 else None


def answer_errors(
    schema: GraphQLSchema, document: DocumentNode | str, variables: Mapping[str, Any], data: Mapping[str, Any]
) -> list[GraphQLError]:
    """Re-execute an answer's ``data`` through ``schema``: non-null fields present, enums and scalars
    valid, lists where lists belong. Returns the errors (empty when the answer fits the schema)."""
    document = parse(document) if isinstance(document, str) else document
    result = execute_sync(
        schema,
        document,
        root_value=data,
        variable_values=dict(variables),
        field_resolver=_replay_field,
        type_resolver=_replay_type,
    )
    errors = list(result.errors or [])
    if not errors and result.data != data:
        errors.append(GraphQLError("replayed data differs from the answer"))
    return errors
