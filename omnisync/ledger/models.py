"""The ledger's tables. Only :mod:`omnisync.ledger.repository` writes them.

Stock is journaled: ``Movement`` rows are append-only and carry an idempotency key; ``Stock`` caches
``on_hand`` and ``reserved`` per SKU×location and is updated in the same transaction as the journal.
``Product.version`` grows with every change to the SKU's stock or price: it is the ledger version
that idempotency keys of pushes are derived from.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Numeric, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], datetime | str | None] | None:
        """:meth:`process_bind_param` itself where the generic impl adds nothing (it does not), without
        TypeDecorator's indirection: the bulk writes run it for every time they store."""
        if self.impl_instance.bind_processor(dialect) is not None:  # pragma: no cover - not so today
            return super().bind_processor(dialect)
        if dialect.name == "sqlite":
            return _sqlite_text
        return partial(self.process_bind_param, dialect=dialect)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_text(value: datetime | None) -> str | None:
    """:meth:`UTCDateTime.process_bind_param` for SQLite, as the text sqlite3's datetime adapter
    would store (``isoformat(" ")`` of the naive UTC time), without the adapter's call per value."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use aware UTC times")
        value = value.astimezone(UTC)
    return value.isoformat(" ")[:-6]  # without its "+00:00"


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class CatalogueProduct(SQLModel, table=True):
    """A product of the master catalogue: the content its variants (``product`` rows, one per SKU)
    share on every channel. ``version`` grows with every change to the content of the product or of
    one of its variants (title, barcode, options), which marks its listings dirty."""

    __tablename__ = "catalogue_product"
    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(unique=True, max_length=128)
    """The ``product`` column of the import: the merchant's name for the product."""
    title: str = ""
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    brand: str = ""
    condition: str = Field(default="new", max_length=16)
    """new | used | refurbished."""
    status: str = Field(default="active", max_length=16)
    """active | draft | discontinued."""
    images: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Image URLs, in order (the first is the main image)."""
    attributes: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Option names in order (``["Colour", "Size"]``); each variant gives a value for every one."""
    version: int = 1


class Product(SQLModel, table=True):
    __tablename__ = "product"
    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(index=True, unique=True, max_length=128)
    title: str = ""
    barcode: str | None = None
    tags: str = ""
    """Comma-separated, lower case."""
    price: Decimal = Field(default=Decimal("0"), sa_column=Column(Numeric(14, 4), nullable=False))
    currency: str = Field(default="EUR", max_length=3)
    active: bool = True
    version: int = 0
    parent_id: int | None = Field(default=None, foreign_key="catalogue_product.id", index=True)
    """The catalogue product this SKU is a variant of (None: a SKU outside the catalogue)."""
    options: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """Option name -> value for this variant (None: no options)."""
    lead_time_days: float | None = None
    """Supplier terms for reordering (:mod:`omnisync.replenishment`); None: the config's default."""
    moq: int | None = None
    pack: int | None = None
    service_level: float | None = None


class KitComponent(SQLModel, table=True):
    """One component of a kit SKU (:mod:`omnisync.kits`): ``quantity`` units of ``component_id`` per
    kit. A kit holds no stock of its own; a component is never itself a kit."""

    __tablename__ = "kit_component"
    kit_id: int = Field(foreign_key="product.id", primary_key=True)
    component_id: int = Field(foreign_key="product.id", primary_key=True, index=True)
    quantity: int = 1


class Location(SQLModel, table=True):
    __tablename__ = "location"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str = ""
    kind: str = "warehouse"
    """'warehouse' or 'store'."""


class Stock(SQLModel, table=True):
    __tablename__ = "stock"
    product_id: int = Field(foreign_key="product.id", primary_key=True)
    location_id: int = Field(foreign_key="location.id", primary_key=True)
    on_hand: int = 0
    reserved: int = 0


class ExternalCount(SQLModel, table=True):
    """A channel's latest count of a SKU in a location it keeps itself (an ``fba`` location), with the
    channel's breakdown (fulfillable, inbound, reserved) as it gave it, for ``explain`` and the status
    page. ``on_hand`` there follows ``quantity`` through journaled adjustments; this row is the view."""

    __tablename__ = "external_count"
    product_id: int = Field(foreign_key="product.id", primary_key=True)
    location_id: int = Field(foreign_key="location.id", primary_key=True)
    channel: str = Field(max_length=64)
    quantity: int = 0
    details: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    read_at: datetime = _ts(nullable=False)


class Movement(SQLModel, table=True):
    """Append-only journal. ``quantity`` is signed: receipts and returns add, sales subtract."""

    __tablename__ = "movement"
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    location_id: int = Field(foreign_key="location.id")
    kind: str
    """receipt | sale | adjustment | return | transfer_out | transfer_in."""
    quantity: int
    idempotency_key: str = Field(unique=True, max_length=200)
    reference: str | None = None
    note: str | None = None
    created_at: datetime = _ts(nullable=False)
    actor: str | None = Field(default=None, max_length=120)
    """Who or what made it: ``cli:<user>``, ``channel:<name>``, ``demo``, ... (None: before audit)."""
    batch: str | None = Field(default=None, max_length=64, index=True)
    """The import or undo it belongs to (``import-<digest>``), so it can be listed and undone whole."""
    bucket: str | None = Field(default=None, max_length=16)
    """None: sellable stock (``on_hand``). ``damaged`` or ``inspect``: a non-sellable bucket of returned
    units (:mod:`omnisync.returns`), counted but never offered."""


class Reservation(SQLModel, table=True):
    """Units an accepted, unfulfilled order line holds at a location."""

    __tablename__ = "reservation"
    id: int | None = Field(default=None, primary_key=True)
    order_line_id: int = Field(foreign_key="order_line.id", unique=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    location_id: int = Field(foreign_key="location.id")
    quantity: int = 0


class Channel(SQLModel, table=True):
    __tablename__ = "channel"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    connector: str = ""


class Listing(SQLModel, table=True):
    """One (channel, SKU) pair: the channel's ids, what it last acknowledged, whether to re-plan."""

    __tablename__ = "listing"
    __table_args__ = (Index("ix_listing_dirty", "channel_id", "dirty"),)
    channel_id: int = Field(foreign_key="channel.id", primary_key=True)
    product_id: int = Field(foreign_key="product.id", primary_key=True)
    channel_sku: str = Field(max_length=128)
    ids: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    acked_quantity: int | None = None
    acked_price: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 4)))
    acked_available: bool | None = None
    acked_preorder: str | None = Field(default=None, max_length=40)
    """The preorder signal the channel last accepted (``Preorder.key``; "" or None: none)."""
    acked_version: int | None = None
    dirty: bool = True
    dirty_mark: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Grows with every write that marks the pair dirty: a plan clears ``dirty`` only if the mark is
    still the one it read, so a mark made between the plan's read and its settle is never lost."""
    missing: bool = False
    """The channel does not know this SKU (discovery found nothing)."""
    last_error: str | None = None
    last_error_at: datetime | None = _ts(nullable=True)
    acked_at: datetime | None = _ts(nullable=True)
    observed_at: datetime | None = _ts(nullable=True)
    """When ``acked_quantity`` was last set from a live read: orders the channel took before then are
    already in it, so importing them must not move it again."""


class ListingContentState(SQLModel, table=True):
    """One (channel, catalogue product) listing: the channel's ids, the content it last accepted
    (its digest and one short hash per field, to say what changed), and its last answer."""

    __tablename__ = "listing_content"
    __table_args__ = (Index("ix_listing_content_dirty", "channel_id", "dirty"),)
    channel_id: int = Field(foreign_key="channel.id", primary_key=True)
    catalogue_product_id: int = Field(foreign_key="catalogue_product.id", primary_key=True)
    ids: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    acked_digest: str | None = Field(default=None, max_length=64)
    acked_fields: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    published: bool | None = None
    """Whether the channel shows it (None: never written by omnisync)."""
    dirty: bool = True
    issues: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """The channel's last words about the listing (rejection reasons, listing issues)."""
    last_action: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = _ts(nullable=True)


class Order(SQLModel, table=True):
    __tablename__ = "sales_order"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id", name="uq_order_channel_external"),
        Index("ix_sales_order_imported_at", "imported_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel.id")
    external_id: str = Field(max_length=128)
    status: str
    digest: str = Field(max_length=64)
    location_id: int | None = Field(default=None, foreign_key="location.id")
    updated_at: datetime = _ts(nullable=False)
    imported_at: datetime = _ts(nullable=False)
    placed_at: datetime | None = _ts(nullable=True, index=True)
    """When the customer placed the order (the channel's creation time, else its first update time):
    the day a sale counts on in the sales report."""
    currency: str | None = Field(default=None, max_length=3)
    # The sums of the order's lines (omnisync.ledger.sales.LINE_FACTS), refreshed with the lines in the
    # same transaction, as on_hand is with the journal: a report by channel and day reads the orders
    # alone. Money in ten-thousandths of the currency unit.
    lines: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    units: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    revenue_e4: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    unpriced: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    cancelled: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    returned: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    refunded: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    refunds_e4: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    oversold: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class OrderLine(SQLModel, table=True):
    """Per line, what the ledger has applied so far (so an update applies only the difference)."""

    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_id", name="uq_order_line"),)
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    line_id: str = Field(max_length=128)
    channel_sku: str = Field(max_length=128)
    product_id: int | None = Field(default=None, foreign_key="product.id")
    location_id: int | None = Field(default=None, foreign_key="location.id")
    quantity: int = 0
    """As last reported by the channel (cumulative)."""
    fulfilled: int = 0
    cancelled: int = 0
    restocked: int = 0
    applied_fulfilled: int = 0
    """Units the ledger has turned into sale movements for this line."""
    applied_restocked: int = 0
    """Units the ledger has turned into return movements for this line."""
    quarantined: bool = Field(default=False, index=True)
    quarantine_reason: str | None = None
    unit_price: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 4)))
    """The price the channel charged per unit, in the order's currency (None: not reported)."""
    refunded: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Units refunded so far, restocked or not (cumulative; at least ``restocked``)."""
    oversold: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Units of the line the ledger did not have available where it was routed when it arrived."""


class IncomingStock(SQLModel, table=True):
    """Units on order from a supplier, not yet received: counted by the reorder rules so nothing is
    ordered twice. ``quantity`` is what is still expected; a receipt against the reference lowers it."""

    __tablename__ = "incoming_stock"
    __table_args__ = (UniqueConstraint("reference", "product_id", "location_id", name="uq_incoming"),)
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=128)
    product_id: int = Field(foreign_key="product.id", index=True)
    location_id: int = Field(foreign_key="location.id")
    quantity: int = 0
    expected_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts(nullable=False)


class Cursor(SQLModel, table=True):
    __tablename__ = "cursor"
    channel_id: int = Field(foreign_key="channel.id", primary_key=True)
    updated_after: datetime | None = _ts(nullable=True)
    updated_at: datetime | None = _ts(nullable=True)


class WebhookReceipt(SQLModel, table=True):
    __tablename__ = "webhook_receipt"
    __table_args__ = (UniqueConstraint("channel_id", "event_id", name="uq_webhook_event"),)
    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel.id")
    event_id: str = Field(max_length=200)
    received_at: datetime = _ts(nullable=False)


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_run"
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(index=True, max_length=64)
    kind: str = "cycle"
    """cycle | reconcile."""
    worker: str | None = None
    started_at: datetime = _ts(nullable=False)
    finished_at: datetime | None = _ts(nullable=True)
    ok: bool = False
    orders_imported: int = 0
    lines_quarantined: int = 0
    items_planned: int = 0
    items_pushed: int = 0
    accepted: int = 0
    rejected: int = 0
    stale: int = 0
    retried: int = 0
    drift: int = 0
    api_calls: int = 0
    throttled: int = 0
    error: str | None = None


class PushOutbox(SQLModel, table=True):
    """An inventory batch written before it is sent and removed with its acknowledgements.

    If the process dies between the channel applying a batch and the ledger recording it, the next
    cycle finds the batch here and re-sends it verbatim: on a channel with idempotency keys the
    platform answers its first result instead of applying the change twice.
    """

    __tablename__ = "push_outbox"
    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel.id", index=True)
    created_at: datetime = _ts(nullable=False)
    items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Lease(SQLModel, table=True):
    """Which daemon works a channel; several daemons on one PostgreSQL ledger share channels."""

    __tablename__ = "lease"
    channel: str = Field(primary_key=True, max_length=64)
    holder: str | None = None
    expires_at: datetime | None = _ts(nullable=True)


class Alert(SQLModel, table=True):
    """One condition key's alert state (omnisync.alerts.state): a restart neither forgets nor re-sends."""

    __tablename__ = "alert"
    key: str = Field(primary_key=True, max_length=400)
    kind: str = Field(max_length=32)
    channel: str | None = Field(default=None, max_length=64)
    sku: str | None = Field(default=None, max_length=128)
    status: str = Field(max_length=16)
    """quiet | pending | firing | resolved."""
    since: datetime | None = _ts(nullable=True)
    episode: int = 0
    summary: str = ""
    facts: str = "{}"
    """JSON text (written in bulk on a first start over thousands of SKUs: plain text binds fastest)."""
    raised_at: datetime | None = _ts(nullable=True)
    resolved_at: datetime | None = _ts(nullable=True)
    updated_at: datetime = _ts(nullable=False)


class AlertDelivery(SQLModel, table=True):
    """What one notifier was last told about one alert key: (episode, firing | resolved)."""

    __tablename__ = "alert_delivery"
    key: str = Field(primary_key=True, max_length=400)
    notifier: str = Field(primary_key=True, max_length=64)
    episode: int = 0
    status: str = Field(max_length=16)
    sent_at: datetime = _ts(nullable=False)


TABLES = [
    CatalogueProduct,
    Product,
    KitComponent,
    Location,
    Stock,
    Movement,
    Channel,
    Listing,
    ListingContentState,
    Order,
    OrderLine,
    Reservation,
    IncomingStock,
    Cursor,
    WebhookReceipt,
    SyncRun,
    PushOutbox,
    Lease,
    Alert,
    AlertDelivery,
]
