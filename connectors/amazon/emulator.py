"""A stateful emulator of the SP-API endpoints this connector uses, the LWA token endpoint and the
presigned feed-document storage, on an injected clock.

In-process: ``httpx.AsyncClient(transport=emulator.transport())`` (every host is served by one ASGI app).
On loopback: ``python -m omnisync_connectors.amazon.emulator --port 8766 --seed 200``.

Control (synchronous, for tests, the demo and simulated shoppers): ``seed_listing``, ``quantity``,
``price``, ``place_order`` (Amazon lowers the listing quantity), ``ship_order``, ``cancel_order``,
``fail_next``, ``fail_next_feed``, ``reject_sku``, ``expire_tokens``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import secrets
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from omnisync.clock import Clock, SystemClock
from omnisync.http.budget import TokenBucket
from omnisync.testing.harness import Fault
from omnisync.testing.latency import RoundTrip, WithLatency

from .emulator_fba import FbaMixin
from .emulator_feeds import DOCUMENT_PREFIX, FeedsMixin
from .emulator_notifications import NotificationsMixin
from .emulator_product_types import DEFINED_PRODUCT_TYPES, schema_for
from .emulator_state import (
    INVALID_CODE,
    EmulatedOrder,
    Feed,
    FeedDocument,
    Json,
    Listing,
    OrderItem,
    RecordedRequest,
    apply_patches,
    issue,
)
from .rates import USAGE_PLANS
from .schema_check import schema_issues, validator

S3_BASE = "https://tortuga-prod-na.s3-external-1.amazonaws.com"
TOKEN_PATH = "/auth/o2/token"
PRODUCT_TYPES = frozenset({"PRODUCT", "LUGGAGE", "SHOES", "SHIRT", "TOYS_AND_GAMES", "HOME", "KITCHEN"})
"""Product types the emulated marketplace knows (plus every seeded one)."""
EMULATOR_CLIENT_SECRET = "emulator-client-secret"
EMULATOR_REFRESH_TOKEN = "Atzr|emulator-refresh-token"


class AmazonEmulator(FeedsMixin, NotificationsMixin, FbaMixin, WithLatency):
    def __init__(
        self,
        clock: Clock | None = None,
        *,
        region: str = "na",
        seller_id: str = "A2EMULATEDSELLER",
        marketplace_id: str = "ATVPDKIKX0DER",
        currency: str = "USD",
        client_id: str = "amzn1.application-oa2-client.emulator",
        client_secret: str = EMULATOR_CLIENT_SECRET,
        refresh_token: str = EMULATOR_REFRESH_TOKEN,
        s3_base: str = S3_BASE,
        token_lifetime_s: int = 3600,
        feed_queue_s: float = 10.0,
        feed_base_s: float = 30.0,
        feed_per_message_s: float = 0.002,
        rates: Mapping[str, tuple[float, int]] | None = None,
        record_requests: bool = True,
        latency: float = 0.0,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.region, self.seller_id = region, seller_id
        self.marketplace_id, self.currency = marketplace_id, currency
        self.product_types: set[str] = set(PRODUCT_TYPES)
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.s3_base = s3_base.rstrip("/")
        self.token_lifetime_s = token_lifetime_s
        self.feed_queue_s, self.feed_base_s, self.feed_per_message_s = (
            feed_queue_s,
            feed_base_s,
            feed_per_message_s,
        )
        self.listings: dict[str, Listing] = {}
        self.orders: dict[str, EmulatedOrder] = {}
        self.documents: dict[str, FeedDocument] = {}
        self.feeds: dict[str, Feed] = {}
        self.tokens: dict[str, float] = {}
        """Access token -> monotonic expiry."""
        self.grantless: set[str] = set()
        """Tokens of the ``client_credentials`` grant: good for grantless operations only."""
        self._init_notifications()
        self._init_fba()
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self.record_requests = record_requests
        self.faults: deque[Fault] = deque()
        self.fatal_feeds: deque[str] = deque()
        self.rejections: dict[str, Json] = {}
        self.definitions = {name: validator(schema_for(name)) for name in DEFINED_PRODUCT_TYPES}
        """Product types with a definition and schema (getDefinitionsProductType, putListingsItem)."""
        plans = {name: (p.rate, p.burst) for name, p in USAGE_PLANS.items()} | dict(rates or {})
        now = self.clock.monotonic()
        self.buckets = {
            name: TokenBucket(rate, float(burst), float(burst), now) for name, (rate, burst) in plans.items()
        }
        self._ids = itertools.count(1)
        self._busy_until = 0.0
        self._signing_key = secrets.token_bytes(32)
        from .emulator_app import build_app  # the app needs this class; imported late to avoid a cycle

        self.app = RoundTrip(build_app(self), self.clock, latency)

    # -- wiring ------------------------------------------------------------------------------------
    def transport(self) -> httpx.AsyncBaseTransport:
        """In-process transport for every host (SP-API, LWA, presigned storage), with injected timeouts."""
        return _EmulatorTransport(self)

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Connector settings that talk to this emulator (in-process URLs are the real hosts)."""
        return {
            "region": self.region,
            "seller_id": self.seller_id,
            "marketplace_ids": [self.marketplace_id],
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            **overrides,
        }

    def record(self, request: RecordedRequest) -> None:
        if self.record_requests:
            self.requests.append(request)

    # -- control: catalogue -------------------------------------------------------------------------------
    def seed_listing(
        self, sku: str, quantity: int, price: Decimal | str | None = None, *, product_type: str = "PRODUCT"
    ) -> Listing:
        now = self.clock.now()
        self.product_types.add(product_type)
        asin = "B0" + hashlib.sha1(sku.encode()).hexdigest()[:8].upper()  # noqa: S324 (an id, not security)
        listing = Listing(
            sku=sku,
            product_type=product_type,
            asin=asin,
            quantity=quantity,
            price=Decimal(str(price)) if price is not None else None,
            currency=self.currency,
            item_name=f"Emulated item {sku}",
            created=now,
            updated=now,
        )
        self.listings[sku] = listing
        return listing

    def put(self, sku: str, product_type: str, attributes: dict[str, Any], now: datetime) -> list[Json]:
        """putListingsItem: the whole listing replaced by ``attributes`` if the product type's schema
        accepts them, else its ERROR issues (nothing changes). Offer and quantity come from the
        attributes as a patch would set them."""
        self.advance()
        return self.replace_listing(sku, product_type, attributes, now)

    def replace_listing(
        self, sku: str, product_type: str, attributes: dict[str, Any], now: datetime
    ) -> list[Json]:
        """The whole listing replaced, as putListingsItem and a feed's UPDATE message do."""
        if sku in self.rejections:
            return [self.rejections[sku]]
        check = self.definitions.get(product_type)
        if check is None:
            return [
                issue(
                    INVALID_CODE, f"The product type '{product_type}' is not valid in {self.marketplace_id}."
                )
            ]
        found = [
            issue(INVALID_CODE, message, name or None) for name, message in schema_issues(check, attributes)
        ]
        if found:
            return found
        self.product_types.add(product_type)
        old = self.listings.get(sku)
        asin = old.asin if old and old.asin else "B0" + hashlib.sha1(sku.encode()).hexdigest()[:8].upper()  # noqa: S324
        names = attributes["item_name"]
        listing = Listing(
            sku,
            product_type,
            asin,
            None,
            None,
            self.currency,
            str(names[0]["value"]),
            old.created if old else now,
            now,
        )
        content = {
            k: v for k, v in attributes.items() if k not in ("purchasable_offer", "fulfillment_availability")
        }
        offer = [
            {"op": "replace", "path": f"/attributes/{k}", "value": attributes[k]}
            for k in ("purchasable_offer", "fulfillment_availability")
            if k in attributes
        ]
        problems = apply_patches(
            listing, offer, marketplace_id=self.marketplace_id, currency=self.currency, now=now
        )
        if problems:
            return problems
        listing.attributes = content
        self.listings[sku] = listing
        return []

    def listing_content(self, sku: str) -> Listing | None:
        self.advance()
        return self.listings.get(sku)

    def quantity(self, sku: str) -> int | None:
        self.advance()
        listing = self.listings.get(sku)
        return listing.quantity if listing else None

    def price(self, sku: str) -> Decimal | None:
        self.advance()
        listing = self.listings.get(sku)
        return listing.price if listing else None

    def flag_issue(
        self,
        sku: str,
        message: str,
        *,
        code: str = "18027",
        severity: str = "ERROR",
        attribute: str | None = None,
    ) -> None:
        """Amazon's catalogue raises an issue on an accepted listing (shown by getListingsItem with
        ``includedData=issues``); ``clear_issues`` takes them away."""
        found = issue(code, message, attribute)
        found["severity"] = severity
        self.listings[sku].issues.append(found)

    def clear_issues(self, sku: str) -> None:
        self.listings[sku].issues.clear()

    def reject_sku(
        self, sku: str, message: str = "The listing is blocked for this seller.", code: str = "8572"
    ) -> None:
        """Patches and feed messages for this SKU answer an ERROR issue from now on."""
        self.rejections[sku] = issue(code, message)

    # -- control: orders (simulated shoppers and the seller's shipping) ------------------------------
    def place_order(self, sku: str, quantity: int = 1, *, status: str = "Unshipped") -> str:
        return self.place_order_lines([(sku, quantity)], status=status)

    def place_order_lines(self, lines: Sequence[tuple[str, int]], *, status: str = "Unshipped") -> str:
        """A shopper buys; like Amazon, the listings' quantities drop at once (Pending orders too)."""
        self.advance()
        for sku, quantity in lines:
            listing = self.listings.get(sku)
            if listing is None or listing.asin is None:
                raise KeyError(f"no buyable listing {sku!r}")
            if quantity < 1 or (listing.quantity or 0) < quantity:
                raise ValueError(f"cannot buy {quantity} of {sku!r}: {listing.quantity} available")
        now, seq = self.clock.now().replace(microsecond=0), self.next_id()  # Amazon keeps whole seconds
        order_id = f"113-{seq:07d}-{(seq * 7919) % 10_000_000:07d}"
        items = []
        for n, (sku, quantity) in enumerate(lines, start=1):
            listing = self.listings[sku]
            listing.quantity = (listing.quantity or 0) - quantity
            items.append(
                OrderItem(
                    item_id=f"{seq:07d}{n:07d}",
                    sku=sku,
                    asin=listing.asin or "",
                    title=listing.item_name,
                    quantity=quantity,
                    unit_price=listing.price or Decimal("0"),
                )
            )
        order = EmulatedOrder(order_id, status, now, now, items, self.currency, self.marketplace_id)
        self.orders[order_id] = order
        self.publish_order_change(order, "Order placed")
        for sku, _ in lines:
            self.publish_quantity(self.listings[sku], None)
        return order_id

    def ship_order(self, order_id: str) -> None:
        order = self.orders[order_id]
        if order.fulfillment == "AFN":
            self.settle_fba(order, shipped=True)
        for item in order.items:
            item.shipped = item.quantity
        order.status, order.updated = "Shipped", self.clock.now().replace(microsecond=0)
        self.publish_order_change(order, "Order shipped")

    def cancel_order(self, order_id: str) -> None:
        """Cancel before shipping: Amazon gives the unshipped units back to the listing."""
        order = self.orders[order_id]
        if order.status == "Shipped":
            raise ValueError("a shipped order cannot be cancelled")
        changed = []
        if order.fulfillment == "AFN":
            self.settle_fba(order, shipped=False)
        for item in order.items:
            listing = self.listings.get(item.sku) if order.fulfillment == "MFN" else None
            if listing is not None:
                listing.quantity = (listing.quantity or 0) + item.quantity - item.shipped
                changed.append(listing)
        order.status, order.updated = "Canceled", self.clock.now().replace(microsecond=0)
        self.publish_order_change(order, "Seller cancelled")
        for listing in changed:
            self.publish_quantity(listing, None)

    # -- control: faults ------------------------------------------------------------------------------
    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """The next ``times`` SP-API requests fail this way (LWA and storage requests are spared)."""
        self.faults.extend([fault] * times)

    def fail_next_feed(
        self, reason: str = "The feed could not be processed because of an internal error."
    ) -> None:
        """The next feed to finish processing ends FATAL with this reason in its report."""
        self.fatal_feeds.append(reason)

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (the next SP-API call answers 403 expired)."""
        now = self.clock.monotonic()
        self.tokens = {token: now for token in self.tokens}

    # -- LWA ------------------------------------------------------------------------------------------
    def issue_token(self, *, grantless: bool = False) -> str:
        token = "Atza|" + secrets.token_urlsafe(48)
        self.tokens[token] = self.clock.monotonic() + self.token_lifetime_s
        if grantless:
            self.grantless.add(token)
        return token

    def token_problem(self, token: str | None, *, grantless: bool = False) -> str | None:
        """None when valid, else the detail Amazon gives in its 403. A grantless operation takes only an
        application token (``client_credentials``), any other operation only a seller's."""
        if not token:
            return "Access token is missing in the request header."
        expiry = self.tokens.get(token)
        if expiry is None or (token in self.grantless) != grantless:
            return "The access token you provided is revoked, malformed or invalid."
        if self.clock.monotonic() >= expiry:
            return "The access token you provided has expired."
        return None

    # -- throttling -------------------------------------------------------------------------------------
    def take(self, operation: str) -> bool:
        bucket = self.buckets.get(operation)
        if bucket is None:
            return True
        if bucket.wait_time(self.clock.monotonic()) > 1e-6:
            self.throttled[operation] += 1
            return False
        bucket.tokens = max(0.0, bucket.tokens - 1.0)
        return True

    def rate_of(self, operation: str) -> float | None:
        bucket = self.buckets.get(operation)
        return bucket.rate if bucket else None


class _EmulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, emulator: AmazonEmulator) -> None:
        self._emulator = emulator
        self._inner = httpx.ASGITransport(app=emulator.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        sp_api = path != TOKEN_PATH and not path.startswith(DOCUMENT_PREFIX)
        faults = self._emulator.faults
        if sp_api and faults and faults[0] is Fault.TIMEOUT:
            faults.popleft()
            raise httpx.ReadTimeout("emulated timeout", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the emulator on loopback with the system clock."""
    import uvicorn

    parser = argparse.ArgumentParser(description="Amazon SP-API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--seed", type=int, default=0, help="seed this many SKUs (AMZ-0001...)")
    parser.add_argument("--feed-queue-s", type=float, default=10.0, help="seconds a feed waits IN_QUEUE")
    parser.add_argument(
        "--feed-base-s", type=float, default=30.0, help="seconds a feed is IN_PROGRESS at least"
    )
    args = parser.parse_args(argv)
    base = f"http://{args.host}:{args.port}"
    emulator = AmazonEmulator(
        SystemClock(), s3_base=base, feed_queue_s=args.feed_queue_s, feed_base_s=args.feed_base_s
    )
    for n in range(1, args.seed + 1):
        emulator.seed_listing(f"AMZ-{n:04d}", 20, Decimal("19.99"))
    settings = emulator.settings(endpoint=base, token_url=base + TOKEN_PATH)
    print(json.dumps({"settings": settings}, indent=2))
    uvicorn.run(emulator.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
