"""What the connector sends and what the emulator answers, checked against Meta's codegen specs.

The specs are facebook-business-sdk-codegen JSON (``../shared/specs/meta-commerce``): per node, its
``fields`` and its ``apis`` (edges with their params); ``enum_types.json`` lists every enum's values.
Generic Graph query parameters (``fields``, ``limit``, ``after``) are not listed per edge.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from instagram_fixtures import Recorder, connector, inv, price
from omnisync_connectors.instagram.expansion import parse_fields
from omnisync_connectors.instagram.fields import (
    ORDER_EDGES,
    ORDER_FIELDS,
    PRODUCT_FIELDS,
    PUBLISHED,
    STAGING,
    availability_for,
)
from omnisync_connectors.instagram.harness import InstagramHarness
from omnisync_connectors.instagram.settings import InstagramSettings

from omnisync.sdk import OrderCursor

GENERIC_PARAMS = {"fields", "limit", "after"}


def _node(specs_dir: Path, name: str) -> dict[str, Any]:
    path = specs_dir / "meta-commerce" / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _enum(specs_dir: Path, name: str) -> set[str]:
    enums = json.loads((specs_dir / "meta-commerce" / "enum_types.json").read_text())
    return {v for e in enums if e["name"] == name for v in e["values"]}


def _field_names(node: dict[str, Any]) -> set[str]:
    return {f["name"] for f in node["fields"]}


def _edge(node: dict[str, Any], method: str, endpoint: str) -> dict[str, Any]:
    matches = [a for a in node["apis"] if a["method"] == method and a.get("endpoint") == endpoint]
    assert matches, f"{method} {endpoint} is not in the spec"
    return matches[0]


def _params(api: dict[str, Any]) -> set[str]:
    return {p["name"] for p in api["params"]}


@pytest.fixture
async def traffic() -> tuple[Recorder, InstagramHarness]:
    """One round of every call the connector makes, recorded."""
    harness = InstagramHarness()
    harness.emulator.seed([("S-1", 3, "10.00"), ("S-2", 0, "5.00")])
    recorder = Recorder(harness.transport())
    conn = connector(harness, recorder)
    await conn.prepare()
    await conn.push_inventory(
        [inv("S-1", 2, available=True), inv("S-2", 0, available=False), inv("GHOST", 1)]
    )
    await conn.push_prices([price("S-1", "12.00", compare_at="15.00")])
    await conn.read_listings(["S-1", "S-2"])
    order_id = harness.place_order("S-1", 1)
    await conn.pull_orders(OrderCursor(harness.clock.now().replace(year=2025)))
    harness.emulator.cancel_order(order_id)
    await conn.pull_orders(OrderCursor(None))
    await conn.aclose()
    return recorder, harness


def _sent_data(recorder: Recorder) -> list[dict[str, Any]]:
    return [
        request["data"]
        for call in recorder.paths("/items_batch")
        for request in json.loads(call.content)["requests"]
    ]


async def test_batch_request_fields_and_enums_exist(
    specs_dir: Path, traffic: tuple[Recorder, InstagramHarness]
) -> None:
    recorder, _ = traffic
    product_item = _node(specs_dir, "ProductItem")
    fields = _field_names(product_item)
    data = _sent_data(recorder)
    assert data
    for entry in data:
        assert set(entry) <= fields, f"fields unknown to ProductItem: {set(entry) - fields}"
    availability = _enum(specs_dir, "ProductItem_availability")
    assert availability == _enum(specs_dir, "productcatalogproducts_availability_enum_param")
    visibility = _enum(specs_dir, "ProductItem_visibility")
    sent_availability = {d["availability"] for d in data if "availability" in d}
    sent_visibility = {d["visibility"] for d in data if "visibility" in d}
    assert sent_availability == {availability_for(1), availability_for(0)} <= availability
    assert sent_visibility == {PUBLISHED, STAGING} <= visibility


async def test_items_batch_and_status_params(
    specs_dir: Path, traffic: tuple[Recorder, InstagramHarness]
) -> None:
    recorder, _ = traffic
    catalog = _node(specs_dir, "ProductCatalog")
    items_batch = _edge(catalog, "POST", "items_batch")
    required = {p["name"] for p in items_batch["params"] if p["required"]}
    for call in recorder.paths("/items_batch"):
        body = json.loads(call.content)
        assert set(body) <= _params(items_batch)
        assert required <= set(body)
    status = _edge(catalog, "GET", "check_batch_request_status")
    for call in recorder.paths("/check_batch_request_status"):
        assert set(call.url.params) <= _params(status)
        assert "handle" in call.url.params
    products = _edge(catalog, "GET", "products")
    for call in recorder.paths("/products"):
        assert set(call.url.params) <= _params(products) | GENERIC_PARAMS


def test_read_fields_exist(specs_dir: Path) -> None:
    assert set(PRODUCT_FIELDS) <= _field_names(_node(specs_dir, "ProductItem"))
    order = _node(specs_dir, "CommerceOrder")
    assert set(ORDER_FIELDS) <= _field_names(order)
    edges = {a.get("endpoint") for a in order["apis"] if a["method"] == "GET"}
    assert set(ORDER_EDGES) <= edges


async def test_order_states_and_params(specs_dir: Path, traffic: tuple[Recorder, InstagramHarness]) -> None:
    recorder, _ = traffic
    cms = _node(specs_dir, "CommerceMerchantSettings")
    orders = _edge(cms, "GET", "commerce_orders")
    states = _enum(specs_dir, "commercemerchantsettingscommerce_orders_state_enum_param")
    calls = recorder.paths("/commerce_orders")
    assert calls
    for call in calls:
        assert set(call.url.params) <= _params(orders) | GENERIC_PARAMS
        sent = set(call.url.params["state"].split(","))
        assert {"CREATED", "IN_PROGRESS"} <= sent <= states
    assert any("updated_after" in c.url.params for c in calls)
    order = _node(specs_dir, "CommerceOrder")
    edges = {a.get("endpoint") for a in order["apis"] if a["method"] == "GET"}
    for call in calls:  # every field is a CommerceOrder field, or one of its edges read inline
        for field in parse_fields(call.url.params["fields"]):
            if field.subfields is None and field.limit is None:
                assert field.name in _field_names(order), field
            else:
                assert field.name in edges, field
    defaults = InstagramSettings.model_fields["order_states"].default
    assert set(defaults) <= states


async def test_emulator_answers_use_spec_fields(
    specs_dir: Path, traffic: tuple[Recorder, InstagramHarness]
) -> None:
    _, harness = traffic
    emulator = harness.emulator
    status_fields = _field_names(_node(specs_dir, "CheckBatchRequestStatus"))
    for handle in emulator.batches.batches:
        element = emulator.batches.status(handle, load_ids=True)
        assert element is not None
        assert set(element) <= status_fields
    order_fields = _field_names(_node(specs_dir, "CommerceOrder"))
    order_states = _enum(specs_dir, "commercemerchantsettingscommerce_orders_state_enum_param")
    for order in emulator.orders.values():
        assert order.state in order_states
    async with httpx.AsyncClient(transport=emulator.transport(), base_url="http://emulator") as client:
        headers = {"Authorization": f"Bearer {emulator.access_token}"}
        answer = (
            await client.get(
                f"/v26.0/{emulator.cms_id}/commerce_orders",
                params={"fields": ",".join(sorted(order_fields))},
                headers=headers,
            )
        ).json()
        assert answer["data"]
        for row in answer["data"]:
            assert set(row) <= order_fields
        products = (
            await client.get(
                f"/v26.0/{emulator.catalog_id}/products",
                params={"fields": ",".join(PRODUCT_FIELDS)},
                headers=headers,
            )
        ).json()
    product_fields = _field_names(_node(specs_dir, "ProductItem"))
    for row in products["data"]:
        assert set(row) <= product_fields
        assert row["availability"] in _enum(specs_dir, "ProductItem_availability")
        assert row["visibility"] in _enum(specs_dir, "ProductItem_visibility")
