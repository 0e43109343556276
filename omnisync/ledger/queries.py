"""The read-model: every report read from the ledger outside the sync itself.

The daemon's status page, the CLI, the demo's summary and the simulation's invariants read through
these functions, so no module outside :mod:`omnisync.ledger` writes SQL. Each takes an open
connection (``Ledger.read()``) and returns plain values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from .stock import ORDER_KEY_PREFIX, order_movement_key
from .tables import CP, EC, IN, IN_CHUNK, LC, LI, OL, SR, C, L, M, O, P, R, S


@dataclass(frozen=True, slots=True)
class Oversold:
    product_id: int
    sku: str
    units: int
    """Units reserved beyond what is on hand, over every location."""


def oversold(conn: Connection, limit: int | None = None) -> list[Oversold]:
    """SKUs whose reservations exceed their stock (sold more than there was), by SKU."""
    short = func.sum(S.c.reserved) - func.sum(S.c.on_hand)
    q = (
        select(P.c.id, P.c.sku, short.label("units"))
        .select_from(S.join(P, P.c.id == S.c.product_id))
        .group_by(P.c.id, P.c.sku)
        .having(short > 0)
        .order_by(P.c.sku)
    )
    if limit is not None:
        q = q.limit(limit)
    return [Oversold(int(r.id), str(r.sku), int(r.units)) for r in conn.execute(q)]


def last_order_channel(conn: Connection, product_id: int) -> int | None:
    """The channel id of the latest imported order with a line of this product."""
    last = conn.execute(
        select(O.c.channel_id)
        .select_from(OL.join(O, O.c.id == OL.c.order_id))
        .where(OL.c.product_id == product_id)
        .order_by(O.c.id.desc())
        .limit(1)
    ).scalar()
    return None if last is None else int(last)


def imported_orders(conn: Connection, channel_id: int) -> list[str]:
    """External ids of a channel's imported orders, one per stored row (a duplicate shows twice)."""
    return [str(r[0]) for r in conn.execute(select(O.c.external_id).where(O.c.channel_id == channel_id))]


def known_orders(conn: Connection, channel_id: int, external_ids: Iterable[str]) -> set[str]:
    """Which of these external order ids the ledger holds for the channel."""
    wanted = list(dict.fromkeys(external_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), IN_CHUNK):
        q = select(O.c.external_id).where(
            and_(O.c.channel_id == channel_id, O.c.external_id.in_(wanted[start : start + IN_CHUNK]))
        )
        found.update(str(r[0]) for r in conn.execute(q))
    return found


def stored_orders(conn: Connection) -> set[tuple[str, str]]:
    """(channel name, external id) of every imported order."""
    q = select(C.c.name, O.c.external_id).join(C, C.c.id == O.c.channel_id)
    return {(str(r.name), str(r.external_id)) for r in conn.execute(q)}


def order_movements(conn: Connection) -> dict[tuple[str, str, str], int]:
    """(channel name, external order id, movement kind) -> units, for the movements orders made."""
    moved: dict[tuple[str, str, str], int] = defaultdict(int)
    q = select(M.c.kind, M.c.quantity, M.c.idempotency_key, M.c.reference).where(
        M.c.idempotency_key.startswith(ORDER_KEY_PREFIX)
    )
    channels = [str(name) for name in conn.execute(select(C.c.name)).scalars()]
    for r in conn.execute(q):
        if r.reference is None:
            continue
        key, external_id = str(r.idempotency_key), str(r.reference)
        # matched against the keys each channel would build, so no separator inside a name misleads
        for channel in channels:
            if key.startswith(order_movement_key(channel, external_id, "")):
                moved[(channel, external_id, str(r.kind))] += int(r.quantity)
                break
    return dict(moved)


def order_line_report(conn: Connection) -> list[Any]:
    """Every order line with its channel, order, SKU, location and reservation (for invariants)."""
    q = (
        select(
            C.c.name.label("channel"),
            O.c.external_id,
            OL.c.id,
            OL.c.line_id,
            P.c.sku,
            L.c.code.label("location"),
            OL.c.quantity,
            OL.c.fulfilled,
            OL.c.cancelled,
            OL.c.restocked,
            OL.c.applied_fulfilled,
            OL.c.applied_restocked,
            OL.c.quarantined,
            func.coalesce(R.c.quantity, 0).label("reserved"),
        )
        .select_from(OL)
        .join(O, O.c.id == OL.c.order_id)
        .join(C, C.c.id == O.c.channel_id)
        .outerjoin(P, P.c.id == OL.c.product_id)
        .outerjoin(L, L.c.id == OL.c.location_id)
        .outerjoin(R, R.c.order_line_id == OL.c.id)
    )
    return list(conn.execute(q))


@dataclass(frozen=True, slots=True)
class StockBooks:
    """Per (SKU, location code): the cached stock and what the journal and reservations sum to."""

    stock: dict[tuple[str, str], tuple[int, int]]
    """(on_hand, reserved) as cached."""
    journal: dict[tuple[str, str], int]
    received: dict[tuple[str, str], int]
    held: dict[tuple[str, str], int]
    buckets: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(SKU, location, non-sellable bucket) -> the sum of that bucket's movements."""
    on_order: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(purchase order, SKU, location) -> units still expected."""


def stock_books(conn: Connection) -> StockBooks:
    """Everything a conservation check compares (rule 1: on_hand is the sum of the journal)."""
    skus = {int(r.id): str(r.sku) for r in conn.execute(select(P.c.id, P.c.sku))}
    codes = {int(r.id): str(r.code) for r in conn.execute(select(L.c.id, L.c.code))}
    stock = {
        (skus[r.product_id], codes[r.location_id]): (int(r.on_hand), int(r.reserved))
        for r in conn.execute(select(S.c.product_id, S.c.location_id, S.c.on_hand, S.c.reserved))
    }
    journal: dict[tuple[str, str], int] = defaultdict(int)
    received: dict[tuple[str, str], int] = defaultdict(int)
    sellable = select(M.c.product_id, M.c.location_id, M.c.kind, M.c.quantity).where(M.c.bucket.is_(None))
    for r in conn.execute(sellable):  # a non-sellable bucket's movements never reach on_hand
        key = (skus[r.product_id], codes[r.location_id])
        journal[key] += int(r.quantity)
        if r.kind == "receipt":
            received[key] += int(r.quantity)
    held: dict[tuple[str, str], int] = defaultdict(int)
    for r in conn.execute(select(R.c.product_id, R.c.location_id, R.c.quantity)):
        held[(skus[r.product_id], codes[r.location_id])] += int(r.quantity)
    buckets: dict[tuple[str, str, str], int] = defaultdict(int)
    in_buckets = select(M.c.product_id, M.c.location_id, M.c.bucket, M.c.quantity).where(
        M.c.bucket.is_not(None)
    )
    for r in conn.execute(in_buckets):
        buckets[(skus[r.product_id], codes[r.location_id], str(r.bucket))] += int(r.quantity)
    on_order = {
        (str(r.reference), skus[r.product_id], codes[r.location_id]): int(r.quantity)
        for r in conn.execute(select(IN.c.reference, IN.c.product_id, IN.c.location_id, IN.c.quantity))
    }
    return StockBooks(stock, dict(journal), dict(received), dict(held), dict(buckets), on_order)


def count_notes(conn: Connection, sku: str) -> dict[str, str]:
    """Location code -> the note of the last adjustment a channel's own count made there (an FBA read:
    its fulfillable, inbound and reserved units), for the SKU."""
    q = (
        select(L.c.code, M.c.note)
        .join(P, P.c.id == M.c.product_id)
        .join(L, L.c.id == M.c.location_id)
        .where(P.c.sku == sku, M.c.kind == "adjustment", M.c.idempotency_key.like("external:%"))
        .order_by(M.c.id)
    )
    return {str(r.code): str(r.note) for r in conn.execute(q)}


@dataclass(frozen=True, slots=True)
class ExternalCountRow:
    """A channel's latest count of a SKU in a location it keeps itself, as the channel broke it down."""

    location: str
    channel: str
    quantity: int
    details: dict[str, int]
    read_at: datetime


def external_counts(conn: Connection, sku: str) -> dict[str, ExternalCountRow]:
    """Location code -> the latest count a channel gave of the SKU there (FBA: fulfillable, inbound,
    reserved), for ``explain`` and the status page. Empty for a SKU no channel keeps."""
    q = (
        select(L.c.code, EC.c.channel, EC.c.quantity, EC.c.details, EC.c.read_at)
        .join(P, P.c.id == EC.c.product_id)
        .join(L, L.c.id == EC.c.location_id)
        .where(P.c.sku == sku)
        .order_by(L.c.code)
    )
    return {
        str(r.code): ExternalCountRow(
            str(r.code),
            str(r.channel),
            int(r.quantity),
            {str(k): int(v) for k, v in r.details.items()},
            r.read_at,
        )
        for r in conn.execute(q)
    }


def ping(conn: Connection) -> None:
    """A round trip to the database (readiness checks); raises when it does not answer."""
    conn.execute(select(1))


def sku_of(conn: Connection, product_id: int) -> str:
    return str(conn.execute(select(P.c.sku).where(P.c.id == product_id)).scalar_one())


@dataclass(frozen=True, slots=True)
class LastRun:
    kind: str
    at: datetime | None
    ok: bool | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ChannelCounts:
    pending: int
    missing: int
    listing_errors: int


def last_run(conn: Connection, channel: str) -> LastRun | None:
    """The channel's latest sync run."""
    r = conn.execute(select(SR).where(SR.c.channel == channel).order_by(SR.c.id.desc()).limit(1)).first()
    if r is None:
        return None
    return LastRun(str(r.kind), r.finished_at or r.started_at, None if r.ok is None else bool(r.ok), r.error)


def last_runs(conn: Connection, channel: str) -> dict[str, LastRun]:
    """The channel's latest run of each kind (setup, pull, push, cycle, reconcile)."""
    latest = (
        select(SR.c.kind, func.max(SR.c.id).label("id")).where(SR.c.channel == channel).group_by(SR.c.kind)
    ).subquery()
    rows = conn.execute(select(SR).join(latest, SR.c.id == latest.c.id))
    return {
        str(r.kind): LastRun(
            str(r.kind), r.finished_at or r.started_at, None if r.ok is None else bool(r.ok), r.error
        )
        for r in rows
    }


def channel_counts(conn: Connection, channel: str) -> ChannelCounts:
    """Listings waiting to be pushed, unknown to the channel, and with an error."""
    cid = conn.execute(select(C.c.id).where(C.c.name == channel)).scalar()
    if cid is None:
        return ChannelCounts(0, 0, 0)

    def count(*cond: Any) -> int:
        q = select(func.count()).select_from(LI).where(and_(LI.c.channel_id == cid, *cond))
        return int(conn.execute(q).scalar_one())

    return ChannelCounts(
        pending=count(LI.c.dirty.is_(True)),
        missing=count(LI.c.missing.is_(True)),
        listing_errors=count(LI.c.last_error.is_not(None)),
    )


@dataclass(frozen=True, slots=True)
class ListingAnswer:
    product: str
    action: str | None
    published: bool | None
    issues: tuple[str, ...]
    at: datetime | None


@dataclass(frozen=True, slots=True)
class CatalogueListings:
    """A channel's listings of catalogue products: how many it holds, shows, still has to get, and
    the channel's last answer for each one it refused or warned about."""

    on_channel: int
    published: int
    pending: int
    answers: tuple[ListingAnswer, ...]


def catalogue_listings(conn: Connection, channel: str, limit: int = 50) -> CatalogueListings:
    cid = conn.execute(select(C.c.id).where(C.c.name == channel)).scalar()
    if cid is None:
        return CatalogueListings(0, 0, 0, ())
    rows = list(
        conn.execute(
            select(
                CP.c.handle,
                LC.c.ids,
                LC.c.published,
                LC.c.dirty,
                LC.c.issues,
                LC.c.last_action,
                LC.c.answered_at,
            )
            .join(CP, CP.c.id == LC.c.catalogue_product_id)
            .where(LC.c.channel_id == cid)
            .order_by(CP.c.handle)
        )
    )
    answers = tuple(
        ListingAnswer(r.handle, r.last_action, r.published, tuple(r.issues or ()), r.answered_at)
        for r in rows
        if r.issues
    )
    return CatalogueListings(
        on_channel=sum(1 for r in rows if r.ids),
        published=sum(1 for r in rows if r.published),
        pending=sum(1 for r in rows if r.dirty),
        answers=answers[:limit],
    )


def quarantined_count(conn: Connection) -> int:
    q = select(func.count()).select_from(OL).where(OL.c.quarantined.is_(True))
    return int(conn.execute(q).scalar_one())


def recent_orders(conn: Connection, limit: int = 50) -> list[Any]:
    """The latest imported orders: channel name, external id, status, updated_at, line count."""
    q = (
        select(C.c.name, O.c.external_id, O.c.status, O.c.updated_at, func.count(OL.c.id).label("lines"))
        .join(C, C.c.id == O.c.channel_id)
        .join(OL, OL.c.order_id == O.c.id, isouter=True)
        .group_by(C.c.name, O.c.external_id, O.c.status, O.c.updated_at, O.c.id)
        .order_by(O.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(q))
