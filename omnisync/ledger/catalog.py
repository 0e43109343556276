"""The catalogue: locations, channels and products."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from .rows import ProductItem, ProductRow, join_tags, split_tags
from .statements import execute_many, insert_many, new_id
from .tables import IN_CHUNK, C, L, LedgerError, P
from .txbase import TxBase

PRODUCT_FIELDS = ("title", "barcode", "tags", "price", "currency", "active")
VERSIONED_FIELDS = frozenset({"price", "currency", "tags", "active"})
CONTENT_FIELDS = frozenset({"title", "barcode"})
"""A variant's fields its catalogue product's listings show: a change marks them dirty."""
PRODUCT_UPDATE = (
    update(P).where(P.c.id == bindparam("pid")).values(**{f: bindparam(f"v_{f}") for f in PRODUCT_FIELDS})
)


class CatalogWrites(TxBase):
    def ensure_location(self, code: str, name: str = "", kind: str = "warehouse") -> int:
        if kind not in ("warehouse", "store", "fba"):
            raise LedgerError(f"location {code}: kind must be 'warehouse', 'store' or 'fba', not {kind!r}")
        row = self.conn.execute(select(L.c.id, L.c.name, L.c.kind).where(L.c.code == code)).first()
        if row is None:
            return new_id(self.conn.execute(insert(L).values(code=code, name=name or code, kind=kind)))
        if (name and row.name != name) or row.kind != kind:
            self.conn.execute(update(L).where(L.c.id == row.id).values(name=name or row.name, kind=kind))
        return int(row.id)

    def ensure_channel(self, name: str, connector: str) -> int:
        row = self.conn.execute(select(C.c.id, C.c.connector).where(C.c.name == name)).first()
        if row is None:
            return new_id(self.conn.execute(insert(C).values(name=name, connector=connector)))
        if row.connector != connector:
            self.conn.execute(update(C).where(C.c.id == row.id).values(connector=connector))
        return int(row.id)

    def upsert_product(
        self,
        sku: str,
        *,
        title: str | None = None,
        barcode: str | None = None,
        tags: Iterable[str] | None = None,
        price: Decimal | None = None,
        currency: str | None = None,
        active: bool | None = None,
    ) -> int:
        """Create or update a product. A change of price, tags or active bumps the version."""
        if not sku or len(sku) > 128:
            raise LedgerError(f"SKU {sku!r}: must be 1 to 128 characters")
        if price is not None and price < 0:
            raise LedgerError(f"SKU {sku}: price must be ≥ 0")
        row = self.conn.execute(select(P).where(P.c.sku == sku)).first()
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = title
        if barcode is not None:
            values["barcode"] = barcode or None
        if tags is not None:
            values["tags"] = join_tags(tags)
        if price is not None:
            values["price"] = price
        if currency is not None:
            values["currency"] = currency.upper()
        if active is not None:
            values["active"] = active
        if row is None:
            pid = new_id(self.conn.execute(insert(P).values(sku=sku, version=1, **values)))
            self.ledger.cache_product(self.conn, sku, pid)
            return pid
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed:
            bump = any(k in changed for k in ("price", "currency", "tags", "active"))
            if bump:
                changed["version"] = P.c.version + 1
            self.conn.execute(update(P).where(P.c.id == row.id).values(**changed))
            if bump:
                self._mark_dirty(row.id)
            if row.parent_id is not None and CONTENT_FIELDS & changed.keys():
                self.touch_catalogue([row.parent_id])
        return int(row.id)

    def upsert_products(self, items: Sequence[ProductItem]) -> tuple[dict[str, int], set[int]]:
        """Create or update many products, set-based: each item holds ``sku`` and every field of
        PRODUCT_FIELDS (tags as a list). Returns SKU -> id and the ids of existing products whose
        price, currency, tags or active changed (the caller bumps their version with
        :meth:`touch_products`, once per product, with the stock it changes)."""
        for item in items:
            if not item["sku"] or len(item["sku"]) > 128:
                raise LedgerError(f"SKU {item['sku']!r}: must be 1 to 128 characters")
            if item["price"] < 0:
                raise LedgerError(f"SKU {item['sku']}: price must be ≥ 0")
        values: list[dict[str, Any]] = [
            {
                "sku": item["sku"],
                "title": item["title"],
                "barcode": item["barcode"] or None,
                "tags": join_tags(item["tags"]),
                "price": item["price"],
                "currency": item["currency"].upper(),
                "active": item["active"],
            }
            for item in items
        ]
        skus = [v["sku"] for v in values]
        existing: dict[str, Any] = {}
        for start in range(0, len(skus), IN_CHUNK):
            for found in self.conn.execute(select(P).where(P.c.sku.in_(skus[start : start + IN_CHUNK]))):
                existing[found.sku] = found
        fresh = [{**v, "version": 1} for v in values if v["sku"] not in existing]
        ids = {str(sku): int(pid) for sku, pid in insert_many(self.conn, P, fresh, returning=("sku", "id"))}
        changed: list[dict[str, Any]] = []
        bumped: set[int] = set()
        content: set[int] = set()
        for v in values:
            row = existing.get(v["sku"])
            if row is None:
                continue
            ids[v["sku"]] = int(row.id)
            diff = {f for f in PRODUCT_FIELDS if getattr(row, f) != v[f]}
            if diff:
                changed.append({"pid": row.id, **{f"v_{f}": v[f] for f in PRODUCT_FIELDS}})
                if diff & VERSIONED_FIELDS:
                    bumped.add(int(row.id))
                if diff & CONTENT_FIELDS and row.parent_id is not None:
                    content.add(int(row.parent_id))
        if changed:
            execute_many(self.conn, PRODUCT_UPDATE, changed)
        self.touch_catalogue(content)
        for sku, pid in ids.items():
            self.ledger.cache_product(self.conn, sku, pid)
        return ids, bumped


class CatalogReads:
    def locations(self, conn: Connection) -> dict[int, Any]:
        return {int(r.id): r for r in conn.execute(select(L))}

    def products(self, conn: Connection, skus: Sequence[str] | None = None) -> list[ProductRow]:
        q = select(P).order_by(P.c.sku)
        if skus is not None:
            q = q.where(P.c.sku.in_(list(skus)))
        return [
            ProductRow(
                r.id,
                r.sku,
                r.title,
                split_tags(r.tags),
                Decimal(r.price),
                r.currency,
                bool(r.active),
                int(r.version),
                r.barcode,
            )
            for r in conn.execute(q)
        ]
