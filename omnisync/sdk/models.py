"""Typed values that cross the boundary between the engine and a connector.

Quantities are absolute targets, never deltas: the engine always says what the channel *should*
show. ``previous`` is the last value the channel acknowledged, for compare-and-set or for deriving
an idempotent adjustment. Money is ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Operation(StrEnum):
    """The operations the engine calls; each has its own rate budget (see :class:`Limits`).

    Tag every request with one (``extensions=op(Operation.PUSH_INVENTORY)``). A connector that paces
    further calls of its own (a token endpoint, a platform's per-endpoint usage plan) lists their names
    in ``Connector.operations``; a request tagged with any other name is an error, never a silent
    default budget.
    """

    PUSH_INVENTORY = "push_inventory"
    PUSH_PRICES = "push_prices"
    PULL_ORDERS = "pull_orders"
    READ_INVENTORY = "read_inventory"
    READ_LISTINGS = "read_listings"
    PUSH_LISTINGS = "push_listings"
    """Listing content: create, update, unpublish (``upsert_listings``, ``unpublish_listings``)."""


class Capability(StrEnum):
    PUSH_INVENTORY = "push_inventory"
    PUSH_PRICES = "push_prices"
    PULL_ORDERS = "pull_orders"
    READ_INVENTORY = "read_inventory"
    READ_LISTINGS = "read_listings"
    PUBLISH_LISTINGS = "publish_listings"
    """push_inventory honours ``available`` (shows or hides the item)."""
    MANAGE_LISTINGS = "manage_listings"
    """Creates, updates and unpublishes listing content from the catalogue (``upsert_listings``,
    ``unpublish_listings``, ``listing_rules``); see :mod:`omnisync.sdk.listings`."""
    READ_LISTING_ISSUES = "read_listing_issues"
    """``read_listing_issues`` reports what the channel says now about listings it accepted (issues
    that arise after the write, such as Amazon's catalogue checks)."""
    READ_CATALOGUE = "read_catalogue"
    """Reads every product the channel lists, with its content and variants (``read_catalogue``):
    ``catalog import --from`` and matching by barcode in ``listings link`` need it."""
    WEBHOOKS = "webhooks"
    COMPARE_AND_SET = "compare_and_set"
    """push_inventory honours ``previous`` atomically and answers STALE on a mismatch."""
    IDEMPOTENT_PUSH = "idempotent_push"
    """push_inventory honours ``idempotency_key``: a retry of the same key is a no-op."""
    VERIFIED_PUSH = "verified_push"
    """push_inventory answers ACCEPTED only when the channel held ``previous`` just before the change
    and the pushed quantity just after it (a compare-and-set, or a delta whose outcome the connector
    checked); otherwise STALE. COMPARE_AND_SET implies it. The engine then records the acknowledgement
    relative to ``previous``, so a sale imported while the push was in flight is not overwritten."""
    EXTERNAL_STOCK = "external_stock"
    """The channel keeps stock in locations of its own (Amazon's fulfilment centres, ``fba``
    locations): ``read_location_stock`` reports it; the engine never pushes it."""
    PREORDER = "preorder"
    """push_inventory honours ``preorder``: it gives the platform its preorder / backorder signal for
    the units of ``quantity`` sold ahead of the stock on order (and takes it back when ``preorder`` is
    None). Only channels with it may have a ``preorder_limit``."""
    ORDERED_PULL = "ordered_pull"
    """pull_orders pages a window in ascending ``updated_at`` order (the platform documents the sort).
    The engine then moves its order cursor with every page it commits, so a restart resumes after
    the last page applied instead of reading the whole window again."""


class Decrements(StrEnum):
    """When a platform lowers its own quantity for the orders it takes (``Connector.decrements``)."""

    NEVER = "never"
    """The platform leaves its quantity alone; the engine pushes every change (the safe default)."""
    ON_ORDER = "on_order"
    """Units leave the platform's quantity as an order is placed (Shopify, Amazon, Meta)."""
    ON_FULFILMENT = "on_fulfilment"
    """Units leave when a sale completes, and come back with a restocked return (Square)."""


@dataclass(frozen=True, slots=True)
class OperationLimits:
    """What one operation of a channel tolerates.

    The budget is a token bucket per operation: it holds at most ``burst`` tokens, refills at
    ``rate`` tokens per second, and each HTTP request tagged with the operation takes one token (a
    connector may charge more, e.g. a GraphQL query cost). Time is the injected clock's.
    """

    max_batch: int = 1
    """Most items (SKUs) one call of the operation may carry; the engine never hands more."""
    rate: float = 10.0
    """Sustained HTTP requests per second (a float: 0.5 is one request every two seconds)."""
    burst: int = 10
    """HTTP requests that may go back to back from a full budget (the bucket's size, in requests)."""
    in_flight: int = 1
    """Engine calls (``push_inventory``/``push_prices`` invocations, not HTTP requests) that may await
    their results at once (pushes only). More than one suits a platform whose
    push answers late, such as an asynchronous batch it processes after accepting it: the engine then
    sends the next push while earlier ones settle, never one item in two pushes at once."""


@dataclass(frozen=True, slots=True)
class Limits:
    push_inventory: OperationLimits = OperationLimits()
    push_prices: OperationLimits = OperationLimits()
    pull_orders: OperationLimits = OperationLimits()
    read_inventory: OperationLimits = OperationLimits()
    read_listings: OperationLimits = OperationLimits()
    push_listings: OperationLimits = OperationLimits()
    """``max_batch``: listings (products, with their variants) per ``upsert_listings`` call."""

    def for_operation(self, operation: Operation | str) -> OperationLimits:
        found = getattr(self, operation, None)
        return found if isinstance(found, OperationLimits) else OperationLimits()


@dataclass(frozen=True, slots=True)
class Preorder:
    """The part of an :class:`InventoryUpdate`'s quantity sold ahead of the stock on order."""

    units: int
    """Units of ``quantity`` that are preorders (the rest is stock on hand); at least 1."""
    expected: date | None = None
    """When the stock on order is expected (its earliest date; None: not given)."""

    @property
    def key(self) -> str:
        """What the channel is told, as one text (``"5@2026-12-20"``): the listing's record of it."""
        return f"{self.units}@{self.expected.isoformat() if self.expected else ''}"

    @classmethod
    def from_key(cls, key: str | None) -> Preorder | None:
        """The preorder a :attr:`key` stands for (None or "": none)."""
        if not key:
            return None
        units, _, expected = key.partition("@")
        return cls(int(units), date.fromisoformat(expected) if expected else None)


def preorder_key(preorder: Preorder | None) -> str:
    """The listing's record of a push's preorder signal ("" when the push carries none)."""
    return "" if preorder is None else preorder.key


@dataclass(frozen=True, slots=True)
class InventoryUpdate:
    sku: str
    """Master SKU (the ledger's)."""
    channel_sku: str
    """The SKU as the channel knows it (after mapping aliases)."""
    quantity: int
    """Absolute target quantity."""
    previous: int | None
    """Last quantity the channel acknowledged, or None if never pushed/read."""
    version: int
    """Ledger version of this SKU's stock; grows with every movement."""
    idempotency_key: str
    """Derived from (channel, SKU, version): the same target always carries the same key."""
    ids: Mapping[str, str] = field(default_factory=dict)
    """The channel's own ids for this SKU, as found by ``read_listings``."""
    location: str | None = None
    """Ledger location whose channel-side location should carry the quantity (first source)."""
    available: bool | None = None
    """Visibility wish for channels that publish/unpublish (None: leave as is)."""
    preorder: Preorder | None = None
    """Units of ``quantity`` sold ahead of the stock on order, for channels with
    ``Capability.PREORDER`` (None: none, and any preorder signal the channel shows is taken back)."""
    preorder_changed: bool = False
    """``preorder`` differs from the signal the channel last accepted from omnisync: a connector that
    sets the signal in a call of its own (Shopify's inventory policy) makes that call only then."""


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    sku: str
    channel_sku: str
    price: Decimal
    currency: str
    version: int
    idempotency_key: str
    compare_at: Decimal | None = None
    ids: Mapping[str, str] = field(default_factory=dict)


class ItemStatus(StrEnum):
    ACCEPTED = "accepted"
    """The channel now holds ``value``."""
    STALE = "stale"
    """Compare-and-set mismatch: the channel moved since our last acknowledgement."""
    REJECTED = "rejected"
    """Permanent for this value; ``reason`` carries the channel's words."""
    RETRY = "retry"
    """Transient; try again on a later cycle."""


@dataclass(frozen=True, slots=True)
class ItemResult:
    sku: str
    status: ItemStatus
    value: int | Decimal | None = None
    reason: str | None = None

    @classmethod
    def accepted(cls, sku: str, value: int | Decimal | None) -> ItemResult:
        return cls(sku, ItemStatus.ACCEPTED, value)

    @classmethod
    def stale(cls, sku: str, reason: str | None = None, value: int | None = None) -> ItemResult:
        return cls(sku, ItemStatus.STALE, value, reason)

    @classmethod
    def rejected(cls, sku: str, reason: str) -> ItemResult:
        return cls(sku, ItemStatus.REJECTED, None, reason)

    @classmethod
    def retry(cls, sku: str, reason: str) -> ItemResult:
        return cls(sku, ItemStatus.RETRY, None, reason)


class OrderStatus(StrEnum):
    OPEN = "open"
    """Accepted by the channel, not yet (fully) fulfilled: its lines reserve stock."""
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    """Done after returns or refunds; the line numbers say what happened."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line with cumulative quantities; the engine applies only what changed since last time."""

    line_id: str
    channel_sku: str
    quantity: int
    fulfilled: int = 0
    """Units handed over / shipped so far (a POS sale is fulfilled at once)."""
    cancelled: int = 0
    """Units cancelled before fulfilment (release of reservation)."""
    restocked: int = 0
    """Units returned to stock (refund or return with restock)."""
    unit_price: Decimal | None = None
    """What the channel charged per unit, in the order's currency (the sales report's revenue)."""
    refunded: int = 0
    """Units refunded, restocked or not (a refund without restock: damaged, kept by the customer).
    The ledger counts at least ``restocked``: a restocked unit is a refunded one."""
    damaged: int = 0
    """Units the customer returned that were not put back on the shelf (received damaged, or not
    restocked): journalled into the damaged bucket where they came back (``return_location``, else
    the line's location), never offered. Cumulative, not counted in ``restocked``."""
    to_inspect: int = 0
    """Units the customer returned that wait for inspection before they are restocked or written off:
    the inspect bucket, until ``omnisync returns inspect``. Cumulative, not counted in ``restocked``."""


@dataclass(frozen=True, slots=True)
class Order:
    external_id: str
    status: OrderStatus
    updated_at: datetime
    lines: tuple[OrderLine, ...]
    created_at: datetime | None = None
    location: str | None = None
    """Ledger location where the order happened or is picked up (POS store, click-and-collect)."""
    return_location: str | None = None
    """Ledger location where returned units went back on the shelf, if not ``location``."""
    currency: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The channel's payload, for the digest and for humans; never logged in full."""


@dataclass(frozen=True, slots=True)
class OrderCursor:
    """Where to read from. ``updated_after`` already includes the engine's overlap window."""

    updated_after: datetime | None
    page_token: str | None = None


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[Order]
    next_page_token: str | None
    """None when this was the last page for the window."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(external id, reason) of orders the connector could not read. They are reported and the
    engine keeps its cursor before them, so they are read again: never silently dropped."""


@dataclass(frozen=True, slots=True)
class ChannelListing:
    """What the channel knows about one of its SKUs."""

    channel_sku: str
    ids: Mapping[str, str]
    quantity: int | None = None
    price: Decimal | None = None
    available: bool | None = None


@dataclass(frozen=True, slots=True)
class InventoryRef:
    sku: str
    channel_sku: str
    ids: Mapping[str, str] = field(default_factory=dict)
    location: str | None = None


class WebhookKind(StrEnum):
    ORDER = "order"
    INVENTORY = "inventory"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    event_id: str
    kind: WebhookKind
    topic: str
    order: Order | None = None
    """Filled when the payload carries a complete order; otherwise the engine pulls."""
    order_id: str | None = None
    """The order the event names without carrying it: the engine reads that order alone
    (:meth:`Connector.read_orders`) instead of pulling the channel's whole window."""
    channel_sku: str | None = None
    """An ``INVENTORY`` event's listing (the channel's SKU)."""
    quantity: int | None = None
    """What the channel says the listing holds now. The engine compares it with the value the channel
    last acknowledged; where they differ the pair is read live and planned again."""


@dataclass(frozen=True, slots=True)
class LocationStock:
    """A channel's count of one SKU in a location it manages itself (an ``fba`` location)."""

    location: str
    """Ledger location code."""
    channel_sku: str
    quantity: int
    """Units that location holds for sale and for the channel's open orders (what the ledger's
    on_hand there should be: its reservations for those orders are the ledger's own)."""
    details: Mapping[str, int] = field(default_factory=dict)
    """The channel's breakdown, shown to the merchant (fulfillable, inbound, reserved...)."""


@dataclass(frozen=True, slots=True)
class NotificationQueue:
    """A message queue the platform delivers its notifications to (Amazon: an SQS queue), which the
    daemon consumes: long polling, each message deleted once what it carries is in the ledger.

    Credentials are resolved from the environment (the AWS default chain) unless given here.
    """

    url: str
    region: str
    endpoint: str | None = None
    """The queue service's endpoint where it is not the region's (a local SQS, the tests' moto)."""
    wait_time_s: int = 20
    """Long-polling wait of each receive (SQS allows 1..20 seconds)."""
    visibility_timeout_s: int = 120
    """How long a received message stays hidden; longer than the work of one batch, so a message is
    only seen again when the daemon died or failed before it was in the ledger."""
    max_messages: int = 10
    dead_letter_url: str | None = None
    """Where a message that cannot be parsed goes (None: left to the queue's own redrive policy)."""
    access_key_id: str | None = None
    secret_access_key: str | None = None
