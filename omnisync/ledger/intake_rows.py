"""What intake reads from the ledger for a page of orders, and the typed rows it writes back.

Plain data, no SQL: :mod:`omnisync.engine.intake_rules` decides on an :class:`IntakeView` and returns
an :class:`IntakeChanges`; :meth:`omnisync.ledger.intake.IntakeWrites.apply_intake` writes it in one
call. The write rows are ``TypedDict``s because they go to the database as they are, one multi-row
statement per kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple, TypedDict

from .rows import MovementRow

if TYPE_CHECKING:
    from omnisync.engine.listing_state import Shifted


class StoredLine(NamedTuple):
    """An order line as the ledger last applied it."""

    pk: int
    sku: str | None
    """The master SKU of ``product_id``."""
    product_id: int | None
    location_id: int | None
    quantity: int
    fulfilled: int
    cancelled: int
    restocked: int
    applied_fulfilled: int
    applied_restocked: int
    quarantined: bool
    quarantine_reason: str | None
    reserved: int | None
    """The line's reservation (None: it never had one)."""
    reserved_at: int | None
    """The location the reservation holds units at."""
    oversold: int = 0
    """Units found missing when the line was first applied (kept as the line changes)."""


class StoredVersion(NamedTuple):
    """What the ledger holds of an order before reading its lines."""

    id: int
    digest: str
    updated_at: datetime
    """The channel's update time of the version applied."""


class StoredOrder(NamedTuple):
    id: int
    digest: str
    lines: dict[str, StoredLine]


@dataclass
class IntakeView:
    """What the ledger holds for one page of orders of one channel."""

    orders: dict[str, StoredOrder]
    """External id -> the order, for the page's orders the ledger holds in another version."""
    products: dict[str, int]
    """Master SKU -> product id, for the page's known SKUs."""
    stock: dict[int, dict[int, tuple[int, int]]]
    """Product id -> location id -> (on_hand, reserved)."""
    locations: dict[str, int]
    """Location code -> id, for the codes the page and the channel's sources name."""
    read_at: dict[int, datetime] = field(default_factory=dict)
    """Product id -> when the channel's quantity was last read live (``listing.observed_at``)."""
    kits: dict[int, tuple[tuple[int, str, int], ...]] = field(default_factory=dict)
    """Kit product id -> its components (product id, SKU, quantity per kit), for the page's kits; the
    components' stock is in ``stock``."""
    in_kits: set[int] = field(default_factory=set)
    """The products of the page (and its kits' components) that are a component of some kit."""
    incoming: dict[int, dict[int, int]] = field(default_factory=dict)
    """Product id -> location id -> units on order there (what preorders are sold against)."""


class NewOrder(TypedDict):
    channel_id: int
    external_id: str
    status: str
    digest: str
    location_id: int | None
    updated_at: datetime
    imported_at: datetime
    placed_at: datetime
    currency: str | None


class OrderUpdate(TypedDict):
    id: int
    status: str
    digest: str
    location_id: int | None
    updated_at: datetime
    currency: str | None


class LineValues(TypedDict):
    """The columns of an order line that intake sets, for a new line and an update alike."""

    product_id: int | None
    location_id: int | None
    quantity: int
    fulfilled: int
    cancelled: int
    restocked: int
    applied_fulfilled: int
    applied_restocked: int
    quarantined: bool
    quarantine_reason: str | None
    unit_price: Decimal | None
    refunded: int
    oversold: int


class NewLine(LineValues):
    order_id: int | None
    """None for a line of an order inserted by the same call (found by ``external_id``)."""
    external_id: str
    line_id: str
    channel_sku: str


class LineUpdate(LineValues):
    id: int


class NewReservation(TypedDict):
    line_pk: int | None
    """None for a line inserted by the same call (found by ``external_id`` and ``line_id``)."""
    external_id: str
    line_id: str
    product_id: int
    location_id: int
    quantity: int


class ReservationUpdate(TypedDict):
    line_pk: int
    quantity: int


@dataclass
class IntakeChanges:
    """Everything a page of orders changes, for :meth:`~omnisync.ledger.intake.IntakeWrites.apply_intake`.

    Movements are journalled by idempotency key: only those not journalled before reach ``on_hand``.
    Reservations reach ``reserved`` through ``reserved`` (the change per product and location)."""

    channel_id: int
    new_orders: list[NewOrder] = field(default_factory=list)
    order_updates: list[OrderUpdate] = field(default_factory=list)
    new_lines: list[NewLine] = field(default_factory=list)
    line_updates: list[LineUpdate] = field(default_factory=list)
    new_reservations: list[NewReservation] = field(default_factory=list)
    reservation_updates: list[ReservationUpdate] = field(default_factory=list)
    movements: list[MovementRow] = field(default_factory=list)
    reserved: dict[tuple[int, int], int] = field(default_factory=dict)
    """(product id, location id) -> change of ``reserved``."""
    stock_rows: set[tuple[int, int]] = field(default_factory=set)
    """(product id, location id) pairs known to have a stock row."""
    touched: set[int] = field(default_factory=set)
    """Products whose reservations changed (those a journalled movement changes are added on apply)."""
    shifted: Shifted | None = None
    """Units the channel took off its own count for these orders."""

    def __bool__(self) -> bool:
        return bool(
            self.new_orders
            or self.order_updates
            or self.new_lines
            or self.line_updates
            or self.new_reservations
            or self.reservation_updates
            or self.movements
        )
