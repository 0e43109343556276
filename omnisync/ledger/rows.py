"""Typed rows the ledger returns to its readers and takes from its writers, and the tag codec."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NotRequired, TypedDict


@dataclass(frozen=True, slots=True)
class ProductRow:
    id: int
    sku: str
    title: str
    tags: tuple[str, ...]
    price: Decimal
    currency: str
    active: bool
    version: int
    barcode: str | None = None


@dataclass(frozen=True, slots=True)
class ListingRow:
    channel_id: int
    product_id: int
    sku: str
    channel_sku: str
    ids: Mapping[str, str]
    acked_quantity: int | None
    acked_price: Decimal | None
    acked_available: bool | None
    acked_version: int | None
    dirty: bool
    missing: bool
    last_error: str | None
    tags: tuple[str, ...]
    price: Decimal
    currency: str
    active: bool
    version: int
    acked_preorder: str | None = None
    """The preorder signal the channel last accepted (``Preorder.key``; "" or None: none)."""
    dirty_mark: int = 0
    """``listing.dirty_mark`` as read: a plan of this row settles it only if the mark is unchanged."""


@dataclass(frozen=True, slots=True)
class VariantRow:
    """A SKU as a variant of a catalogue product."""

    id: int
    sku: str
    title: str
    barcode: str | None
    options: Mapping[str, str]
    price: Decimal
    currency: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    """A catalogue product with its variants (in the order they were added)."""

    id: int
    handle: str
    title: str
    description: str
    brand: str
    condition: str
    status: str
    images: tuple[str, ...]
    attributes: Mapping[str, str]
    options: tuple[str, ...]
    version: int
    variants: tuple[VariantRow, ...]


@dataclass(frozen=True, slots=True)
class ListingContentRow:
    """What one channel holds of one catalogue product's listing, as far as the ledger knows."""

    channel_id: int
    catalogue_product_id: int
    ids: Mapping[str, str]
    acked_digest: str | None
    acked_fields: Mapping[str, str]
    published: bool | None
    dirty: bool
    issues: tuple[str, ...]
    last_action: str | None
    answered_at: datetime | None


class CatalogueItem(TypedDict):
    """A catalogue product as :meth:`~omnisync.ledger.catalogue.CatalogueWrites.upsert_catalogue`
    takes it."""

    handle: str
    title: str
    description: str
    brand: str
    condition: str
    status: str
    images: list[str]
    attributes: dict[str, str]
    options: list[str]


class ProductItem(TypedDict):
    """A product as :meth:`~omnisync.ledger.catalog.CatalogWrites.upsert_products` takes it."""

    sku: str
    title: str
    barcode: str | None
    tags: Sequence[str]
    price: Decimal
    currency: str
    active: bool


class MovementRow(TypedDict):
    """A journal entry as :meth:`~omnisync.ledger.stock.StockWrites.insert_movements` takes it."""

    product_id: int
    location_id: int
    kind: str
    quantity: int
    idempotency_key: str
    reference: str | None
    note: str | None
    created_at: datetime
    actor: str | None
    """Who or what made it (:mod:`omnisync.audit`)."""
    batch: str | None
    """The import or undo it belongs to."""
    bucket: NotRequired[str | None]
    """A non-sellable bucket (:mod:`omnisync.returns`); absent or None: sellable stock."""


class OutboxItem(TypedDict):
    """One inventory update of a push batch, written before it is sent (the push outbox)."""

    product_id: int
    sku: str
    channel_sku: str
    quantity: int
    previous: int | None
    version: int
    key: str
    ids: dict[str, str]
    location: str | None
    available: bool | None
    preorder: NotRequired[str]
    """``Preorder.key`` ("" or absent: none; absent in batches written before preorders)."""
    preorder_changed: NotRequired[bool]


class RunResult(TypedDict):
    """How a run (a cycle or a reconcile of one channel) ended, for ``sync_run``."""

    finished_at: datetime
    ok: bool
    orders_imported: int
    lines_quarantined: int
    items_planned: int
    items_pushed: int
    accepted: int
    rejected: int
    retried: int
    drift: int
    api_calls: int
    throttled: int
    error: str | None


def split_tags(raw: str | None) -> tuple[str, ...]:
    return tuple(t for t in (raw or "").split(",") if t)


def join_tags(tags: Iterable[str]) -> str:
    return ",".join(sorted({t.strip().lower() for t in tags if t.strip()}))
