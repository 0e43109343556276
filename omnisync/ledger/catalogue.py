"""The master catalogue: products with their content and variants, and each channel's listing of them.

A catalogue product (``catalogue_product``) holds what its variants share on every channel: title,
description, brand, condition, status, ordered images, attributes and option names. Each variant is
a ledger SKU (``product``) pointing at it with its option values. Any change to that content (or to a
variant's title, barcode, options or parent) bumps the catalogue product's ``version`` and marks its
listings (``listing_content``) dirty on every channel, in the same transaction: the level-triggered
listing pipeline then recomputes the wanted listing and sends it only if its digest moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from .rows import CatalogueItem, CatalogueRow, ListingContentRow, VariantRow, split_tags
from .tables import CP, IN_CHUNK, LC, LedgerError, P
from .txbase import TxBase

CONDITIONS = ("new", "used", "refurbished")
STATUSES = ("active", "draft", "discontinued")
CONTENT_FIELDS = ("title", "description", "brand", "condition", "status", "images", "attributes", "options")
ANSWER_FIELDS = frozenset(
    {"ids", "acked_digest", "acked_fields", "published", "issues", "last_action", "answered_at"}
)
_CONTENT_UPDATE = (
    update(CP)
    .where(CP.c.id == bindparam("cid"))
    .values(version=CP.c.version + 1, **{f: bindparam(f"v_{f}") for f in CONTENT_FIELDS})
)
_LINK_UPDATE = (
    update(P)
    .where(P.c.id == bindparam("pid"))
    .values(parent_id=bindparam("v_parent"), options=bindparam("v_opts"))
)


def check_item(item: CatalogueItem) -> None:
    """LedgerError naming the product and the field when an item breaks the catalogue's rules."""
    handle = item["handle"]
    if not handle or len(handle) > 128:
        raise LedgerError(f"product {handle!r}: the handle must be 1 to 128 characters")
    if item["condition"] not in CONDITIONS:
        raise LedgerError(f"product {handle}: condition must be one of {', '.join(CONDITIONS)}")
    if item["status"] not in STATUSES:
        raise LedgerError(f"product {handle}: status must be one of {', '.join(STATUSES)}")
    if len(set(item["options"])) != len(item["options"]):
        raise LedgerError(f"product {handle}: an option name repeats in {item['options']}")


class CatalogueWrites(TxBase):
    def upsert_catalogue(
        self, items: Sequence[CatalogueItem], links: Mapping[str, tuple[str | None, Mapping[str, str] | None]]
    ) -> set[int]:
        """Create or update catalogue products, then attach SKUs to them: ``links`` maps a SKU to
        (the handle of its product or None to detach it, its option values). Returns the ids of the
        catalogue products created or changed; their listings are marked dirty on every channel."""
        for item in items:
            check_item(item)
        handles = [item["handle"] for item in items]
        existing = {r.handle: r for r in self._rows_by(CP.c.handle, handles)}
        fresh = [
            {"handle": i["handle"], "version": 1, **{f: i[f] for f in CONTENT_FIELDS}}  # type: ignore[literal-required]
            for i in items
            if i["handle"] not in existing
        ]
        ids: dict[str, int] = {}
        if fresh:  # through SQLAlchemy, not insert_many: JSON values need the driver's adaptation
            ids = {
                str(r.handle): int(r.id)
                for r in self.conn.execute(insert(CP).returning(CP.c.handle, CP.c.id), fresh)
            }
        changed: set[int] = set(ids.values())
        updates: list[dict[str, Any]] = []
        for item in items:
            row = existing.get(item["handle"])
            if row is None:
                continue
            ids[item["handle"]] = int(row.id)
            new = {f: item[f] for f in CONTENT_FIELDS}  # type: ignore[literal-required]
            if any(getattr(row, f) != v for f, v in new.items()):
                updates.append({"cid": row.id, **{f"v_{f}": v for f, v in new.items()}})
                changed.add(int(row.id))
        if updates:
            self.conn.execute(_CONTENT_UPDATE, updates)
        moved = self._link(links, ids)
        self.touch_catalogue(moved - changed)
        self.mark_catalogue_dirty(changed)
        return changed | moved

    def _rows_by(self, column: Any, values: Sequence[Any]) -> list[Any]:
        found: list[Any] = []
        for start in range(0, len(values), IN_CHUNK):
            found.extend(
                self.conn.execute(select(column.table).where(column.in_(values[start : start + IN_CHUNK])))
            )
        return found

    def _link(
        self, links: Mapping[str, tuple[str | None, Mapping[str, str] | None]], ids: Mapping[str, int]
    ) -> set[int]:
        """Set each SKU's parent and options; the catalogue products a variant joined or left."""
        rows = {r.sku: r for r in self._rows_by(P.c.sku, list(links))}
        moved: set[int] = set()
        updates: list[dict[str, Any]] = []
        for sku, (handle, options) in links.items():
            row = rows.get(sku)
            if row is None:
                raise LedgerError(f"unknown SKU {sku!r}")
            if handle is not None and handle not in ids:
                parent = self.conn.execute(select(CP.c.id).where(CP.c.handle == handle)).scalar()
                if parent is None:
                    raise LedgerError(f"SKU {sku}: unknown product {handle!r}")
                ids = {**ids, handle: int(parent)}
            parent_id = None if handle is None else ids[handle]
            opts = dict(options) if options else None
            if row.parent_id != parent_id or (row.options or None) != opts:
                updates.append({"pid": row.id, "v_parent": parent_id, "v_opts": opts})
                moved.update(i for i in (row.parent_id, parent_id) if i is not None)
        if updates:
            self.conn.execute(_LINK_UPDATE, updates)
        return moved

    def record_listing_answer(
        self,
        channel_id: int,
        catalogue_id: int,
        *,
        keep_dirty: bool = False,
        planned_version: int | None = None,
        **values: Any,
    ) -> None:
        """The channel's answer for one listing: the fields of ``listing_content`` it sets (``ids``,
        ``acked_digest``, ``acked_fields``, ``published``, ``issues``, ``last_action``,
        ``answered_at``); the listing is no longer dirty unless ``keep_dirty`` (try again) or the
        catalogue product moved past ``planned_version`` (the version the plan read) meanwhile: that
        change is sent next."""
        unknown = set(values) - ANSWER_FIELDS
        if unknown:
            raise LedgerError(f"listing answer: unknown fields {sorted(unknown)}")
        dirty: Any = keep_dirty
        if not keep_dirty and planned_version is not None:
            dirty = select(CP.c.version).where(CP.c.id == catalogue_id).scalar_subquery() > planned_version
        self.conn.execute(
            update(LC)
            .where(and_(LC.c.channel_id == channel_id, LC.c.catalogue_product_id == catalogue_id))
            .values(dirty=dirty, **values)
        )

    def record_listing_issues(
        self, channel_id: int, catalogue_id: int, issues: Sequence[str], answered_at: datetime
    ) -> None:
        """What the channel says now about a listing it holds (read back, not pushed): its issues and
        when it said so; nothing else about the listing changes (a pending change stays pending)."""
        self.conn.execute(
            update(LC)
            .where(and_(LC.c.channel_id == channel_id, LC.c.catalogue_product_id == catalogue_id))
            .values(issues=list(issues), answered_at=answered_at)
        )

    def ensure_listing_content(self, channel_id: int, catalogue_ids: Sequence[int]) -> int:
        """A dirty listing row for each catalogue product the channel has none for yet."""
        have = {
            int(r.catalogue_product_id)
            for r in self.conn.execute(select(LC.c.catalogue_product_id).where(LC.c.channel_id == channel_id))
        }
        new = [
            {
                "channel_id": channel_id,
                "catalogue_product_id": cid,
                "ids": {},
                "acked_fields": {},
                "issues": [],
                "dirty": True,
            }
            for cid in dict.fromkeys(catalogue_ids)
            if cid not in have
        ]
        if new:
            self.conn.execute(insert(LC), new)
        return len(new)


class CatalogueReads:
    def catalogue_ids(self, conn: Connection) -> list[int]:
        return [int(i) for i in conn.execute(select(CP.c.id).order_by(CP.c.id)).scalars()]

    def catalogue(self, conn: Connection, handles: Sequence[str] | None = None) -> list[CatalogueRow]:
        """Catalogue products (all, or those named) with their variants, by handle."""
        q = select(CP).order_by(CP.c.handle)
        if handles is not None:
            q = q.where(CP.c.handle.in_(list(handles)))
        products = list(conn.execute(q))
        variants: dict[int, list[VariantRow]] = {}
        ids = [int(r.id) for r in products]
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start : start + IN_CHUNK]
            for v in conn.execute(select(P).where(P.c.parent_id.in_(chunk)).order_by(P.c.id)):
                variants.setdefault(int(v.parent_id), []).append(
                    VariantRow(
                        int(v.id),
                        v.sku,
                        v.title,
                        v.barcode,
                        dict(v.options or {}),
                        Decimal(v.price),
                        v.currency,
                        split_tags(v.tags),
                    )
                )
        return [
            CatalogueRow(
                int(r.id),
                r.handle,
                r.title,
                r.description,
                r.brand,
                r.condition,
                r.status,
                tuple(r.images or ()),
                dict(r.attributes or {}),
                tuple(r.options or ()),
                int(r.version),
                tuple(variants.get(int(r.id), ())),
            )
            for r in products
        ]

    def catalogue_of_sku(self, conn: Connection, sku: str) -> CatalogueRow | None:
        """The catalogue product SKU is a variant of (None: the SKU is outside the catalogue)."""
        handle = conn.execute(
            select(CP.c.handle).select_from(P.join(CP, P.c.parent_id == CP.c.id)).where(P.c.sku == sku)
        ).scalar()
        if handle is None:
            return None
        return self.catalogue(conn, [handle])[0]

    def awaiting_listing(self, conn: Connection, channel_id: int, product_ids: Sequence[int]) -> set[int]:
        """The SKUs (product ids) among ``product_ids`` that are variants of a catalogue product the
        channel has no listing of yet: the listing job has still to create it."""
        on = and_(LC.c.catalogue_product_id == P.c.parent_id, LC.c.channel_id == channel_id)
        waiting: set[int] = set()
        for start in range(0, len(product_ids), IN_CHUNK):
            q = (
                select(P.c.id, LC.c.ids)
                .select_from(P.outerjoin(LC, on))
                .where(P.c.id.in_(list(product_ids[start : start + IN_CHUNK])), P.c.parent_id.is_not(None))
            )
            waiting.update(int(r.id) for r in conn.execute(q) if not r.ids)
        return waiting

    def listing_contents(self, conn: Connection, channel_id: int) -> dict[int, ListingContentRow]:
        """The channel's listings of catalogue products, by catalogue product id."""
        return {
            int(r.catalogue_product_id): ListingContentRow(
                int(r.channel_id),
                int(r.catalogue_product_id),
                dict(r.ids or {}),
                r.acked_digest,
                dict(r.acked_fields or {}),
                r.published,
                bool(r.dirty),
                tuple(r.issues or ()),
                r.last_action,
                r.answered_at,
            )
            for r in conn.execute(select(LC).where(LC.c.channel_id == channel_id))
        }
