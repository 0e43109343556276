"""Shared helpers for the Amazon connector tests: a connector over the emulator, and validators that
check requests and answers against the official SP-API models (Swagger 2.0) and feed JSON schemas."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import jsonschema
from omnisync_connectors.amazon import AmazonConnector
from omnisync_connectors.amazon.emulator import AmazonEmulator

from omnisync.clock import VirtualClock
from omnisync.sdk.runtime import instantiate

MODELS = {
    "/listings/": "listingsItems_2021-08-01.json",
    "/feeds/": "feeds_2021-06-30.json",
    "/orders/": "ordersV0.json",
    "/definitions/": "definitionsProductTypes_2020-09-01.json",
    "/fba/": "fbaInventory.json",
}


def make(
    emulator_kwargs: dict[str, Any] | None = None, **settings: Any
) -> tuple[AmazonConnector, AmazonEmulator]:
    clock = VirtualClock()
    emulator = AmazonEmulator(clock, **(emulator_kwargs or {}))
    connector = instantiate(
        AmazonConnector,
        emulator.settings(**settings),
        channel="amazon-test",
        clock=clock,
        transport=emulator.transport(),
    )
    assert isinstance(connector, AmazonConnector)
    return connector, emulator


def seed(emulator: AmazonEmulator, count: int, quantity: int = 10, price: str = "19.99") -> list[str]:
    skus = [f"AMZ-{n:05d}" for n in range(count)]
    for sku in skus:
        emulator.seed_listing(sku, quantity, Decimal(price))
    return skus


@dataclass
class Operation:
    spec: dict[str, Any]
    path: str
    method: str
    body: dict[str, Any]

    def parameters(self) -> list[dict[str, Any]]:
        shared = self.spec["paths"][self.path].get("parameters", [])
        return [*shared, *self.body.get("parameters", [])]


class SwaggerModel:
    """Validates SP-API requests/answers against one Swagger 2.0 model, resolving its $refs."""

    def __init__(self, path: Path) -> None:
        self.spec = json.loads(path.read_text())
        self._validators: dict[str, jsonschema.Draft4Validator] = {}
        self._routes = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), template)
            for template in self.spec["paths"]
        ]

    def operation(self, method: str, raw_path: str) -> Operation:
        matches = [t for rx, t in self._routes if rx.match(raw_path)]
        # Prefer the most specific template (fewest parameters), as a router would.
        matches.sort(key=lambda t: t.count("{"))
        for template in matches:
            body = self.spec["paths"][template].get(method.lower())
            if body:
                return Operation(self.spec, template, method.lower(), body)
        raise AssertionError(f"{method} {raw_path} is no operation of the model")

    def validate(self, instance: Any, schema: dict[str, Any]) -> None:
        """Validate against a Swagger schema object (Draft 4 semantics), its $refs resolved in the model."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft4Validator(
                {**schema, "definitions": self.spec["definitions"]}
            )
        self._validators[key].validate(instance)

    def validate_request(self, method: str, url: str, body: bytes) -> str:
        parts = urlsplit(url)
        op = self.operation(method, parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        declared = {p["name"]: p for p in op.parameters()}
        for name in query:
            assert declared.get(name, {}).get("in") == "query", f"{op.body['operationId']}: unknown {name}"
        for param in declared.values():
            where = param["in"]
            if where == "query":
                if param.get("required"):
                    assert param["name"] in query, f"{op.body['operationId']}: {param['name']} missing"
                if param["name"] in query:
                    self._check_scalar(param, query[param["name"]])
            elif where == "path":
                index = op.path.split("/").index("{" + param["name"] + "}")
                assert unquote(parts.path.split("/")[index]), f"path parameter {param['name']} empty"
            elif where == "body":
                assert body, f"{op.body['operationId']}: body required"
                self.validate(json.loads(body), param["schema"])
        return str(op.body["operationId"])

    def _check_scalar(self, param: dict[str, Any], raw: str) -> None:
        if param["type"] == "array":
            values = raw.split(",") if param.get("collectionFormat", "csv") == "csv" else [raw]
            if "maxItems" in param:
                assert len(values) <= param["maxItems"]
            enum = param.get("items", {}).get("enum")
            if enum:
                assert set(values) <= set(enum), f"{param['name']}={raw} outside {enum}"
        elif param["type"] == "integer":
            assert re.fullmatch(r"-?\d+", raw), f"{param['name']}={raw} is not an integer"
        elif param.get("enum"):
            assert raw in param["enum"]

    def validate_response(self, method: str, url: str, status: int, payload: Any) -> None:
        op = self.operation(method, urlsplit(url).path)
        declared = op.body["responses"].get(str(status))
        assert declared is not None, f"{op.body['operationId']} never answers {status}"
        if "schema" in declared:
            self.validate(payload, declared["schema"])


_models: dict[Path, SwaggerModel] = {}


def model_for(specs_dir: Path, url: str) -> SwaggerModel:
    path = urlsplit(url).path
    for prefix, name in MODELS.items():
        if path.startswith(prefix):
            file = specs_dir / "amazon-sp-api" / name
            if file not in _models:
                _models[file] = SwaggerModel(file)
            return _models[file]
    raise AssertionError(f"no model for {path}")


def feed_validators(specs_dir: Path) -> tuple[jsonschema.Draft7Validator, jsonschema.Draft7Validator, Any]:
    folder = specs_dir / "amazon-sp-api"
    feed = json.loads((folder / "listings-feed-schema-v2.json").read_text())
    message = json.loads((folder / "listings-feed-message-schema-v2.json").read_text())
    report = json.loads((folder / "listings-feed-processing-report-schema-v2.json").read_text())
    return (
        jsonschema.Draft7Validator(feed),
        jsonschema.Draft7Validator(message),
        jsonschema.Draft7Validator(report),
    )


class Recording(httpx.AsyncBaseTransport):
    """Wraps a transport and keeps every (request, response) pair it carried."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.exchanges.append((request, response))
        return response

    def sp_api(self) -> list[tuple[httpx.Request, httpx.Response]]:
        return [
            (q, r)
            for q, r in self.exchanges
            if q.url.path.split("/")[1] in ("listings", "feeds", "orders", "definitions")
        ]


def make_recorded(
    emulator_kwargs: dict[str, Any] | None = None, **settings: Any
) -> tuple[AmazonConnector, AmazonEmulator, Recording]:
    clock = VirtualClock()
    emulator = AmazonEmulator(clock, **(emulator_kwargs or {}))
    recording = Recording(emulator.transport())
    connector = instantiate(
        AmazonConnector,
        emulator.settings(**settings),
        channel="amazon-test",
        clock=clock,
        transport=recording,
    )
    assert isinstance(connector, AmazonConnector)
    return connector, emulator, recording
