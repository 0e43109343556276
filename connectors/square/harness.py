"""The Square emulator double: the conformance kit's harness (one store, a euro merchant), and the POS
the demo and the simulation sell at the counter on (``omnisync.emulators`` entry point)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from omnisync.clock import VirtualClock
from omnisync.testing.harness import EmulatorHarness, SeedItem, Webhook

from .connector import SquareConnector
from .emulator import SquareEmulator
from .emulator_items import shown_item
from .listings import client_id

DEFAULT_LOCATIONS = {"LSTORE00001AA": "Main Street"}


class SquareHarness(EmulatorHarness):
    connector_class = SquareConnector
    orders_page_size = 3
    conformance_batch_size = 100
    restocks_on_return = True

    def __init__(
        self,
        clock: VirtualClock | None = None,
        *,
        currency: str = "EUR",
        sources: Sequence[str] = (),
        **emulator_options: Any,
    ) -> None:
        self.clock = clock or VirtualClock()
        self.source_ids = {f"LSIM{n:09d}": loc for n, loc in enumerate(sources, start=1)}
        """Square location id -> the ledger location it sells from (one store per source)."""
        locations = {sid: f"Store {loc}" for sid, loc in self.source_ids.items()} or DEFAULT_LOCATIONS
        self.emulator = SquareEmulator(self.clock, currency=currency, locations=locations, **emulator_options)

    def listing(self, key: str) -> dict[str, Any] | None:
        """The item the connector created for listing ``key`` (found by its client id)."""
        item_id = self.emulator.client_ids.get(client_id(key))
        return None if item_id is None else shown_item(self.emulator, item_id)

    def seed(self, items: Sequence[SeedItem]) -> None:
        for item in items:
            self.emulator.seed_item(item.channel_sku, item.price, item.quantity)

    def endpoint_settings(self, endpoint: str | None = None) -> dict[str, Any]:
        options: dict[str, Any] = {"base_url": endpoint or "http://square.emulator"}
        if self.source_ids:
            options["locations"] = {loc: sid for sid, loc in self.source_ids.items()}
        settings: dict[str, Any] = self.emulator.settings(**options)
        return settings

    def buy(self, channel_sku: str, units: int, *, walk_in: bool = False) -> str:
        if walk_in:
            return str(self.emulator.place_order(channel_sku, units))
        return str(self.emulator.open_pickup_order(channel_sku, units))

    def fulfil(self, order_id: str) -> bool:
        if self.emulator.orders[order_id]["state"] != "OPEN":
            return False
        self.emulator.complete_order(order_id)
        return True

    def cancel(self, order_id: str) -> bool:
        if self.emulator.orders[order_id]["state"] != "OPEN":
            return False
        self.emulator.cancel_order(order_id)
        return True

    def give_back(self, order_id: str, channel_sku: str, units: int, *, restock: bool = True) -> str | None:
        if self.emulator.orders[order_id]["state"] != "COMPLETED":
            return None
        return str(self.emulator.return_items(order_id, units, restock=restock))

    def webhook(self, order_id: str) -> Webhook | None:
        return None  # Square notifies by itself on every order change (see notify)

    def notify(self, deliver: Callable[[Webhook], None]) -> None:
        self.emulator.on_webhook = lambda headers, body, url: deliver((headers, body, url))
