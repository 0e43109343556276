"""An in-memory fake channel with a small JSON HTTP API, and the connector that speaks it.

The engine tests use it, the CLI end-to-end test uses it, and it passes the conformance kit, so it is
also the worked example for connector authors. The API (served through ``httpx.MockTransport``):

    GET  /items?skus=A,B          -> {"items": [{"sku", "id", "quantity", "price"}]}
    POST /inventory               {"key", "updates": [{"id", "quantity", "compare"}]}   (<= 50 updates)
                                  -> {"results": [{"id", "status": ok|stale|error, "quantity", "error"}]}
    POST /prices                  {"updates": [{"id", "price"}]} -> {"results": [...]}
    GET  /orders?updated_after=&page_token=  -> {"orders": [...], "next": token | null}
    POST /listings, POST /listings/unpublish  (listing content: :mod:`omnisync.testing.fake_listings`)
    webhooks: body JSON {"event_id", "order_id"}, header X-Fake-Signature = hex HMAC-SHA256(secret, body)
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from omnisync.clock import Clock, VirtualClock
from omnisync.sdk import (
    Capability,
    ChannelListing,
    Connector,
    ConnectorSettings,
    Decrements,
    HttpOptions,
    InventoryRef,
    InventoryUpdate,
    ItemResult,
    Limits,
    ListingContent,
    ListingRef,
    ListingResult,
    OperationLimits,
    Order,
    OrderCursor,
    OrderLine,
    OrderPage,
    OrderStatus,
    PriceUpdate,
    WebhookEvent,
    WebhookKind,
    WebhookVerificationError,
    bearer_token,
    json_body,
    op,
    raise_for_status,
)

from .fake_listings import RULES, FakeListingStore, listing_payload, listing_result, unpublish_payload
from .harness import EmulatorHarness, Fault, SeedItem

MAX_BATCH = 50
MEMORY = "memory://"
_REGISTRY: dict[str, FakeChannelAPI] = {}


def register_fake(name: str, api: FakeChannelAPI) -> FakeChannelAPI:
    """Make ``api`` reachable as ``base_url: memory://<name>`` (CLI tests in one process)."""
    _REGISTRY[name] = api
    return api


@dataclass
class FakeItem:
    sku: str
    id: str
    quantity: int
    price: Decimal
    preorder: dict[str, Any] | None = None
    """``{"units": N, "expected": "2026-12-20" | None}`` while the item sells ahead of stock."""


@dataclass
class FakeOrder:
    id: str
    sku: str
    quantity: int
    status: str
    updated_at: datetime
    fulfilled: int = 0
    restocked: int = 0
    created_at: datetime | None = None


@dataclass
class FakeChannelAPI:
    """The fake platform: state, limits, faults."""

    clock: Clock = field(default_factory=VirtualClock)
    page_size: int = 3
    token: str = "fake-token-123"
    webhook_secret: str = "fake-webhook-secret"
    items: dict[str, FakeItem] = field(default_factory=dict)
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, path, number of items) of every request, for the tests."""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    listings: FakeListingStore = field(init=False)

    def __post_init__(self) -> None:
        self.listings = FakeListingStore(lambda: f"L{next(self._ids)}", self._listing_item)

    def _listing_item(self, sku: str, price: Decimal) -> str:
        """The item behind a listing's variant: created with nothing in stock, or adopted."""
        if sku not in self.items:
            self.items[sku] = FakeItem(sku, f"F{next(self._ids)}", 0, price)
        return self.items[sku].id

    # -- control ----------------------------------------------------------------------------------------
    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.items[item.channel_sku] = FakeItem(
                item.channel_sku, f"F{next(self._ids)}", item.quantity, item.price
            )

    def place_order(self, sku: str, quantity: int, status: str = "open") -> str:
        item = self.items[sku]
        item.quantity -= quantity
        oid = f"O{next(self._ids)}"
        now = self.clock.now()
        self.orders[oid] = FakeOrder(oid, sku, quantity, status, now, created_at=now)
        return oid

    def update_order(self, oid: str, **changes: Any) -> None:
        """Change an order; like the real platforms, the fake puts cancelled (unshipped) and
        restocked units back on its own count."""
        order = self.orders[oid]
        was_open = order.status != "cancelled"
        open_before = order.quantity - order.fulfilled
        restocked_before = order.restocked
        for k, v in changes.items():
            setattr(order, k, v)
        item = self.items.get(order.sku)
        if item is not None:
            if was_open and order.status == "cancelled":
                item.quantity += open_before
            item.quantity += order.restocked - restocked_before
        order.updated_at = self.clock.now()

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        self.faults.extend([fault] * times)

    def sign(self, body: bytes) -> str:
        return hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- the HTTP API -----------------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.faults:
            fault = self.faults.pop(0)
            if fault is Fault.THROTTLE:
                return httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "slow down"})
            if fault is Fault.UNAUTHORIZED:
                return httpx.Response(401, json={"error": "bad token"})
            if fault is Fault.SERVER_ERROR:
                return httpx.Response(503, json={"error": "unavailable"})
            raise httpx.ReadTimeout("fake timeout", request=request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"error": "bad token"})
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        if request.method == "GET" and path == "/items":
            skus = [s for s in request.url.params.get("skus", "").split(",") if s]
            self.requests.append(("GET", path, len(skus)))
            found = [self.items[s] for s in skus if s in self.items]
            return httpx.Response(
                200,
                json={
                    "items": [
                        {"sku": i.sku, "id": i.id, "quantity": i.quantity, "price": str(i.price)}
                        for i in found
                    ]
                },
            )
        if request.method == "POST" and path == "/inventory":
            return self._inventory(body)
        if request.method == "POST" and path == "/prices":
            return self._prices(body)
        if request.method == "GET" and path == "/orders":
            return self._orders(request)
        if request.method == "POST" and path in ("/listings", "/listings/unpublish"):
            self.requests.append(("POST", path, len(body.get("listings") or body.get("ids") or [])))
            return self.listings.upsert(body) if path == "/listings" else self.listings.unpublish(body)
        return httpx.Response(404, json={"error": "no such route"})

    def _by_id(self, item_id: str) -> FakeItem | None:
        return next((i for i in self.items.values() if i.id == item_id), None)

    def _inventory(self, body: dict[str, Any]) -> httpx.Response:
        updates = body.get("updates", [])
        self.requests.append(("POST", "/inventory", len(updates)))
        if len(updates) > MAX_BATCH:
            return httpx.Response(400, json={"error": f"at most {MAX_BATCH} updates"})
        key = body.get("key")
        if key and key in self.keys:
            return httpx.Response(200, json=self.keys[key])
        results = []
        for u in updates:
            item = self._by_id(str(u.get("id")))
            if item is None:
                results.append({"id": u.get("id"), "status": "error", "error": "unknown item id"})
            elif u.get("compare") is not None and u["compare"] != item.quantity:
                results.append({"id": item.id, "status": "stale", "quantity": item.quantity})
            elif not isinstance(u.get("quantity"), int) or u["quantity"] < 0:
                results.append({"id": item.id, "status": "error", "error": "quantity must be ≥ 0"})
            else:
                item.quantity = u["quantity"]
                item.preorder = u.get("preorder")
                results.append({"id": item.id, "status": "ok", "quantity": item.quantity})
        answer = {"results": results}
        if key:
            self.keys[key] = answer
        return httpx.Response(200, json=answer)

    def _prices(self, body: dict[str, Any]) -> httpx.Response:
        updates = body.get("updates", [])
        self.requests.append(("POST", "/prices", len(updates)))
        results = []
        for u in updates:
            item = self._by_id(str(u.get("id")))
            if item is None:
                results.append({"id": u.get("id"), "status": "error", "error": "unknown item id"})
            else:
                item.price = Decimal(str(u["price"]))
                results.append({"id": item.id, "status": "ok", "price": str(item.price)})
        return httpx.Response(200, json={"results": results})

    def _orders(self, request: httpx.Request) -> httpx.Response:
        after_raw = request.url.params.get("updated_after")
        after = datetime.fromisoformat(after_raw) if after_raw else datetime.min.replace(tzinfo=UTC)
        matching = sorted(
            (o for o in self.orders.values() if o.updated_at >= after), key=lambda o: (o.updated_at, o.id)
        )
        start = int(request.url.params.get("page_token") or 0)
        page = matching[start : start + self.page_size]
        self.requests.append(("GET", "/orders", len(page)))
        nxt = str(start + self.page_size) if start + self.page_size < len(matching) else None
        return httpx.Response(200, json={"orders": [self._order_json(o) for o in page], "next": nxt})

    def _order_json(self, o: FakeOrder) -> dict[str, Any]:
        return {
            "id": o.id,
            "status": o.status,
            "created_at": (o.created_at or o.updated_at).isoformat(),
            "updated_at": o.updated_at.isoformat(),
            "lines": [
                {
                    "id": "1",
                    "sku": o.sku,
                    "quantity": o.quantity,
                    "fulfilled": o.fulfilled,
                    "restocked": o.restocked,
                }
            ],
        }


class FakeSettings(ConnectorSettings):
    base_url: str = "https://fake.invalid"
    token: SecretStr
    webhook_secret: SecretStr | None = None


_STATUS = {"open": OrderStatus.OPEN, "fulfilled": OrderStatus.FULFILLED, "cancelled": OrderStatus.CANCELLED}


def _preorder(update: InventoryUpdate) -> dict[str, Any] | None:
    p = update.preorder
    return (
        None if p is None else {"units": p.units, "expected": p.expected.isoformat() if p.expected else None}
    )


class FakeConnector(Connector[FakeSettings]):
    """Speaks the fake channel's API. Small on purpose: a model for connector authors."""

    name = "fake"
    capabilities = frozenset(
        {
            Capability.PUSH_INVENTORY,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.ORDERED_PULL,  # /orders pages by (updated_at, id)
            Capability.READ_INVENTORY,
            Capability.READ_LISTINGS,
            Capability.WEBHOOKS,
            Capability.COMPARE_AND_SET,
            Capability.IDEMPOTENT_PUSH,
            Capability.MANAGE_LISTINGS,
            Capability.PREORDER,  # an item's "preorder": units sold ahead of stock, expected date
        }
    )
    Settings = FakeSettings
    listing_rules = RULES
    decrements = Decrements.ON_ORDER
    limits = Limits(
        push_inventory=OperationLimits(max_batch=MAX_BATCH, rate=10, burst=10),
        push_prices=OperationLimits(max_batch=MAX_BATCH, rate=10, burst=10),
        pull_orders=OperationLimits(max_batch=1, rate=5, burst=5),
        read_inventory=OperationLimits(max_batch=100, rate=10, burst=10),
        read_listings=OperationLimits(max_batch=100, rate=10, burst=10),
        push_listings=OperationLimits(max_batch=20, rate=5, burst=5),
    )
    settings: FakeSettings

    @classmethod
    def http_options(cls, settings: Any) -> HttpOptions:
        return bearer_token(settings.token).http_options(settings.base_url)

    @classmethod
    def transport(cls, settings: Any) -> httpx.AsyncBaseTransport | None:
        if settings.base_url.startswith(MEMORY):
            name = settings.base_url[len(MEMORY) :].strip("/")
            if name not in _REGISTRY:
                from omnisync.sdk import ConfigurationError

                raise ConfigurationError(f"no in-memory fake channel named {name!r}")
            return _REGISTRY[name].transport()
        return None

    async def _results(self, response: httpx.Response, what: str) -> list[dict[str, Any]]:
        raise_for_status(response, self.context.channel, what)
        body = json_body(response, self.context.channel, what)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            from omnisync.sdk import ProtocolError

            raise ProtocolError(f"{what}: answer has no results list", channel=self.context.channel)
        results: list[dict[str, Any]] = body["results"]
        return results

    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        payload = {
            # The key covers each item's compare and target values too: a retry after a stale answer
            # (new compare value, same ledger version) is a new request, not a cached stale answer.
            "key": "|".join(f"{u.idempotency_key}:{u.previous}:{u.quantity}" for u in updates),
            "updates": [
                {
                    "id": u.ids.get("id"),
                    "quantity": u.quantity,
                    "compare": u.previous,
                    "preorder": _preorder(u),
                }
                for u in updates
            ],
        }
        response = await self.client.post("/inventory", json=payload, extensions=op("push_inventory"))
        by_id = {str(r.get("id")): r for r in await self._results(response, "push inventory")}
        out = []
        for u in updates:
            r = by_id.get(str(u.ids.get("id")))
            if r is None:
                out.append(ItemResult.retry(u.sku, "no result for this item"))
            elif r["status"] == "ok":
                out.append(ItemResult.accepted(u.sku, int(r["quantity"])))
            elif r["status"] == "stale":
                out.append(ItemResult.stale(u.sku, "quantity changed on the channel", int(r["quantity"])))
            else:
                out.append(ItemResult.rejected(u.sku, str(r.get("error"))))
        return out

    async def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        payload = {"updates": [{"id": u.ids.get("id"), "price": str(u.price)} for u in updates]}
        response = await self.client.post("/prices", json=payload, extensions=op("push_prices"))
        by_id = {str(r.get("id")): r for r in await self._results(response, "push prices")}
        out = []
        for u in updates:
            r = by_id.get(str(u.ids.get("id")), {})
            if r.get("status") == "ok":
                out.append(ItemResult.accepted(u.sku, Decimal(str(r["price"]))))
            else:
                out.append(ItemResult.rejected(u.sku, str(r.get("error", "no result"))))
        return out

    async def upsert_listings(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        payload = {"listings": [listing_payload(c) for c in listings]}
        response = await self.client.post("/listings", json=payload, extensions=op("push_listings"))
        by_key = {str(r.get("key")): r for r in await self._results(response, "push listings")}
        return [listing_result(c.key, by_key.get(c.key)) for c in listings]

    async def unpublish_listings(self, listings: Sequence[ListingRef]) -> list[ListingResult]:
        known = [r for r in listings if r.ids.get("id")]
        out = {r.key: ListingResult.rejected(r.key, "the channel has no listing id for it") for r in listings}
        if known:
            response = await self.client.post(
                "/listings/unpublish", json=unpublish_payload(known), extensions=op("push_listings")
            )
            answers = {str(a.get("id")): a for a in await self._results(response, "unpublish listings")}
            for r in known:
                answer = answers.get(str(r.ids["id"]))
                out[r.key] = listing_result(
                    r.key, None if answer is None else {**answer, "key": r.key, "variants": {}}
                )
        return [out[r.key] for r in listings]

    async def read_listings(self, channel_skus: Sequence[str]) -> list[ChannelListing]:
        response = await self.client.get(
            "/items", params={"skus": ",".join(channel_skus)}, extensions=op("read_listings")
        )
        raise_for_status(response, self.context.channel, "read listings")
        body = json_body(response, self.context.channel)
        assert isinstance(body, dict)
        return [
            ChannelListing(i["sku"], {"id": i["id"]}, int(i["quantity"]), Decimal(i["price"]))
            for i in body["items"]
        ]

    async def read_inventory(self, refs: Sequence[InventoryRef]) -> dict[str, int | None]:
        listings = {li.channel_sku: li for li in await self.read_listings([r.channel_sku for r in refs])}
        return {
            r.sku: (listings[r.channel_sku].quantity if r.channel_sku in listings else None) for r in refs
        }

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        params = {"page_token": cursor.page_token or ""}
        if cursor.updated_after is not None:
            params["updated_after"] = cursor.updated_after.isoformat()
        response = await self.client.get("/orders", params=params, extensions=op("pull_orders"))
        raise_for_status(response, self.context.channel, "pull orders")
        body = json_body(response, self.context.channel)
        assert isinstance(body, dict)
        return OrderPage([self._order(o) for o in body["orders"]], body.get("next"))

    @staticmethod
    def _order(o: Mapping[str, Any]) -> Order:
        status = _STATUS[o["status"]]
        lines = tuple(
            OrderLine(
                ln["id"],
                ln["sku"],
                ln["quantity"],
                fulfilled=ln.get("fulfilled", 0),
                cancelled=ln["quantity"] - ln.get("fulfilled", 0) if status is OrderStatus.CANCELLED else 0,
                restocked=ln.get("restocked", 0),
            )
            for ln in o["lines"]
        )
        created = o.get("created_at")
        return Order(
            o["id"],
            status,
            datetime.fromisoformat(o["updated_at"]),
            lines,
            created_at=datetime.fromisoformat(created) if created else None,
            raw=o,
        )

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, url: str | None = None
    ) -> list[WebhookEvent]:
        secret = self.settings.webhook_secret
        given = {k.lower(): v for k, v in headers.items()}.get("x-fake-signature", "")
        if secret is None:
            raise WebhookVerificationError("no webhook secret configured", channel=self.context.channel)
        expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, expected):
            raise WebhookVerificationError("webhook signature does not match", channel=self.context.channel)
        data = json.loads(body)
        return [WebhookEvent(str(data["event_id"]), WebhookKind.ORDER, "orders/updated")]


class FakeHarness(EmulatorHarness):
    """The fake channel's emulator double: the conformance harness over :class:`FakeChannelAPI`, and the
    channel the simulation and the tests buy from, fulfil, cancel and return to."""

    connector_class = FakeConnector
    orders_page_size = 3
    conformance_batch_size = MAX_BATCH
    throttle_retry_after = 2.0
    """Seconds the fake's 429 asks for (its Retry-After); the kit checks retries wait that long."""

    def __init__(
        self, clock: VirtualClock | None = None, *, sources: Sequence[str] = (), page_size: int | None = None
    ) -> None:
        self.clock = clock or VirtualClock()
        self.api = FakeChannelAPI(clock=self.clock, page_size=page_size or self.orders_page_size)
        self.emulator = self.api

    def settings(self) -> Mapping[str, Any]:
        return self.endpoint_settings()

    def endpoint_settings(self, endpoint: str | None = None) -> dict[str, Any]:
        return {"token": self.api.token, "webhook_secret": self.api.webhook_secret}

    def seed(self, items: Sequence[SeedItem]) -> None:
        self.api.seed(items)

    def channel_quantity(self, channel_sku: str) -> int | None:
        item = self.api.items.get(channel_sku)
        return None if item is None else item.quantity

    def channel_price(self, channel_sku: str) -> Decimal | None:
        item = self.api.items.get(channel_sku)
        return None if item is None else item.price

    def buy(self, channel_sku: str, units: int, *, walk_in: bool = False) -> str:
        oid = self.api.place_order(channel_sku, units, "fulfilled" if walk_in else "open")
        if walk_in:
            self.api.update_order(oid, fulfilled=units)
        return oid

    def fulfil(self, order_id: str) -> bool:
        order = self.api.orders[order_id]
        if order.status != "open":
            return False
        self.api.update_order(order_id, status="fulfilled", fulfilled=order.quantity)
        return True

    def cancel(self, order_id: str) -> bool:
        """The fake's own ``update_order`` puts the cancelled units back (once)."""
        if self.api.orders[order_id].status != "open":
            return False
        self.api.update_order(order_id, status="cancelled")
        return True

    def give_back(self, order_id: str, channel_sku: str, units: int, *, restock: bool = True) -> str | None:
        order = self.api.orders[order_id]
        if order.status != "fulfilled" or not restock:
            return None
        self.api.update_order(order_id, restocked=order.restocked + units)
        return ""

    def listing(self, key: str) -> dict[str, Any] | None:
        """What the channel shows for listing ``key`` (None: no such listing)."""
        found = self.api.listings.by_key(key)
        if found is None:
            return None
        return {
            "id": found.id,
            "title": found.title,
            "published": found.published,
            "variants": sorted(found.variants),
        }

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None]:
        """One event per state of the order (its id carries the order's last change)."""
        order = self.api.orders[order_id]
        event_id = f"evt-{order_id}-{order.updated_at.isoformat()}"
        body = json.dumps({"event_id": event_id, "order_id": order_id}).encode()
        return {"X-Fake-Signature": self.api.sign(body)}, body, None
