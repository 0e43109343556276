"""Listings: what each channel holds for each product, and whether it must be re-planned."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    true,
    update,
)

from .kits import has_kits, sharing_with
from .rows import ListingRow, split_tags
from .statements import execute_many, execute_once, one_of, result_processor
from .tables import IN_CHUNK, LI, P
from .txbase import MARKED, TxBase

if TYPE_CHECKING:
    from omnisync.engine.listing_state import Acknowledged, Observed, Shifted


OBSERVED_AT = select(LI.c.product_id, LI.c.observed_at).where(
    and_(
        LI.c.channel_id == bindparam("channel"),
        one_of(LI.c.product_id, "ids"),
        LI.c.observed_at.is_not(None),
    )
)
ACKED_AT = select(LI.c.product_id, LI.c.acked_at).where(
    and_(
        LI.c.channel_id == bindparam("channel"),
        one_of(LI.c.product_id, "ids"),
        LI.c.acked_at.is_not(None),
    )
)
SHIFT = (
    update(LI)
    .where(and_(LI.c.channel_id == bindparam("c"), LI.c.product_id == bindparam("p")))
    .where(LI.c.acked_quantity.is_not(None))
    .values(acked_quantity=LI.c.acked_quantity - bindparam("n"))
)

SETTLE = (
    update(LI)
    .where(
        and_(
            LI.c.channel_id == bindparam("c"),
            LI.c.product_id == bindparam("p"),
            LI.c.dirty_mark == bindparam("m"),
        )
    )
    .values(dirty=select(P.c.version).where(P.c.id == bindparam("p")).scalar_subquery() > bindparam("v"))
)
"""Nothing to push for a pair planned at version ``v`` with dirty mark ``m``: dirty only if the product
moved since; left alone if the pair was marked again since (that mark asks for another plan)."""


class ListingWrites(TxBase):
    _no_kits: bool | None = None
    """Whether the ledger defines no kit (None: not asked yet in this transaction)."""

    def ensure_listings(self, channel_id: int, aliases: Mapping[str, str]) -> None:
        """Give every product a listing on the channel, named by its alias there (``aliases``: master
        SKU -> channel SKU) or else its master SKU.

        Set-based: one ``INSERT ... SELECT`` creates the missing listings and the renames touch only
        the listings named otherwise than the mapping says, found by SQL (a listing named apart from
        its SKU, or an aliased master's), so start-up memory does not grow with the catalogue. A
        renamed listing forgets the channel's ids and is planned again, as a new one is.
        """
        known = select(LI.c.product_id).where(and_(LI.c.channel_id == channel_id, LI.c.product_id == P.c.id))
        self.conn.execute(
            insert(LI).from_select(
                ["channel_id", "product_id", "channel_sku", "ids", "dirty", "missing"],
                select(
                    literal(channel_id, LI.c.channel_id.type),
                    P.c.id,
                    P.c.sku,
                    literal({}, LI.c.ids.type),
                    true(),
                    false(),
                ).where(~exists(known)),
            )
        )
        named = select(LI.c.product_id, LI.c.channel_sku, P.c.sku).join(P, P.c.id == LI.c.product_id)
        named = named.where(LI.c.channel_id == channel_id)
        found = list(self.conn.execute(named.where(LI.c.channel_sku != P.c.sku)))
        masters = sorted(aliases)
        for start in range(0, len(masters), IN_CHUNK):
            found += self.conn.execute(named.where(P.c.sku.in_(masters[start : start + IN_CHUNK])))
        renames = {
            int(r.product_id): wanted for r in found if (wanted := aliases.get(r.sku, r.sku)) != r.channel_sku
        }
        if renames:
            self.conn.execute(
                update(LI)
                .where(and_(LI.c.channel_id == channel_id, LI.c.product_id == bindparam("p")))
                .values(channel_sku=bindparam("name"), ids={}, missing=False, **MARKED),
                [{"p": pid, "name": name} for pid, name in renames.items()],
            )

    def set_listing_ids(
        self, channel_id: int, product_id: int, ids: Mapping[str, str] | None, *, mark: int | None = None
    ) -> None:
        """The channel's ids for the pair (None: the channel does not know the SKU, which takes it out
        of planning). A "not known" found by a read made for a plan that read dirty mark ``mark`` is
        not written if the pair was marked since: its listing may have been created meanwhile (the
        listing job gives it ids and marks it), and the read came before."""
        values: dict[str, Any] = (
            {"ids": dict(ids), "missing": False, "last_error": None}
            if ids is not None
            else {"missing": True, "last_error": "the channel does not know this SKU", "dirty": False}
        )
        where = and_(LI.c.channel_id == channel_id, LI.c.product_id == product_id)
        if ids is None and mark is not None:
            where = and_(where, LI.c.dirty_mark == mark)
        if self.conn.execute(update(LI).where(where).values(**values)).rowcount:
            self._mark_sharing(channel_id, product_id)

    def _mark_sharing(self, channel_id: int, product_id: int) -> None:
        """The product is listed on the channel now, or missing there: the listings sharing a component
        with it there are re-planned (their shares change: :func:`~omnisync.ledger.kits.sharing_with`)."""
        if self._no_kits is None:  # asked once per transaction: discovery sets many pairs in one
            self._no_kits = not has_kits(self.conn)
        others = set() if self._no_kits else sharing_with(self.conn, product_id)
        if others:
            self.conn.execute(
                update(LI)
                .where(and_(LI.c.channel_id == channel_id, LI.c.product_id.in_(sorted(others))))
                .values(**MARKED)
            )

    def rename_listing(
        self, channel_id: int, product_id: int, channel_sku: str, ids: Mapping[str, str]
    ) -> None:
        """The channel lists the product under ``channel_sku`` (an alias just added) with ``ids``."""
        self.conn.execute(
            update(LI)
            .where(and_(LI.c.channel_id == channel_id, LI.c.product_id == product_id))
            .values(channel_sku=channel_sku, ids=dict(ids), missing=False, last_error=None, **MARKED)
        )
        self._mark_sharing(channel_id, product_id)

    def acknowledge(self, channel_id: int, product_id: int, change: Acknowledged) -> None:
        """Save what the channel accepted (:func:`omnisync.engine.listing_state.pushed`). Dirty is
        cleared only if the product did not change since the version the value was planned from."""
        values: dict[str, Any] = {
            "acked_at": change.at,
            "last_error": None,
            "acked_version": change.settled_at,
        }
        if change.quantity is not None and change.since is not None:
            values["acked_quantity"] = case(
                (LI.c.acked_quantity.is_(None), change.quantity),
                else_=LI.c.acked_quantity + (change.quantity - change.since),
            )
        elif change.quantity is not None:
            values["acked_quantity"] = change.quantity
        if change.quantity is not None and change.overwrote:
            values["observed_at"] = change.at
        if change.price is not None:
            values["acked_price"] = change.price
        if change.available is not None:
            values["acked_available"] = change.available
        if change.preorder is not None:
            values["acked_preorder"] = change.preorder
        if change.settled_at is None:
            self._update(channel_id, product_id, values | MARKED)
        else:
            self._settle(channel_id, product_id, change.settled_at, change.mark, values)

    def forget_acknowledged(self, channel_id: int, product_id: int, error: str, *, at: datetime) -> None:
        """What the channel holds is unknown (a push may or may not have landed): no compare value, so
        the next plan sends the offer whatever it is, and the pair is marked to be planned."""
        values: dict[str, Any] = {"acked_quantity": None, "last_error": error[:500], "last_error_at": at}
        self._update(channel_id, product_id, values | MARKED)

    def listing_error(
        self,
        channel_id: int,
        product_id: int,
        error: str,
        *,
        at: datetime,
        keep_dirty: bool,
        mark: int | None = None,
    ) -> None:
        """The channel refused or deferred the pair's push. ``keep_dirty``: plan it again; otherwise
        dirty is cleared unless the pair was marked since the plan read ``mark`` (when given)."""
        values: dict[str, Any] = {"last_error": error[:500], "last_error_at": at}
        if keep_dirty:
            values |= MARKED
        else:
            values["dirty"] = (
                false() if mark is None else case((LI.c.dirty_mark == mark, false()), else_=LI.c.dirty)
            )
        self._update(channel_id, product_id, values)

    def settle_unchanged(self, channel_id: int, pairs: Sequence[tuple[int, int, int]]) -> None:
        """Nothing to push for these (product id, planned version, dirty mark read) pairs of the
        channel: dirty cleared unless the SKU moved or the pair was marked again meanwhile. One
        prepared statement stepped per pair (a plan settles only the pairs it read dirty: see
        :data:`omnisync.engine.planner.ChunkPlan`)."""
        rows = [{"c": channel_id, "p": pid, "v": version, "m": mark} for pid, version, mark in pairs]
        execute_many(self.conn, SETTLE, rows)

    def _settle(
        self, channel_id: int, product_id: int, planned_version: int, mark: int | None, values: dict[str, Any]
    ) -> None:
        """Write ``values``; dirty cleared unless the product moved past ``planned_version`` or the pair
        was marked since the plan read ``mark`` (an unknown mark leaves dirty as it is)."""
        version_now = select(P.c.version).where(P.c.id == product_id).scalar_subquery()
        values["dirty"] = (
            LI.c.dirty
            if mark is None
            else case((LI.c.dirty_mark == mark, version_now > planned_version), else_=LI.c.dirty)
        )
        self._update(channel_id, product_id, values)

    def _update(self, channel_id: int, product_id: int, values: dict[str, Any]) -> None:
        self.conn.execute(
            update(LI)
            .where(and_(LI.c.channel_id == channel_id, LI.c.product_id == product_id))
            .values(**values)
        )

    def observe(self, channel_id: int, product_id: int, change: Observed) -> None:
        """What the channel really shows (:func:`omnisync.engine.listing_state.observed`) becomes the
        compare value, with the time of the read; the pair is planned again."""
        self._update(
            channel_id,
            product_id,
            {"acked_quantity": change.quantity, "observed_at": change.at, **MARKED},
        )

    def observed_at(self, channel_id: int, product_ids: Iterable[int]) -> dict[int, datetime]:
        """When each pair's acknowledged quantity was last read live (pairs never read are absent)."""
        return self._times(OBSERVED_AT, LI.c.observed_at, channel_id, product_ids)

    def acked_at(self, channel_id: int, product_ids: Iterable[int]) -> dict[int, datetime]:
        """When the channel last acknowledged a push of each pair (pairs never pushed are absent)."""
        return self._times(ACKED_AT, LI.c.acked_at, channel_id, product_ids)

    def _times(
        self, statement: Any, column: Any, channel_id: int, product_ids: Iterable[int]
    ) -> dict[int, datetime]:
        ids = list(set(product_ids))
        if not ids:
            return {}
        rows = execute_once(self.conn, statement, {"channel": channel_id, "ids": ids})
        if not rows:
            return {}
        as_time = result_processor(self.conn, column)
        return {product_id: as_time(at) for product_id, at in rows}

    def shift(self, channel_id: int, change: Shifted) -> None:
        """The channel lowered its own quantity for orders it took: so does our record of it
        (:func:`omnisync.engine.listing_state.imported`). A pair never acknowledged stays unknown."""
        rows = [{"c": channel_id, "p": pid, "n": n} for pid, n in change.taken.items() if n]
        execute_many(self.conn, SHIFT, rows)


class ListingReads:
    def listings(
        self,
        conn: Connection,
        channel_id: int,
        *,
        dirty_only: bool = False,
        product_ids: Sequence[int] | None = None,
        channel_skus: Sequence[str] | None = None,
        limit: int | None = None,
        after_product_id: int | None = None,
    ) -> list[ListingRow]:
        q = (
            select(
                LI,
                P.c.sku,
                P.c.tags,
                P.c.price,
                P.c.currency,
                P.c.active,
                P.c.version,
            )
            .join(P, P.c.id == LI.c.product_id)
            .where(LI.c.channel_id == channel_id)
            .order_by(LI.c.product_id)
        )
        if dirty_only:
            q = q.where(LI.c.dirty.is_(True))
        if product_ids is not None:
            q = q.where(LI.c.product_id.in_(list(product_ids)))
        if channel_skus is not None:
            q = q.where(LI.c.channel_sku.in_(list(channel_skus)))
        if after_product_id is not None:
            q = q.where(LI.c.product_id > after_product_id)
        if limit is not None:
            q = q.limit(limit)
        return [
            ListingRow(
                channel_id=int(r.channel_id),
                product_id=int(r.product_id),
                sku=r.sku,
                channel_sku=r.channel_sku,
                ids=r.ids or {},
                acked_quantity=r.acked_quantity,
                acked_price=None if r.acked_price is None else Decimal(r.acked_price),
                acked_available=r.acked_available,
                acked_version=r.acked_version,
                dirty=bool(r.dirty),
                missing=bool(r.missing),
                last_error=r.last_error,
                tags=split_tags(r.tags),
                price=Decimal(r.price),
                currency=r.currency,
                active=bool(r.active),
                version=int(r.version),
                acked_preorder=r.acked_preorder,
                dirty_mark=int(r.dirty_mark),
            )
            for r in conn.execute(q)
        ]

    def dirty_product_ids(self, conn: Connection, channel_ids: Sequence[int]) -> list[int]:
        """Products with a dirty listing on any of ``channel_ids``, in id order."""
        # no ORDER BY in SQL: without statistics SQLite would rather walk a whole channel's primary
        # key in product order than sort the few rows the dirty index finds
        q = select(LI.c.product_id).where(and_(LI.c.channel_id.in_(list(channel_ids)), LI.c.dirty.is_(True)))
        with conn.execute(q) as result:  # integers: straight from the cursor, no Row per listing
            return sorted({pid for (pid,) in result.cursor.fetchall()})

    def dirty_count(self, conn: Connection, channel_id: int) -> int:
        return int(
            conn.execute(
                select(func.count())
                .select_from(LI)
                .where(and_(LI.c.channel_id == channel_id, LI.c.dirty.is_(True)))
            ).scalar_one()
        )
