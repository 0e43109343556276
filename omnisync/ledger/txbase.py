"""What every write of a transaction shares: the connection, and marking products changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, select, update

from .kits import kits_using
from .statements import execute_once, not_indexed, one_of
from .tables import CP, IN_CHUNK, LC, LI, C, P

if TYPE_CHECKING:
    from .repository import Ledger


MARKED: dict[str, Any] = {"dirty": True, "dirty_mark": LI.c.dirty_mark + 1}
"""What marking a listing dirty writes: the flag and a new mark, so that a plan that read the pair
before this write does not clear it (``listing.dirty_mark``; see ``ListingWrites.settle_unchanged``)."""

BUMP_VERSIONS = update(P).where(one_of(P.c.id, "ids")).values(version=P.c.version + 1)
MARK_DIRTY = (
    update(LI)
    .where(
        and_(
            # the channels named so the (channel, product) primary key finds the rows (see _mark_dirty)
            LI.c.channel_id.in_(select(C.c.id).scalar_subquery()),
            one_of(LI.c.product_id, "ids"),
            not_indexed(LI.c.dirty).is_(False),
        )
    )
    .values(**MARKED)
)


class TxBase:
    """The transaction's connection, and the version bumps and dirty marks every aggregate makes."""

    def __init__(self, ledger: Ledger, conn: Connection) -> None:
        self.ledger = ledger
        self.conn = conn

    def _touch(self, product_id: int) -> None:
        self.conn.execute(update(P).where(P.c.id == product_id).values(version=P.c.version + 1))
        self._mark_dirty(product_id)
        kits = kits_using(self.conn, [product_id])
        if kits:
            self.touch_products(kits)

    def _mark_dirty(self, product_id: int) -> None:
        # naming the channels lets the (channel, product) primary key find the rows: without them
        # this would scan every listing of the ledger
        self.conn.execute(
            update(LI)
            .where(and_(LI.c.channel_id.in_(select(C.c.id).scalar_subquery()), LI.c.product_id == product_id))
            .values(**MARKED)
        )

    def touch_products(self, product_ids: Iterable[int]) -> None:
        """One version bump per product and their listings marked dirty: two statements, compiled once.
        The kits using one of the products as a component move with them (their numbers follow)."""
        given = set(product_ids)
        ids = sorted(given | kits_using(self.conn, given))
        if ids:
            execute_once(self.conn, BUMP_VERSIONS, {"ids": ids})
            execute_once(self.conn, MARK_DIRTY, {"ids": ids})

    def touch_catalogue(self, catalogue_ids: Iterable[int]) -> None:
        """A catalogue product's content changed: its version grows and its listings are marked dirty."""
        ids = sorted(set(catalogue_ids))
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start : start + IN_CHUNK]
            self.conn.execute(update(CP).where(CP.c.id.in_(chunk)).values(version=CP.c.version + 1))
        self.mark_catalogue_dirty(ids)

    def mark_catalogue_dirty(self, catalogue_ids: Iterable[int]) -> None:
        """Re-plan these catalogue products' listings on every channel."""
        ids = sorted(set(catalogue_ids))
        for start in range(0, len(ids), IN_CHUNK):
            self.conn.execute(
                update(LC)
                .where(
                    and_(
                        LC.c.channel_id.in_(select(C.c.id).scalar_subquery()),
                        LC.c.catalogue_product_id.in_(ids[start : start + IN_CHUNK]),
                        LC.c.dirty.is_(False),
                    )
                )
                .values(dirty=True)
            )

    def mark_products_dirty(self, product_ids: Iterable[int]) -> None:
        """Re-plan these SKUs on every channel (a drop window opened or closed), and the kits using them."""
        given = set(product_ids)
        ids = sorted(given | kits_using(self.conn, given))
        for start in range(0, len(ids), 900):
            self.conn.execute(
                update(LI)
                .where(
                    # the channels named so the (channel, product) primary key is used, as in _mark_dirty
                    and_(
                        LI.c.channel_id.in_(select(C.c.id).scalar_subquery()),
                        LI.c.product_id.in_(ids[start : start + 900]),
                    )
                )
                .values(**MARKED)
            )

    def mark_all_dirty(self, channel_id: int) -> None:
        self.conn.execute(
            update(LI).where(and_(LI.c.channel_id == channel_id, LI.c.missing.is_(False))).values(**MARKED)
        )
