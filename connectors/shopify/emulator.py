"""An emulator of the Shopify GraphQL Admin API (2026-04) for tests, benchmarks and the demo.

``ShopifyEmulator`` holds the shop (``emulator_state``), answers ``POST /admin/api/{version}/graphql.json``
through an ASGI app (in-process with ``emulator.transport()``, on loopback with
``python -m omnisync_connectors.shopify.emulator --port N``), charges Shopify's calculated query cost
against a leaky bucket (``querycost``) and answers ``THROTTLED`` / ``MAX_COST_EXCEEDED`` as Shopify
does. ``fail_next`` injects throttles, 401s, 5xx and timeouts; ``signed_webhook`` produces an
``orders/*`` delivery with a valid ``X-Shopify-Hmac-Sha256``.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import httpx
from graphql import DocumentNode, GraphQLError, execute_sync, parse, validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnisync.clock import Clock, SystemClock
from omnisync.testing.harness import Fault
from omnisync.testing.latency import RoundTrip, WithLatency

from .emulator_bulk import RESULTS_PATH, UPLOAD_PATH, BulkOperations
from .emulator_graphql import subset_schema
from .emulator_products import PUBLICATION
from .emulator_resolvers import Roots
from .emulator_rest import rest_order
from .emulator_state import OrderRecord, ShopState
from .querycost import query_cost
from .settings import BUCKET_SECONDS, RESTORE_RATE
from .throttle import MAX_QUERY_COST
from .webhooks import sign

DOCS = "https://shopify.dev/api/usage/rate-limits"


@lru_cache(maxsize=256)
def _parsed(query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, (exc,)
    return document, tuple(validate(subset_schema(), document))


class ShopifyEmulator(WithLatency):
    def __init__(
        self,
        clock: Clock | None = None,
        *,
        shop: str = "omnisync-emulator.myshopify.com",
        access_token: str = "shpat_emulator_token",  # noqa: S107 - the emulator's own test token
        webhook_secret: str = "emulator-webhook-secret",  # noqa: S107 - likewise
        plan: str = "standard",
        locations: Sequence[str] = ("warehouse", "store"),
        currency: str = "USD",
        bucket_size: float | None = None,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock or SystemClock()
        self.shop = shop
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.state = ShopState(currency)
        self.locations = {name: self.state.add_location(name) for name in locations}
        self.restore_rate = RESTORE_RATE[plan]
        self.bucket_size = float(bucket_size or self.restore_rate * BUCKET_SECONDS)
        self._available = self.bucket_size
        self._updated = self.clock.monotonic()
        self._faults: deque[Fault] = deque()
        self.roots = Roots(self.state, self.clock.now)
        self.bulk = BulkOperations(self.clock, self._execute_line)
        self.calls = 0
        self.throttled = 0
        self.points_charged = 0
        self.requests: list[dict[str, Any]] = []
        """Every GraphQL request answered (query, variables, response body), for tests."""
        self.app = RoundTrip(
            Starlette(
                routes=[
                    Route("/admin/api/{version}/graphql.json", self._endpoint, methods=["POST"]),
                    Route(UPLOAD_PATH, self._upload, methods=["POST"]),
                    Route(RESULTS_PATH + "{number}.jsonl", self._result, methods=["GET"]),
                ]
            ),
            self.clock,
            latency,
        )

    # -- control: what a test, the demo or a simulated shopper drives ------------------------------
    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Connector settings pointing at this emulator (in-process; add ``endpoint`` for loopback)."""
        base: dict[str, Any] = {
            "shop": self.shop,
            "access_token": self.access_token,
            "webhook_secret": self.webhook_secret,
            "locations": dict(self.locations),
            "plan": _plan_name(self.restore_rate),
            "publication_id": PUBLICATION,
        }
        base.update(overrides)
        return base

    def listing(self, handle: str) -> dict[str, Any] | None:
        """The product with ``handle`` as a shopper sees it: title, whether it is on the Online Store,
        its variants' SKUs (by position) and media."""
        product = next((p for p in self.state.products.values() if p.get("handle") == handle), None)
        if product is None:
            return None
        view = self.roots.views.product(str(product["id"]))
        assert view is not None
        variants = view["variants"](None, first=250)["nodes"]
        on_store = PUBLICATION in product.get("published", set())  # type: ignore[operator]
        return {
            "id": product["id"],
            "title": product["title"],
            "published": product.get("status") == "ACTIVE" and on_store,
            "status": product.get("status"),
            "variants": [v["sku"] for v in variants],
            "options": product.get("options"),
            "media": product.get("media"),
            "descriptionHtml": product.get("descriptionHtml"),
        }

    def seed(
        self,
        sku: str,
        quantity: int,
        price: Decimal | str = "10.00",
        location: str | None = None,
        product_id: str | None = None,
    ) -> dict[str, str]:
        """Create a variant (own product unless ``product_id``) stocked at every location, ``quantity``
        available at ``location`` (default the first) and 0 elsewhere. Returns its ids."""
        now = self.clock.now()
        variant = self.state.add_variant(sku, Decimal(str(price)), now, product_id)
        target = self._location(location)
        for gid in self.locations.values():
            self.state.stock(variant.inventory_item_id, gid, quantity if gid == target else 0, now)
        return self.ids(sku) or {}

    def seed_product(
        self,
        handle: str,
        title: str,
        variants: Sequence[tuple[str, Mapping[str, str], str | None, str]],
        *,
        description: str = "",
        vendor: str = "",
        product_type: str = "",
        images: Sequence[str] = (),
        status: str = "ACTIVE",
        quantity: int = 0,
    ) -> str:
        """A product as a merchant made it in the admin, published: its ``variants`` as (SKU, option
        values, barcode, price), ``quantity`` available at every location. Returns its GID."""
        now = self.clock.now()
        gid = self.state.new_id("Product")
        names = list(variants[0][1]) if variants else []
        self.state.products[gid] = {
            "id": gid, "handle": handle, "title": title, "descriptionHtml": description, "vendor": vendor,
            "productType": product_type, "status": status, "published": {PUBLICATION}, "media": list(images),
            "options": [{"name": n, "values": list(dict.fromkeys(v[1][n] for v in variants))} for n in names],
            "updatedAt": now,
        }  # fmt: skip
        for position, (sku, options, barcode, price) in enumerate(variants, 1):
            variant = self.state.add_variant(sku, Decimal(price), now, gid)
            for location in self.locations.values():
                self.state.stock(variant.inventory_item_id, location, quantity, now)
            self.state.variant_content[variant.id] = {
                "options": dict(options),
                "barcode": barcode,
                "position": position,
            }
        return gid

    def ids(self, sku: str) -> dict[str, str] | None:
        variant = self.state.variant_for_sku(sku)
        if variant is None:
            return None
        return {
            "variant_id": variant.id,
            "product_id": variant.product_id,
            "inventory_item_id": variant.inventory_item_id,
        }

    def quantity(self, sku: str, location: str | None = None, name: str = "available") -> int | None:
        variant = self.state.variant_for_sku(sku)
        level = (
            self.state.levels.get((variant.inventory_item_id, self._location(location))) if variant else None
        )
        return level[name] if level else None

    def set_quantity(self, sku: str, quantity: int, location: str | None = None) -> None:
        """The merchant edits the number in the Shopify admin."""
        variant = self.state.variant_for_sku(sku)
        if variant is None:
            raise KeyError(sku)
        current = self.quantity(sku, location) or 0
        delta = quantity - current
        self.state.move(
            variant.inventory_item_id,
            self._location(location),
            self.clock.now(),
            available=delta,
            on_hand=delta,
        )

    def price(self, sku: str) -> Decimal | None:
        variant = self.state.variant_for_sku(sku)
        return variant.price if variant else None

    def place_order(
        self,
        sku: str | Sequence[tuple[str, int]],
        quantity: int = 1,
        *,
        location: str | None = None,
        pickup: bool = False,
        retail: bool = False,
    ) -> str:
        """A shopper buys (online, click-and-collect with ``pickup``, or at the POS with ``retail``); the
        units leave ``available`` for ``committed`` at the order's location. Returns the order GID."""
        items = [(sku, quantity)] if isinstance(sku, str) else list(sku)
        order = self.state.create_order(
            items, self._location(location), self.clock.now(), pickup=pickup, retail=retail
        )
        return order.id

    def fulfill(self, order_id: str, quantities: Mapping[str, int] | None = None) -> None:
        self.state.fulfill(self._order(order_id), self.clock.now(), dict(quantities) if quantities else None)

    def cancel(self, order_id: str, restock: bool = True) -> None:
        self.state.cancel(self._order(order_id), self.clock.now(), restock)

    def refund(
        self, order_id: str, sku: str, quantity: int, restock: bool = True, location: str | None = None
    ) -> None:
        loc = self._location(location) if location else None
        self.state.refund(self._order(order_id), sku, quantity, self.clock.now(), restock, loc)

    def return_items(
        self,
        order_id: str,
        sku: str,
        *,
        restocked: int = 0,
        not_restocked: int = 0,
        processing: int = 0,
        missing: int = 0,
        location: str | None = None,
    ) -> None:
        """The customer returns units of ``sku``; the merchant disposes of them (reverse fulfilment
        order dispositions) and refunds them."""
        loc = self._location(location) if location else None
        dispositions = {
            "RESTOCKED": restocked,
            "NOT_RESTOCKED": not_restocked,
            "PROCESSING_REQUIRED": processing,
            "MISSING": missing,
        }
        self.state.return_items(self._order(order_id), sku, dispositions, self.clock.now(), loc)

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        self._faults.extend([fault] * times)

    def signed_webhook(
        self, order_id: str, topic: str = "orders/updated"
    ) -> tuple[dict[str, str], bytes, str | None]:
        order = self._order(order_id)
        body = json.dumps(rest_order(order)).encode()
        event = uuid.uuid5(uuid.NAMESPACE_URL, f"{order.id}|{order.updated_at.isoformat()}|{topic}")
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(self.webhook_secret, body),
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-API-Version": "2026-04",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(event),
            "X-Shopify-Triggered-At": order.updated_at.isoformat(),
        }
        return headers, body, None

    def transport(self) -> httpx.AsyncBaseTransport:
        """In-process transport; a TIMEOUT fault lets the request run and loses its answer."""
        return _FaultyTransport(self)

    def bucket_level(self) -> float:
        self._restore()
        return self._available

    # -- the API ---------------------------------------------------------------------------------
    async def _upload(self, request: Request) -> Response:
        """The storage bucket behind a staged upload target (a multipart form POST)."""
        async with request.form(max_part_size=1 << 20) as form:
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            upload = form.get("file")
            content = await upload.read() if upload is not None and not isinstance(upload, str) else None
        token_sent = "x-shopify-access-token" in request.headers
        status, body = self.bulk.receive(fields, content, token_sent)
        return Response(body, status_code=status, media_type="application/xml")

    async def _result(self, request: Request) -> Response:
        content = self.bulk.result(
            request.path_params["number"], request.query_params.get("X-Goog-Signature", "")
        )
        if content is None:
            return Response("AccessDenied", status_code=403, media_type="application/xml")
        return Response(content, media_type="application/jsonl")

    def _execute_line(self, document: DocumentNode, variables: dict[str, Any]) -> dict[str, Any]:
        """One line of a bulk mutation: the mutation run with the line's variables, not charged."""
        result = execute_sync(
            subset_schema(), document, root_value=self.roots.mutation(), variable_values=variables
        )
        line: dict[str, Any] = {}
        if result.errors:
            line["errors"] = [e.formatted for e in result.errors]
        if result.data is not None:
            line["data"] = result.data
        return line

    async def _endpoint(self, request: Request) -> JSONResponse:
        self.bulk.origin = str(request.base_url).rstrip("/")
        fault = self._faults.popleft() if self._faults else None
        if fault is Fault.TIMEOUT:  # on loopback: answer too late for any sane client timeout
            await self.clock.sleep(120.0)
        if fault is Fault.UNAUTHORIZED or request.headers.get("x-shopify-access-token") != self.access_token:
            return JSONResponse(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
                status_code=401,
            )
        if fault is Fault.SERVER_ERROR:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Internal error. Looks like something went wrong on our end.",
                            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                        }
                    ]
                },
                status_code=500,
            )
        try:
            payload = json.loads(await request.body())
            query = payload["query"]
            variables = payload.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {"errors": {"query": "Required parameter missing or invalid"}}, status_code=400
            )
        body = self.answer(query, variables, payload.get("operationName"), throttle=fault is Fault.THROTTLE)
        self.requests.append({"query": query, "variables": variables, "response": body})
        return JSONResponse(body)

    def answer(
        self,
        query: str,
        variables: Mapping[str, Any],
        operation_name: str | None = None,
        throttle: bool = False,
    ) -> dict[str, Any]:
        """The body Shopify would answer (HTTP 200) for one GraphQL request."""
        self.calls += 1
        document, errors = _parsed(query)
        if document is None or errors:
            return {"errors": [e.formatted for e in errors]}
        try:
            requested = query_cost(subset_schema(), document, variables, operation_name)
        except GraphQLError as exc:
            return {"errors": [exc.formatted]}
        self._restore()
        if requested > MAX_QUERY_COST:
            return {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query max cost"
                        f" limit ({MAX_QUERY_COST}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": MAX_QUERY_COST,
                            "documentation": DOCS,
                        },
                    }
                ]
            }
        if throttle:
            self._available = 0.0  # another app on the shop emptied the bucket
        if requested > self._available + 1e-6:  # float restore arithmetic, not a real shortfall
            self.throttled += 1
            return {
                "errors": [
                    {"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": DOCS}}
                ],
                "extensions": {"cost": self._cost(requested, None)},
            }
        self._available -= requested
        self.bulk.advance()
        root = {
            **self.roots.query(),
            **self.roots.mutation(),
            "stagedUploadsCreate": self.bulk.staged_uploads,
            "bulkOperationRunMutation": self.bulk.run_mutation,
            "currentBulkOperation": self.bulk.current,
            "node": lambda _info, id: (
                self.bulk.node(id) if "/BulkOperation/" in id else self.roots.views.node(id)
            ),
        }
        result = execute_sync(
            subset_schema(),
            document,
            root_value=root,
            variable_values=dict(variables),
            operation_name=operation_name,
        )
        actual = (
            query_cost(subset_schema(), document, variables, operation_name, data=result.data)
            if result.data is not None
            else 0
        )
        self._available = min(self.bucket_size, self._available + max(0, requested - actual))
        self.points_charged += actual
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        if result.data is not None or not result.errors:
            body["data"] = result.data
        body["extensions"] = {"cost": self._cost(requested, actual)}
        return body

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.bucket_size,
                "currentlyAvailable": int(self._available),
                "restoreRate": self.restore_rate,
            },
        }

    def _restore(self) -> None:
        now = self.clock.monotonic()
        self._available = min(self.bucket_size, self._available + (now - self._updated) * self.restore_rate)
        self._updated = now

    def _location(self, name_or_gid: str | None) -> str:
        if name_or_gid is None:
            return next(iter(self.locations.values()))
        return self.locations.get(name_or_gid, name_or_gid)

    def _order(self, order_id: str) -> OrderRecord:
        return self.state.orders[order_id]


class _FaultyTransport(httpx.AsyncBaseTransport):
    def __init__(self, emulator: ShopifyEmulator) -> None:
        self._emulator = emulator
        self._inner = httpx.ASGITransport(app=emulator.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        faults = self._emulator._faults
        if faults and faults[0] is Fault.TIMEOUT:
            faults.popleft()
            await self._inner.handle_async_request(request)  # the shop did the work; the answer is lost
            raise httpx.ReadTimeout("emulated timeout", request=request)
        return await self._inner.handle_async_request(request)


def _plan_name(restore_rate: float) -> str:
    return next((name for name, rate in RESTORE_RATE.items() if rate == restore_rate), "standard")


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Shopify Admin API emulator on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--seed", type=int, default=20, help="SKUs to create (SKU-0001...)")
    args = parser.parse_args(argv)
    emulator = ShopifyEmulator()
    for n in range(1, args.seed + 1):
        emulator.seed(f"SKU-{n:04d}", 25, "19.99")
    settings = emulator.settings(endpoint=f"http://{args.host}:{args.port}")
    print(json.dumps({"settings": settings}, indent=2))
    uvicorn.run(emulator.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
