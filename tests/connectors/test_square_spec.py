"""What the connector sends and what the emulator answers, checked against Square's OpenAPI spec.

For every exchange of a scenario that touches every endpoint (successes, per-change errors, version
conflicts, 401, 429): the path and method exist in ``square/api.json``, the request body validates
against the operation's request schema (write context: no read-only fields), the answer against the
operation's response schema (read context), and neither carries a property the schema does not
declare (the spec leaves ``additionalProperties`` open, so a misspelt field would pass otherwise).
Webhook payloads validate against the event schemas. ``$ref`` is resolved through a registry.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from square_fixtures import JPEG, Exchange, ImageServer, price, rig, update

from omnisync.sdk import ListingRef, OrderCursor
from omnisync.testing.conformance_listings import kit_listing
from omnisync.testing.harness import Fault

URN = "urn:square-api"


@pytest.fixture(scope="module")
def spec(specs_dir: Path) -> dict[str, Any]:
    path = specs_dir / "square" / "api.json"
    if not path.is_file():
        pytest.skip(f"Square spec not found at {path}")
    document: dict[str, Any] = json.loads(path.read_text())
    # Square documents codes in x-endpoint-errors (VERSION_MISMATCH...) that its ErrorCode enum lacks.
    codes = document["components"]["schemas"]["ErrorCode"]["enum"]
    listed = {e["error-code"] for op in _operations(document) for e in op.get("x-endpoint-errors", [])}
    codes.extend(sorted(listed - set(codes)))
    return document


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in document["paths"].values() for op in item.values() if isinstance(op, dict)]


class Spec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry: Registry[Any] = Registry().with_resource(
            URN, Resource.from_contents(document, default_specification=DRAFT4)
        )

    def operation(self, method: str, path: str) -> dict[str, Any]:
        op = self.document["paths"].get(path, {}).get(method.lower())
        assert op is not None, f"{method} {path} is not in the Square spec"
        return op

    def validate(self, ref: str, instance: Any, *, write: bool) -> None:
        cls = OAS30WriteValidator if write else OAS30ReadValidator
        cls({"$ref": f"{URN}{ref}"}, registry=self.registry).validate(instance)
        undeclared = list(self._undeclared(self._resolve(ref), instance, "$"))
        assert not undeclared, f"properties the spec does not declare: {undeclared}"

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.document
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node  # type: ignore[no-any-return]

    def _undeclared(self, schema: dict[str, Any], instance: Any, where: str) -> Any:
        if "$ref" in schema:
            schema = self._resolve(schema["$ref"])
        if isinstance(instance, dict) and "properties" in schema:
            for key, value in instance.items():
                if key not in schema["properties"]:
                    yield f"{where}.{key}"
                else:
                    yield from self._undeclared(schema["properties"][key], value, f"{where}.{key}")
        elif isinstance(instance, list) and "items" in schema:
            for n, value in enumerate(instance):
                yield from self._undeclared(schema["items"], value, f"{where}[{n}]")

    def check(self, exchange: Exchange) -> None:
        op = self.operation(exchange.method, exchange.path)
        if exchange.request is not None:
            content = op["requestBody"]["content"]
            if "application/json" in content:
                ref = content["application/json"]["schema"]["$ref"]
            else:  # CreateCatalogImage: the JSON ``request`` part of a multipart form
                ref = content["multipart/form-data"]["schema"]["properties"]["request"]["$ref"]
            self.validate(ref, exchange.request, write=True)
        assert exchange.response is not None, f"{exchange.path} answered no JSON"
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        self.validate(ref, exchange.response, write=False)


async def _scenario() -> tuple[list[Exchange], list[bytes]]:
    """Drive every endpoint through the connector against the emulator."""
    r = rig(settings={"catalog_images": True})
    emu, conn = r.emulator, r.connector
    skus = [f"SKU-{n}" for n in range(4)]
    for n, sku in enumerate(skus):
        emu.seed_item(sku, Decimal("10.00") + n, 5)
    await conn.prepare()
    ids = await r.ids(*skus, "SKU-MISSING")
    emu.place_order("SKU-0", 1)
    bogus = {"variation_id": "NO-SUCH-VARIATION"}
    batch = [
        update("SKU-0", 8, 5, ids["SKU-0"]),
        update("SKU-1", 2, None, ids["SKU-1"]),
        update("X", 1, 0, bogus),
    ]
    await conn.push_inventory(batch)
    await conn.push_inventory(batch)  # replay of the same batch
    emu.conflict_next_upserts()
    await conn.push_prices([price("SKU-2", "12.99", ids["SKU-2"]), price("SKU-3", "0.50", ids["SKU-3"])])
    tee = kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "")
    tee = replace(tee, variants=tuple(replace(v, currency=emu.currency) for v in tee.variants))
    with ImageServer({"/tee.jpg": ("image/jpeg", JPEG)}) as web:  # CreateCatalogImage
        tee = replace(tee, images=(web.url("/tee.jpg"),))
        [made] = await conn.upsert_listings([tee])
        assert made.status.value == "accepted", made.issues
        variants = tuple(replace(v, ids=made.variant_ids[v.channel_sku]) for v in tee.variants)
        edit = replace(tee, title="Classic tee 2", ids=made.ids, variants=variants)
        [edited] = await conn.upsert_listings([edit])
        assert edited.status.value == "accepted", edited.issues
    await conn.unpublish_listings([ListingRef("TEE", made.ids, ("TEE-S", "TEE-M"))])
    await conn.read_catalogue(None)  # SearchCatalogObjects with the items' related objects
    sale = emu.place_order("SKU-1", 1, list(emu.locations)[1])
    pickup = emu.open_pickup_order("SKU-2", 2)
    emu.cancel_order(emu.open_pickup_order("SKU-3", 1))
    emu.complete_order(pickup)
    emu.return_items(sale, 1, emu.first_location)
    since = r.clock.now() - timedelta(hours=1)
    page = await conn.pull_orders(OrderCursor(since))
    assert len(page.orders) == 5
    await conn.read_inventory([])
    emu.fail_next(Fault.UNAUTHORIZED)
    emu.fail_next(Fault.THROTTLE, 1)
    with pytest.raises(Exception, match="401"):
        await conn.read_listings(["SKU-0"])
    await conn.read_listings(["SKU-0"])  # 429 then success
    await conn.aclose()
    return r.recorder.exchanges, [body for _, body, _ in emu.webhooks]


async def test_every_exchange_matches_the_spec(spec: dict[str, Any]) -> None:
    exchanges, _ = await _scenario()
    checker = Spec(spec)
    seen = set()
    for exchange in exchanges:
        checker.check(exchange)
        seen.add((exchange.path, exchange.status))
    paths = {p for p, _ in seen}
    assert paths == {
        "/v2/locations",
        "/v2/catalog/search",
        "/v2/catalog/batch-retrieve",
        "/v2/catalog/batch-upsert",
        "/v2/catalog/images",
        "/v2/inventory/changes/batch-create",
        "/v2/inventory/counts/batch-retrieve",
        "/v2/inventory/changes/batch-retrieve",
        "/v2/orders/search",
    }
    statuses = {s for _, s in seen}
    assert {200, 400, 401, 429} <= statuses, "errors were validated too"


async def test_requests_carry_the_pinned_version_and_bearer_token(spec: dict[str, Any]) -> None:
    exchanges, _ = await _scenario()
    assert all(e.headers["square-version"] == "2025-08-20" for e in exchanges)
    assert all(re.fullmatch(r"Bearer \S+", e.headers["authorization"]) for e in exchanges)
    servers = [s["url"] for s in spec["servers"]]
    assert "https://connect.squareup.com" in servers


async def test_webhook_payloads_match_the_event_schemas(spec: dict[str, Any]) -> None:
    _, bodies = await _scenario()
    checker = Spec(spec)
    schemas = {
        "order.created": "OrderCreatedEvent",
        "order.updated": "OrderUpdatedEvent",
        "inventory.count.updated": "InventoryCountUpdatedEvent",
    }
    seen = set()
    for body in bodies:
        payload = json.loads(body)
        checker.validate(f"#/components/schemas/{schemas[payload['type']]}", payload, write=False)
        seen.add(payload["type"])
    assert seen == set(schemas)


def test_the_checker_catches_a_wrong_request(spec: dict[str, Any]) -> None:
    checker = Spec(spec)
    good = {"idempotency_key": "k", "changes": [{"type": "ADJUSTMENT", "adjustment": {"quantity": "1"}}]}
    ref = "#/components/schemas/BatchChangeInventoryRequest"
    checker.validate(ref, good, write=True)
    with pytest.raises(Exception, match="IN_STOK"):
        checker.validate(
            ref,
            {**good, "changes": [{"type": "ADJUSTMENT", "adjustment": {"to_state": "IN_STOK"}}]},
            write=True,
        )
    with pytest.raises(AssertionError, match="quantity_after"):
        checker.validate(ref, {**good, "changes": [{"adjustment": {"quantity_after": "1"}}]}, write=True)
    with pytest.raises(Exception, match="idempotency_key"):
        checker.validate(ref, {"changes": []}, write=True)
