"""What a connector's test double must offer so that the conformance kit can exercise it.

A third party implements this for their fake or recorded API (the built-in connectors implement it
on top of their emulators) and gets the whole standard suite in one line::

    # tests/test_conformance.py
    from omnisync.testing import conformance_suite
    from mypkg.testing import MyHarness

    TestMyConnector = conformance_suite(MyHarness)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    def signed_webhook(self, order_id: str) -> tuple[dict[str, str], bytes, str | None] | None:
        signer = getattr(self.emulator, "signed_webhook", None)
        signed: tuple[dict[str, str], bytes, str | None] | None = None if signer is None else signer(order_id)
        return signed
