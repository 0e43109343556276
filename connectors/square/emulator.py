"""A stateful emulator of the Square API endpoints omnisync uses, for tests, benchmarks and the demo.

State: locations, a catalog of items and item variations (with object versions), IN_STOCK counts per
variation and location, orders (walk-in sales, click-and-collect pickups, returns), idempotency
records, a rate budget and injected faults, all on an injected clock. The HTTP API is in
:mod:`.emulator_http` (a Starlette app); this module holds the state and the synchronous control API
a test, the demo or a simulation drives::

    emu = SquareEmulator(clock)
    emu.seed_item("TSHIRT-M", Decimal("19.99"), 12)
    emu.place_order("TSHIRT-M", 2)          # a walk-in customer at the first location
    transport = emu.transport()             # httpx transport for instantiate(...)

Loopback: ``python -m omnisync_connectors.square.emulator --port 8765``.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from omnisync.clock import Clock, SystemClock
from omnisync.testing.harness import Fault
from omnisync.testing.latency import RoundTrip, WithLatency

from .emulator_http import DROP_HEADER, build_app
from .emulator_orders import new_order, new_return, set_state
from .prices import from_minor, to_minor
from .timefmt import rfc3339
from .webhooks import SIGNATURE_HEADER, signature

Json = dict[str, Any]
Webhook = tuple[dict[str, str], bytes, str]
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    updated: float


class SquareEmulator(WithLatency):
    def __init__(
        self,
        clock: Clock | None = None,
        *,
        access_token: str = "emulator-square-token",  # noqa: S107 - a fake token for a fake API
        signature_key: str = "emulator-signature-key",
        notification_url: str = "http://127.0.0.1:8080/webhooks/square",
        currency: str = "USD",
        locations: Mapping[str, str] | None = None,
        rate: float = 10.0,
        burst: int = 20,
        catalog_write_s: float = 0.0,
        seed: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.access_token = access_token
        self.signature_key = signature_key
        self.notification_url = notification_url
        self.currency = currency
        self.catalog_write_s = catalog_write_s
        """Virtual seconds a catalog write holds the account's catalog lock (others get 429)."""
        self.catalog_busy_until = -1.0
        self.rng = random.Random(seed)
        self.merchant_id = self.new_id(13)
        self.locations: dict[str, Json] = {}
        self.items: dict[str, Json] = {}
        self.variations: dict[str, Json] = {}
        # item id -> the ids of the variations that name it (so an upsert need not scan them all)
        self.item_variations: dict[str, set[str]] = {}
        self.client_ids: dict[str, str] = {}
        self.item_options: dict[str, Json] = {}
        """ITEM_OPTION objects by id, their values nested."""
        self.option_values: dict[str, str] = {}
        self.images: dict[str, Json] = {}
        """IMAGE objects by id (CreateCatalogImage); their files in ``image_files``."""
        self.image_files: dict[str, bytes] = {}
        self.staged_files: dict[str, bytes] = {}
        """Multipart file parts received, by SHA-256 (the gate's hand-over to CreateCatalogImage)."""
        """ITEM_OPTION_VAL id -> its option's id."""
        """Client object id (``#...``) -> the id an upsert gave it."""
        self.by_sku: dict[str, str] = {}
        self.counts: dict[tuple[str, str, str], int] = {}
        """(variation id, location id, state) -> quantity, for the tracked states IN_STOCK and WASTE."""
        self.calculated_at: dict[tuple[str, str, str], str] = {}
        self.adjustments: list[Json] = []
        """Every ADJUSTMENT the inventory went through, oldest first (BatchRetrieveInventoryChanges)."""
        self.orders: dict[str, Json] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, int, Json]] = {}
        self.faults: deque[Fault] = deque()
        self.upsert_conflicts = 0
        self.bucket = _Bucket(rate, float(burst), float(burst), self.clock.monotonic())
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self.square_versions: Counter[str] = Counter()
        self.webhooks: deque[Webhook] = deque(maxlen=10_000)
        self.on_webhook: Callable[[dict[str, str], bytes, str], None] | None = None
        self.hang_on_timeout = False
        self._last_event: dict[str, Webhook] = {}
        for loc_id, name in (
            locations or {"LSTORE00001AA": "Main Street", "LSTORE00002BB": "Harbour Mall"}
        ).items():
            self.add_location(name, loc_id)
        self.app = RoundTrip(build_app(self), self.clock, latency)

    # -- ids and time ------------------------------------------------------------------------------
    def new_id(self, length: int = 24) -> str:
        return "".join(_ALNUM[b % 36] for b in self.rng.randbytes(length))

    def now(self) -> str:
        return rfc3339(self.clock.now())

    def version_stamp(self, previous: int = 0) -> int:
        """Catalog versions are millisecond timestamps that only grow."""
        return max(previous + 1, int(self.clock.now().timestamp() * 1000))

    # -- control API: catalog and stock ------------------------------------------------------------
    def add_location(self, name: str, location_id: str | None = None, *, active: bool = True) -> str:
        loc_id = location_id or "L" + self.new_id(12)
        self.locations[loc_id] = {
            "id": loc_id,
            "name": name,
            "status": "ACTIVE" if active else "INACTIVE",
            "merchant_id": self.merchant_id,
            "country": "US",
            "currency": self.currency,
            "timezone": "UTC",
            "type": "PHYSICAL",
            "business_name": "omnisync emulator",
            "created_at": self.now(),
            "capabilities": [],
        }
        return loc_id

    @property
    def first_location(self) -> str:
        return next(iter(self.locations))

    def seed_item(
        self, sku: str, price: Decimal, quantity: int | Mapping[str, int] = 0, *, name: str | None = None
    ) -> str:
        """An item with one variation carrying ``sku``; int quantity goes to the first location."""
        item_id, var_id, stamp = self.new_id(), self.new_id(), self.version_stamp()
        self.items[item_id] = {
            "type": "ITEM",
            "id": item_id,
            "version": stamp,
            "updated_at": self.now(),
            "is_deleted": False,
            "present_at_all_locations": True,
            "item_data": {"name": name or f"Item {sku}", "variations": []},
        }
        self.variations[var_id] = {
            "type": "ITEM_VARIATION",
            "id": var_id,
            "version": stamp,
            "updated_at": self.now(),
            "is_deleted": False,
            "present_at_all_locations": True,
            "item_variation_data": {
                "item_id": item_id,
                "name": "Regular",
                "sku": sku,
                "ordinal": 0,
                "pricing_type": "FIXED_PRICING",
                "price_money": {"amount": to_minor(price, self.currency), "currency": self.currency},
                "track_inventory": True,
                "sellable": True,
                "stockable": True,
            },
        }
        self.item_variations.setdefault(item_id, set()).add(var_id)
        self.by_sku[sku.lower()] = var_id
        per_location = {self.first_location: quantity} if isinstance(quantity, int) else dict(quantity)
        for loc, qty in per_location.items():
            self.set_count(var_id, loc, qty)
        return var_id

    def variation_id(self, sku: str) -> str | None:
        return self.by_sku.get(sku.lower())

    def sku_of(self, variation_id: str) -> str:
        return str(self.variations[variation_id]["item_variation_data"].get("sku") or "")

    def quantity(self, sku: str, location_id: str | None = None) -> int | None:
        vid = self.variation_id(sku)
        if vid is None:
            return None
        return self.counts.get((vid, location_id or self.first_location, "IN_STOCK"), 0)

    def price(self, sku: str) -> Decimal | None:
        vid = self.variation_id(sku)
        if vid is None:
            return None
        money = self.variations[vid]["item_variation_data"].get("price_money") or {}
        return from_minor(int(money.get("amount", 0)), str(money.get("currency", self.currency)))

    def set_count(self, variation_id: str, location_id: str, quantity: int, state: str = "IN_STOCK") -> None:
        self.counts[(variation_id, location_id, state)] = quantity
        self.calculated_at[(variation_id, location_id, state)] = self.now()

    def move(
        self,
        variation_id: str,
        location_id: str,
        from_state: str,
        to_state: str,
        quantity: int,
        refund_id: str | None = None,
    ) -> None:
        """Move units between states, as an adjustment does; untracked states (NONE, SOLD) just vanish.
        The adjustment is kept in the history (with the refund that caused it, for a return)."""
        now = self.now()
        adjustment: Json = {
            "id": self.new_id(26),
            "from_state": from_state,
            "to_state": to_state,
            "location_id": location_id,
            "catalog_object_id": variation_id,
            "catalog_object_type": "ITEM_VARIATION",
            "quantity": str(quantity),
            "occurred_at": now,
            "created_at": now,
        }
        if refund_id is not None:
            adjustment["refund_id"] = refund_id
        self.adjustments.append(adjustment)
        for state, sign in ((from_state, -1), (to_state, 1)):
            if state in ("IN_STOCK", "WASTE"):
                key = (variation_id, location_id, state)
                self.set_count(variation_id, location_id, self.counts.get(key, 0) + sign * quantity, state)

    def edit_variation(self, sku: str) -> None:
        """A seller edits the variation in the Dashboard: its version moves on."""
        vid = self.by_sku[sku.lower()]
        obj = self.variations[vid]
        obj["version"] = self.version_stamp(int(obj["version"]))
        obj["updated_at"] = self.now()

    def conflict_next_upserts(self, times: int = 1) -> None:
        """The next ``times`` upserts find every object they write edited a moment before."""
        self.upsert_conflicts += times

    # -- control API: the shop floor ------------------------------------------------------------
    def place_order(self, sku: str, quantity: int = 1, location_id: str | None = None) -> str:
        """A walk-in customer buys at the counter: a COMPLETED order; Square lowers the count at once."""
        loc = location_id or self.first_location
        order = new_order(self, loc, [(self.by_sku[sku.lower()], quantity)], "COMPLETED")
        return str(order["id"])

    def open_pickup_order(self, sku: str, quantity: int = 1, location_id: str | None = None) -> str:
        """An online order to collect at the store: OPEN with a PICKUP fulfilment; no count change yet."""
        loc = location_id or self.first_location
        order = new_order(self, loc, [(self.by_sku[sku.lower()], quantity)], "OPEN", pickup=True)
        return str(order["id"])

    def complete_order(self, order_id: str) -> None:
        set_state(self, order_id, "COMPLETED")

    def cancel_order(self, order_id: str) -> None:
        set_state(self, order_id, "CANCELED")

    def return_items(
        self,
        source_order_id: str,
        quantity: int | None = None,
        location_id: str | None = None,
        *,
        restock: bool = True,
        damaged: bool = False,
    ) -> str:
        """The customer brings back the first line of a sale (to any store): a return order with its
        refund. Restocked, the units go SOLD -> IN_STOCK; damaged, SOLD -> WASTE; neither, nowhere
        (each adjustment names the refund)."""
        loc = location_id or self.first_location
        return new_return(self, source_order_id, quantity, loc, restock=restock, damaged=damaged)

    # -- control API: faults, limits, webhooks ---------------------------------------------------
    def fail_next(self, fault: Fault, times: int = 1) -> None:
        self.faults.extend([fault] * times)

    def set_rate(self, rate: float, burst: int) -> None:
        self.bucket = _Bucket(rate, float(burst), float(burst), self.clock.monotonic())

    def take_token(self) -> bool:
        b, now = self.bucket, self.clock.monotonic()
        b.tokens = min(b.burst, b.tokens + max(0.0, now - b.updated) * b.rate)
        b.updated = max(b.updated, now)
        if b.tokens >= 1:
            b.tokens -= 1
            return True
        return False

    def emit(self, event_type: str, data_type: str, data_id: str, obj: Json) -> Webhook:
        """A notification as Square sends it, signed over notification URL + body."""
        payload = {
            "merchant_id": self.merchant_id,
            "type": event_type,
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "created_at": self.now(),
            "data": {"type": data_type, "id": data_id, "object": obj},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: signature(self.signature_key, self.notification_url, body),
            "square-environment": "Sandbox",
        }
        hook = (headers, body, self.notification_url)
        self.webhooks.append(hook)
        self._last_event[data_id] = hook
        if self.on_webhook is not None:
            self.on_webhook(*hook)
        return hook

    def signed_webhook(self, order_id: str) -> Webhook | None:
        """The last notification about this order (created or updated), signed."""
        return self._last_event.get(order_id)

    # -- wiring --------------------------------------------------------------------------------
    def transport(self) -> httpx.AsyncBaseTransport:
        return _EmulatorTransport(self)

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Connector settings that point at this emulator, every location mapped to STORE<n>."""
        base: dict[str, Any] = {
            "access_token": self.access_token,
            "base_url": "http://square.emulator",
            "locations": {f"STORE{n}": loc for n, loc in enumerate(self.locations, start=1)},
            "webhook_signature_key": self.signature_key,
            "notification_url": self.notification_url,
            # the doubles' and the sandbox's catalogues name example image URLs, not files: none is
            # fetched (tests that upload images serve them from loopback and turn this on)
            "catalog_images": False,
        }
        base.update(overrides)
        return base


class _EmulatorTransport(httpx.AsyncBaseTransport):
    """In-process transport: the ASGI app, plus lost answers (TIMEOUT faults) as ``ReadTimeout``."""

    def __init__(self, emulator: SquareEmulator) -> None:
        self._inner = httpx.ASGITransport(app=emulator.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.headers.get(DROP_HEADER):
            await response.aclose()
            raise httpx.ReadTimeout("emulated timeout: the answer was lost", request=request)
        return response


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - loopback entry point
    import uvicorn

    parser = argparse.ArgumentParser(description="Square API emulator (omnisync)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skus", type=int, default=20, help="seed this many SKUs (SKU-0001...)")
    args = parser.parse_args(argv)
    emulator = SquareEmulator(notification_url=f"http://{args.host}:{args.port}/webhooks/square")
    emulator.hang_on_timeout = True
    for n in range(1, args.skus + 1):
        emulator.seed_item(f"SKU-{n:04d}", Decimal("10.00") + n, 25)
    print(json.dumps(emulator.settings(base_url=f"http://{args.host}:{args.port}")), flush=True)
    uvicorn.run(emulator.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    main()
