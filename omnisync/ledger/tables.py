"""The ledger's tables as SQLAlchemy Core objects, shared by the aggregate modules."""

from __future__ import annotations

from .models import (
    Alert,
    AlertDelivery,
    CatalogueProduct,
    Channel,
    Cursor,
    ExternalCount,
    IncomingStock,
    KitComponent,
    Lease,
    Listing,
    ListingContentState,
    Location,
    Movement,
    Order,
    OrderLine,
    Product,
    PushOutbox,
    Reservation,
    Stock,
    SyncRun,
    WebhookReceipt,
)

P = Product.__table__  # type: ignore[attr-defined]
L = Location.__table__  # type: ignore[attr-defined]
S = Stock.__table__  # type: ignore[attr-defined]
M = Movement.__table__  # type: ignore[attr-defined]
R = Reservation.__table__  # type: ignore[attr-defined]
C = Channel.__table__  # type: ignore[attr-defined]
LI = Listing.__table__  # type: ignore[attr-defined]
O = Order.__table__  # type: ignore[attr-defined]  # noqa: E741
OL = OrderLine.__table__  # type: ignore[attr-defined]
CU = Cursor.__table__  # type: ignore[attr-defined]
W = WebhookReceipt.__table__  # type: ignore[attr-defined]
SR = SyncRun.__table__  # type: ignore[attr-defined]
LE = Lease.__table__  # type: ignore[attr-defined]
IN = IncomingStock.__table__  # type: ignore[attr-defined]
PO = PushOutbox.__table__  # type: ignore[attr-defined]
AL = Alert.__table__  # type: ignore[attr-defined]
AD = AlertDelivery.__table__  # type: ignore[attr-defined]
CP = CatalogueProduct.__table__  # type: ignore[attr-defined]
LC = ListingContentState.__table__  # type: ignore[attr-defined]
KC = KitComponent.__table__  # type: ignore[attr-defined]
EC = ExternalCount.__table__  # type: ignore[attr-defined]

IN_CHUNK = 900
"""Values per IN list (SQLite's historic limit is 999 bound parameters)."""


class LedgerError(ValueError):
    """A write the ledger refuses (unknown SKU or location, bad quantity)."""
