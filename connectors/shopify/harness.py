"""The Shopify emulator double: the conformance kit's harness, and the shop the demo, the simulation and
the benchmarks buy from, fulfil, cancel and refund on (``omnisync.emulators`` entry point)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omnisync.clock import VirtualClock
from omnisync.testing.harness import EmulatorHarness, SeedItem

from .connector import ShopifyConnector
from .emulator import ShopifyEmulator
from .listings import handle_for


class ShopifyHarness(EmulatorHarness):
    connector_class = ShopifyConnector
    orders_page_size = 2
    conformance_batch_size = 250

    def __init__(
        self, clock: VirtualClock | None = None, *, sources: Sequence[str] = (), **emulator_options: Any
    ) -> None:
        self.clock = clock or VirtualClock()
        self.emulator = ShopifyEmulator(self.clock, **emulator_options)
        self.sources = tuple(sources)
        """Ledger locations the channel sells from; the first one is the shop's warehouse."""

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed(item.channel_sku, item.quantity, item.price)

    def endpoint_settings(self, endpoint: str | None = None) -> dict[str, Any]:
        urls = {} if endpoint is None else {"endpoint": endpoint}
        settings: dict[str, Any] = self.emulator.settings(**urls)
        if self.sources:  # the shop's warehouse, and its store where the channel draws from a second one
            settings["locations"] = {code: self.emulator.locations[name] for code, name in self._named()}
        return settings

    def _named(self) -> list[tuple[str, str]]:
        """(ledger location, the shop's location name) for the channel's sources the shop has."""
        return list(zip(self.sources, self.emulator.locations, strict=False))

    def listing(self, key: str) -> dict[str, Any] | None:
        shown: dict[str, Any] | None = self.emulator.listing(handle_for(key))
        return shown

    def fulfil(self, order_id: str) -> bool:
        try:
            self.emulator.fulfill(order_id)
        except (ValueError, KeyError):
            return False
        return True

    def cancel(self, order_id: str) -> bool:
        try:
            if self.emulator.state.orders[order_id].cancelled_at is not None:
                return False  # the emulator would put the open units back a second time
            self.emulator.cancel(order_id, restock=True)
        except (ValueError, KeyError):
            return False
        return True

    def give_back_at(self, order_id: str, channel_sku: str, units: int, location: str) -> str | None:
        name = dict(self._named()).get(location)
        if name is None:
            return None
        try:
            self.emulator.refund(order_id, channel_sku, units, restock=True, location=name)
        except (ValueError, KeyError):
            return None
        return ""

    def give_back(self, order_id: str, channel_sku: str, units: int, *, restock: bool = True) -> str | None:
        try:
            self.emulator.refund(order_id, channel_sku, units, restock=restock)
        except (ValueError, KeyError):
            return None
        return ""
