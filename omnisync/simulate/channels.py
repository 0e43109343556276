"""A channel of the simulation: the channel kind's emulator double (``omnisync.emulators``) on the
virtual clock, its connector settings, and the shoppers' and merchant's actions on it (buy, fulfil,
cancel, return), each measured.

Everything the simulation does to the emulator outside an API request is measured (quantity before and
after), so the run can tell pushes apart from shoppers. Doubles are loaded by kind, late, so an
unfinished connector costs only the scenarios that use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from omnisync.clock import VirtualClock
from omnisync.sdk.registry import load_connector
from omnisync.testing.doubles import build_double
from omnisync.testing.harness import EmulatorDouble, Fault, SeedItem, Webhook

from .scenario import ChannelSpec

CURRENCY = "EUR"

EMULATOR_OPTIONS: dict[str, dict[str, Any]] = {
    "fake": {"page_size": 50},
    "square": {"currency": CURRENCY},
    "shopify": {"currency": CURRENCY},
    "amazon": {"currency": CURRENCY, "record_requests": False},
    "instagram": {"currency": CURRENCY, "page_size": 25, "batch_settle_s": 2.0, "batch_per_item_s": 0.0},
}
"""The simulation's tuning of each kind's emulator (no request log kept; Instagram's default page)."""
SETTINGS_OPTIONS: dict[str, dict[str, Any]] = {"amazon": {"feed_threshold": 50}}
WEBHOOKS = frozenset({"fake", "square", "shopify"})
"""Kinds whose connector takes webhooks."""


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(a) for a in getattr(annotation, "__args__", ()))


@dataclass
class SimChannel:
    """A channel of the simulation: its emulator double and the actions the simulation takes on it."""

    name: str
    spec: ChannelSpec
    double: EmulatorDouble
    raw_settings: dict[str, Any]
    webhooks_enabled: bool = False
    external: dict[str, int] = field(default_factory=dict)
    """Per channel SKU, net quantity changes the simulation made outside API requests."""
    on_webhook: Callable[[Webhook], None] | None = None

    @property
    def emulator(self) -> Any:
        return self.double.emulator

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
        return self.double.transport()

    # -- the double ----------------------------------------------------------------------------------
    def seed(self, sku: str, price: Decimal) -> None:
        self.double.seed([SeedItem(sku, 0, price)])

    def quantity(self, sku: str) -> int | None:
        q = self.double.shown_quantity(sku)
        return None if q is None else int(q)

    def inject(self, fault: Fault, times: int = 1) -> None:
        self.double.fail_next(fault, times)

    def clear_faults(self) -> None:
        self.double.clear_faults()

    def webhook_for(self, order_id: str) -> Webhook | None:
        hook = self.double.webhook(order_id)
        return None if hook is None else (dict(hook[0]), bytes(hook[1]), hook[2])

    @property
    def restocks_on_return(self) -> bool:
        return self.double.restocks_on_return

    # -- measured actions ---------------------------------------------------------------------------
    def _measured(self, sku: str, action: Callable[[], Any]) -> Any:
        before = self.quantity(sku) or 0
        result = action()
        self.external[sku] = self.external.get(sku, 0) + (self.quantity(sku) or 0) - before
        return result

    def buy(self, sku: str, units: int, *, walk_in: bool | None = None) -> str:
        """A shopper buys (``walk_in``: at the counter; None: as the channel's shoppers do)."""
        at_counter = self.spec.walk_in if walk_in is None else walk_in
        return str(self._measured(sku, lambda: self.double.buy(sku, units, walk_in=at_counter)))

    def fulfil(self, order_id: str, sku: str) -> bool:
        return bool(self._measured(sku, lambda: self.double.fulfil(order_id)))

    def cancel(self, order_id: str, sku: str) -> bool:
        return bool(self._measured(sku, lambda: self.double.cancel(order_id)))

    def give_back(
        self, order_id: str, sku: str, units: int, *, restock: bool = True, location: str | None = None
    ) -> tuple[str | None, bool]:
        """A return (``location``: brought back there rather than where it was sold, where the channel
        records a return location; ``restock`` False: refunded without going back on the shelf).
        Returns what :meth:`EmulatorDouble.give_back` answers, and whether it went to ``location``."""

        def back() -> tuple[str | None, bool]:
            if location is not None:
                there = self.double.give_back_at(order_id, sku, units, location)
                if there is not None:
                    return there, True
            return self.double.give_back(order_id, sku, units, restock=restock), False

        result: tuple[str | None, bool] = self._measured(sku, back)
        return result


def build_channel(name: str, spec: ChannelSpec, clock: VirtualClock) -> SimChannel:
    options = dict(EMULATOR_OPTIONS.get(spec.kind, {}))
    if spec.kind == "square":
        options["notification_url"] = f"http://sim.invalid/webhooks/{name}"
    if spec.kind == "amazon":  # Amazon's notifications (its queue) stand where the others' webhooks do
        options["notifications"] = spec.webhooks
    double = build_double(spec.kind, clock, sources=spec.sources, **options)
    settings = {**double.endpoint_settings(), **SETTINGS_OPTIONS.get(spec.kind, {})}
    channel = SimChannel(name, spec, double, settings, spec.kind in WEBHOOKS)
    double.notify(lambda hook: channel.on_webhook(hook) if channel.on_webhook is not None else None)
    return channel
