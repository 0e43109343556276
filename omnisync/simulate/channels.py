"""One adapter per connector kind: builds the emulator on the virtual clock, writes the channel's
connector settings, and gives the simulation a uniform way to act as shoppers and as the merchant
(buy, fulfil, cancel, return) and to inject faults.

Emulators are imported late (``omnisync_connectors.<kind>.emulator``) so an unfinished connector costs
only the scenarios that use it. Everything an adapter does to the emulator outside an API request is
also measured (quantity before and after), so the run can tell pushes apart from shoppers.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from omnisync.clock import VirtualClock
from omnisync.sdk.registry import load_connector
from omnisync.testing.fake import FakeChannelAPI
from omnisync.testing.harness import Fault, SeedItem

from .scenario import ChannelSpec

CURRENCY = "EUR"
Webhook = tuple[dict[str, str], bytes, str | None]


def _emulator_module(kind: str) -> Any:
    return importlib.import_module(f"omnisync_connectors.{kind}.emulator")


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(a) for a in getattr(annotation, "__args__", ()))


@dataclass
class SimChannel:
    """A channel of the simulation: its emulator and the actions the simulation takes on it."""

    name: str
    spec: ChannelSpec
    emulator: Any
    raw_settings: dict[str, Any]
    webhooks_enabled: bool = False
    external: dict[str, int] = field(default_factory=dict)
    """Per channel SKU, net quantity changes the simulation made outside API requests."""
    on_webhook: Callable[[Webhook], None] | None = None

    # -- configuration ---------------------------------------------------------------------------
    def config_entry(self, env: dict[str, str]) -> dict[str, Any]:
        """The channel's settings for omnisync.yaml, secrets as ``${VAR}`` (values added to ``env``)."""
        cls = load_connector(self.spec.kind)
        out: dict[str, Any] = {}
        for key, value in self.raw_settings.items():
            info = cls.Settings.model_fields.get(key)
            if info is not None and info.annotation is not None and _is_secret(info.annotation):
                var = f"SIM_{self.name.upper().replace('-', '_')}_{key.upper()}"
                env[var] = str(value)
                out[key] = "${" + var + "}"
            else:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def transport(self) -> httpx.AsyncBaseTransport:
        return self.emulator.transport()  # type: ignore[no-any-return]

    # -- what every kind implements ------------------------------------------------------------------
    def seed(self, sku: str, price: Decimal) -> None:
        raise NotImplementedError

    def quantity(self, sku: str) -> int | None:
        raise NotImplementedError

    def _buy(self, sku: str, units: int) -> str:
        raise NotImplementedError

    def _fulfil(self, order_id: str) -> bool:
        return False

    def _cancel(self, order_id: str) -> bool:
        return False

    def _give_back(self, order_id: str, sku: str, units: int) -> str | None:
        """A return with restock; answers the id of a separate return order where the channel makes one
        ('' when the return is recorded on the original order, None when the channel cannot)."""
        return None

    def inject(self, fault: Fault, times: int = 1) -> None:
        self.emulator.fail_next(fault, times)

    def clear_faults(self) -> None:
        for attr in ("faults", "_faults"):
            queue = getattr(self.emulator, attr, None)
            if queue is not None:
                queue.clear()

    def webhook_for(self, order_id: str) -> Webhook | None:
        return None

    # -- measured actions ---------------------------------------------------------------------------
    def _measured(self, sku: str, action: Callable[[], Any]) -> Any:
        before = self.quantity(sku) or 0
        result = action()
        self.external[sku] = self.external.get(sku, 0) + (self.quantity(sku) or 0) - before
        return result

    def buy(self, sku: str, units: int) -> str:
        return str(self._measured(sku, lambda: self._buy(sku, units)))

    def fulfil(self, order_id: str, sku: str) -> bool:
        return bool(self._measured(sku, lambda: self._fulfil(order_id)))

    def cancel(self, order_id: str, sku: str) -> bool:
        return bool(self._measured(sku, lambda: self._cancel(order_id)))

    def give_back(self, order_id: str, sku: str, units: int) -> str | None:
        result: str | None = self._measured(sku, lambda: self._give_back(order_id, sku, units))
        return result

    @property
    def restocks_on_return(self) -> bool:
        return False


class FakeChannel(SimChannel):
    api: FakeChannelAPI

    @classmethod
    def build(cls, name: str, spec: ChannelSpec, clock: VirtualClock) -> FakeChannel:
        api = FakeChannelAPI(clock=clock, page_size=50)
        ch = cls(name, spec, api, {"token": api.token, "webhook_secret": api.webhook_secret}, True)
        ch.api = api
        return ch

    def transport(self) -> httpx.AsyncBaseTransport:
        return self.api.transport()

    def seed(self, sku: str, price: Decimal) -> None:
        self.api.seed([SeedItem(sku, 0, price)])

    def quantity(self, sku: str) -> int | None:
        item = self.api.items.get(sku)
        return None if item is None else item.quantity

    def _buy(self, sku: str, units: int) -> str:
        status = "fulfilled" if self.spec.walk_in else "open"
        oid = self.api.place_order(sku, units, status)
        if self.spec.walk_in:
            self.api.update_order(oid, fulfilled=units)
        return oid

    def _fulfil(self, order_id: str) -> bool:
        order = self.api.orders[order_id]
        if order.status != "open":
            return False
        self.api.update_order(order_id, status="fulfilled", fulfilled=order.quantity)
        return True

    def _cancel(self, order_id: str) -> bool:
        order = self.api.orders[order_id]
        if order.status != "open":
            return False
        self.api.update_order(order_id, status="cancelled")
        self.api.items[order.sku].quantity += order.quantity
        return True

    def _give_back(self, order_id: str, sku: str, units: int) -> str | None:
        order = self.api.orders[order_id]
        if order.status != "fulfilled":
            return None
        self.api.update_order(order_id, restocked=order.restocked + units)
        return ""

    def inject(self, fault: Fault, times: int = 1) -> None:
        self.api.fail_next(fault, times)

    def webhook_for(self, order_id: str) -> Webhook | None:
        order = self.api.orders[order_id]
        body = json.dumps(
            {"event_id": f"evt-{order_id}-{order.updated_at.isoformat()}", "order_id": order_id}
        ).encode()
        return {"X-Fake-Signature": self.api.sign(body)}, body, None


class SquareChannel(SimChannel):
    """The POS: walk-in customers buy at the counter (completed sales); returns come back to the store."""

    @classmethod
    def build(cls, name: str, spec: ChannelSpec, clock: VirtualClock) -> SquareChannel:
        emulator_cls = _emulator_module("square").SquareEmulator
        ids = {f"LSIM{n:09d}": loc for n, loc in enumerate(spec.sources, start=1)}
        emu = emulator_cls(
            clock,
            currency=CURRENCY,
            locations={sid: f"Store {loc}" for sid, loc in ids.items()},
            notification_url=f"http://sim.invalid/webhooks/{name}",
        )
        settings = emu.settings(
            base_url="http://square.emulator", locations={loc: sid for sid, loc in ids.items()}
        )
        ch = cls(name, spec, emu, settings, True)
        emu.on_webhook = ch._emitted
        return ch

    def _emitted(self, headers: dict[str, str], body: bytes, url: str) -> None:
        if self.on_webhook is not None:
            self.on_webhook((headers, body, url))

    def seed(self, sku: str, price: Decimal) -> None:
        self.emulator.seed_item(sku, price, 0)

    def quantity(self, sku: str) -> int | None:
        q = self.emulator.quantity(sku)
        return None if q is None else int(q)

    def _buy(self, sku: str, units: int) -> str:
        if self.spec.walk_in:
            return str(self.emulator.place_order(sku, units))
        return str(self.emulator.open_pickup_order(sku, units))

    def _fulfil(self, order_id: str) -> bool:
        if self.emulator.orders[order_id]["state"] != "OPEN":
            return False
        self.emulator.complete_order(order_id)
        return True

    def _cancel(self, order_id: str) -> bool:
        if self.emulator.orders[order_id]["state"] != "OPEN":
            return False
        self.emulator.cancel_order(order_id)
        return True

    def _give_back(self, order_id: str, sku: str, units: int) -> str | None:
        if self.emulator.orders[order_id]["state"] != "COMPLETED":
            return None
        return str(self.emulator.return_items(order_id, units))

    @property
    def restocks_on_return(self) -> bool:
        return True


class ShopifyChannel(SimChannel):
    @classmethod
    def build(cls, name: str, spec: ChannelSpec, clock: VirtualClock) -> ShopifyChannel:
        emu = _emulator_module("shopify").ShopifyEmulator(clock, currency=CURRENCY)
        settings = emu.settings()
        settings["locations"] = {spec.sources[0]: emu.locations["warehouse"]}
        return cls(name, spec, emu, settings, True)

    def seed(self, sku: str, price: Decimal) -> None:
        self.emulator.seed(sku, 0, price)

    def quantity(self, sku: str) -> int | None:
        q = self.emulator.quantity(sku)
        return None if q is None else int(q)

    def _buy(self, sku: str, units: int) -> str:
        return str(self.emulator.place_order(sku, units))

    def _fulfil(self, order_id: str) -> bool:
        try:
            self.emulator.fulfill(order_id)
        except (ValueError, KeyError):
            return False
        return True

    def _cancel(self, order_id: str) -> bool:
        try:
            self.emulator.cancel(order_id, restock=True)
        except (ValueError, KeyError):
            return False
        return True

    def _give_back(self, order_id: str, sku: str, units: int) -> str | None:
        try:
            self.emulator.refund(order_id, sku, units, restock=True)
        except (ValueError, KeyError):
            return None
        return ""

    def webhook_for(self, order_id: str) -> Webhook | None:
        headers, body, url = self.emulator.signed_webhook(order_id)
        return dict(headers), bytes(body), url


class AmazonChannel(SimChannel):
    @classmethod
    def build(cls, name: str, spec: ChannelSpec, clock: VirtualClock) -> AmazonChannel:
        emu = _emulator_module("amazon").AmazonEmulator(
            clock,
            region="eu",
            marketplace_id="A1PA6795UKMFR9",
            currency=CURRENCY,
            s3_base="https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com",
            record_requests=False,
        )
        return cls(name, spec, emu, emu.settings(feed_threshold=50), False)

    def seed(self, sku: str, price: Decimal) -> None:
        self.emulator.seed_listing(sku, 0, price)

    def quantity(self, sku: str) -> int | None:
        q = self.emulator.quantity(sku)
        return None if q is None else int(q)

    def _buy(self, sku: str, units: int) -> str:
        return str(self.emulator.place_order(sku, units))

    def _fulfil(self, order_id: str) -> bool:
        if self.emulator.orders[order_id].status not in ("Unshipped", "Pending"):
            return False
        self.emulator.ship_order(order_id)
        return True

    def _cancel(self, order_id: str) -> bool:
        try:
            self.emulator.cancel_order(order_id)
        except ValueError:
            return False
        return True


class InstagramChannel(SimChannel):
    @classmethod
    def build(cls, name: str, spec: ChannelSpec, clock: VirtualClock) -> InstagramChannel:
        emu = _emulator_module("instagram").InstagramEmulator(
            clock, currency=CURRENCY, batch_settle_s=2.0, batch_per_item_s=0.0
        )
        settings = {
            "access_token": emu.access_token,
            "catalog_id": emu.catalog_id,
            "commerce_merchant_settings_id": emu.cms_id,
            "currency": CURRENCY,
            "batch_poll_interval_s": 2.0,
        }
        return cls(name, spec, emu, settings, False)

    def seed(self, sku: str, price: Decimal) -> None:
        self.emulator.seed_item(sku, 0, price)

    def quantity(self, sku: str) -> int | None:
        item = self.emulator.item(sku)
        if item is None:
            return None
        return (
            int(item.inventory) if item.visibility == "published" and item.availability == "in stock" else 0
        )

    def _buy(self, sku: str, units: int) -> str:
        return str(self.emulator.place_order(sku, units))

    def _fulfil(self, order_id: str) -> bool:
        try:
            self.emulator.ship_order(order_id)
        except ValueError:
            return False
        return True

    def _cancel(self, order_id: str) -> bool:
        try:
            self.emulator.cancel_order(order_id, restock=True)
        except ValueError:
            return False
        return True


BUILDERS: dict[str, Callable[[str, ChannelSpec, VirtualClock], SimChannel]] = {
    "fake": FakeChannel.build,
    "square": SquareChannel.build,
    "shopify": ShopifyChannel.build,
    "amazon": AmazonChannel.build,
    "instagram": InstagramChannel.build,
}


def build_channel(name: str, spec: ChannelSpec, clock: VirtualClock) -> SimChannel:
    return BUILDERS[spec.kind](name, spec, clock)
