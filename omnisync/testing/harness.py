"""What a connector's test double must offer so that the conformance kit can exercise it.

A third party implements this for their fake or recorded API (the built-in connectors implement it
on top of their emulators) and gets the whole standard suite in one line::

    # tests/test_conformance.py
    from omnisync.testing import conformance_suite
    from mypkg.testing import MyHarness

    TestMyConnector = conformance_suite(MyHarness)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

import httpx

from omnisync.clock import VirtualClock
from omnisync.sdk.connector import Connector


class Fault(StrEnum):
    THROTTLE = "throttle"
    """The channel's own throttle answer (429, GraphQL THROTTLED, Meta 80014, ...)."""
    UNAUTHORIZED = "unauthorized"
    """Credentials refused (401 or the channel's equivalent)."""
    SERVER_ERROR = "server_error"
    """A 5xx answer."""
    TIMEOUT = "timeout"
    """The request times out (raise httpx.ReadTimeout from the transport)."""


@dataclass(frozen=True)
class SeedItem:
    channel_sku: str
    quantity: int
    price: Decimal


class ConnectorHarness(Protocol):
    connector_class: type[Connector]
    clock: VirtualClock
    orders_page_size: int
    """Page size the fake API uses for order listing (the kit creates more than two pages)."""
    conformance_batch_size: int
    """Items in the kit's full-batch push (usually the connector's declared max_batch)."""

    def settings(self) -> Mapping[str, Any]: ...

    def transport(self) -> httpx.AsyncBaseTransport: ...

    def seed(self, items: Sequence[SeedItem]) -> None: ...

    def channel_quantity(self, channel_sku: str) -> int | None: ...

    def channel_price(self, channel_sku: str) -> Decimal | None: ...

    def place_order(self, channel_sku: str, quantity: int) -> str:
        """A simulated shopper buys; the channel lowers its own quantity as the platform does."""
        ...

    def fail_next(self, fault: Fault, times: int = 1) -> None: ...

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        """Headers, raw body and notification URL of a valid webhook for that order (None: no webhooks)."""
        ...

    def listing(self, key: str) -> Mapping[str, Any] | None:
        """What the channel shows for listing ``key`` - ``title``, ``published`` - or None (only for
        connectors with MANAGE_LISTINGS; ``conformance_listing_category`` may name the category
        the kit's listing uses)."""
        ...


Webhook = tuple[dict[str, str], bytes, str | None]
"""Headers, raw body and notification URL (None: the channel's configured one) of a webhook."""


class EmulatorDouble(ConnectorHarness, Protocol):
    """A connector harness widened into the one emulator double of its channel: what the demo, the
    simulation, the benchmarks and the tests do to a channel as its shoppers and its merchant.

    Found by channel kind through the ``omnisync.emulators`` entry-point group
    (:func:`omnisync.testing.doubles.emulator_double`).
    """

    emulator: Any
    restocks_on_return: bool
    """A return puts its units back on the channel's own count."""

    def endpoint_settings(self, endpoint: str | None = None) -> dict[str, Any]:
        """The connector's settings reaching this emulator: in-process (None) or served at ``endpoint``."""
        ...

    def shown_quantity(self, channel_sku: str) -> int | None:
        """The quantity a shopper sees (0 where the listing is hidden or out of stock)."""
        ...

    def buy(self, channel_sku: str, units: int, *, walk_in: bool = False) -> str:
        """A shopper buys (``walk_in``: at the counter, the sale completed at once); answers the order id."""
        ...

    def fulfil(self, order_id: str) -> bool:
        """The merchant ships an open order (False: not open, or the channel does not ship)."""
        ...

    def cancel(self, order_id: str) -> bool:
        """The merchant cancels an open order, the channel restocking it (False: not open)."""
        ...

    def give_back(self, order_id: str, channel_sku: str, units: int, *, restock: bool = True) -> str | None:
        """A return/refund of a shipped order: the id of a separate return order where the channel makes
        one, '' when recorded on the original order, None when the channel cannot."""
        ...

    def give_back_at(self, order_id: str, channel_sku: str, units: int, location: str) -> str | None:
        """A return of a shipped order brought back to ledger ``location`` instead of where it was sold
        (as :meth:`give_back`; None when the channel records no return location)."""
        ...

    def webhook(self, order_id: str) -> Webhook | None:
        """The notification to deliver after a shopper's or merchant's action on that order (None: the
        channel has none, or sends its own through :meth:`notify`)."""
        ...

    def notify(self, deliver: Callable[[Webhook], None]) -> None:
        """Hand the webhooks the emulator sends by itself to ``deliver``."""
        ...

    def clear_faults(self) -> None: ...


class EmulatorHarness:
    """A harness over an emulator object that speaks the usual control methods.

    Subclasses set ``connector_class``, ``orders_page_size``, ``conformance_batch_size``, build
    ``self.clock`` and ``self.emulator`` in ``__init__``, and implement ``seed`` (emulators name their
    seeding call after the platform's own objects). Everything else delegates to the emulator:
    ``settings(orders_page_size=)``, ``transport()``, ``quantity()``, ``price()``, ``place_order()``,
    ``fail_next()`` and, for channels with webhooks, ``signed_webhook()``.
    """

    connector_class: type[Connector]
    clock: VirtualClock
    orders_page_size: int = 3
    conformance_batch_size: int = 1
    throttle_retry_after: float | None = None
    """Seconds the emulator's throttle answer asks the caller to wait, if it names a figure (the kit
    then checks each retry waited at least that long; optional on any harness)."""
    emulator: Any

    def settings(self) -> Mapping[str, Any]:
        settings: Mapping[str, Any] = self.emulator.settings(orders_page_size=self.orders_page_size)
        return settings

    def transport(self) -> httpx.AsyncBaseTransport:
        transport: httpx.AsyncBaseTransport = self.emulator.transport()
        return transport

    def seed(self, items: Sequence[SeedItem]) -> None:
        raise NotImplementedError

    def channel_quantity(self, channel_sku: str) -> int | None:
        quantity: int | None = self.emulator.quantity(channel_sku)
        return quantity

    def channel_price(self, channel_sku: str) -> Decimal | None:
        price: Decimal | None = self.emulator.price(channel_sku)
        return price

    def place_order(self, channel_sku: str, quantity: int) -> str:
        return str(self.emulator.place_order(channel_sku, quantity))

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        self.emulator.fail_next(fault, times)

    def listing(self, key: str) -> Mapping[str, Any] | None:
        shown: Mapping[str, Any] | None = self.emulator.listing(key)
        return shown

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        signer = getattr(self.emulator, "signed_webhook", None)
        signed: tuple[dict[str, str], bytes, str | None] | None = None if signer is None else signer(order_id)
        return signed

    # -- the double's lifecycle (see EmulatorDouble): defaults for a channel that only sells ------------
    restocks_on_return: bool = False

    def endpoint_settings(self, endpoint: str | None = None) -> dict[str, Any]:
        settings = dict(self.emulator.settings())
        if endpoint is not None:
            settings["endpoint"] = endpoint
        return settings

    def shown_quantity(self, channel_sku: str) -> int | None:
        return self.channel_quantity(channel_sku)

    def buy(self, channel_sku: str, units: int, *, walk_in: bool = False) -> str:
        return self.place_order(channel_sku, units)

    def fulfil(self, order_id: str) -> bool:
        return False

    def cancel(self, order_id: str) -> bool:
        return False

    def give_back(self, order_id: str, channel_sku: str, units: int, *, restock: bool = True) -> str | None:
        return None

    def give_back_at(self, order_id: str, channel_sku: str, units: int, location: str) -> str | None:
        return None

    def webhook(self, order_id: str) -> Webhook | None:
        return self.signed_webhook(order_id)

    def notify(self, deliver: Callable[[Webhook], None]) -> None:
        return None

    def clear_faults(self) -> None:
        for attr in ("faults", "_faults"):
            queue = getattr(self.emulator, attr, None)
            if queue is not None:
                queue.clear()
