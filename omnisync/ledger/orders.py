"""Orders and their lines as imported from the channels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, update

from .statements import insert_many, new_id
from .tables import IN_CHUNK, OL, C, O
from .txbase import TxBase


def _length(column: Any) -> int:
    length = getattr(column.type, "length", None)
    return int(length) if length else 1 << 30


EXTERNAL_ID_MAX = _length(O.c.external_id)
"""Longest order id, line id and channel SKU the ledger stores (intake quarantines longer ones)."""
LINE_ID_MAX = _length(OL.c.line_id)
CHANNEL_SKU_MAX = _length(OL.c.channel_sku)


class OrderWrites(TxBase):
    def order_digest(self, channel_id: int, external_id: str) -> tuple[int, str] | None:
        row = self.conn.execute(
            select(O.c.id, O.c.digest).where(
                and_(O.c.channel_id == channel_id, O.c.external_id == external_id)
            )
        ).first()
        return None if row is None else (int(row.id), str(row.digest))

    def save_order(
        self,
        channel_id: int,
        external_id: str,
        *,
        status: str,
        digest: str,
        location_id: int | None,
        updated_at: datetime,
        at: datetime,
    ) -> int:
        existing = self.order_digest(channel_id, external_id)
        values = {"status": status, "digest": digest, "location_id": location_id, "updated_at": updated_at}
        if existing is None:
            return new_id(
                self.conn.execute(
                    insert(O).values(channel_id=channel_id, external_id=external_id, imported_at=at, **values)
                )
            )
        self.conn.execute(update(O).where(O.c.id == existing[0]).values(**values))
        return existing[0]

    def order_lines(self, order_id: int) -> dict[str, Any]:
        return {r.line_id: r for r in self.conn.execute(select(OL).where(OL.c.order_id == order_id))}

    def insert_order_line(self, order_id: int, line_id: str, **values: Any) -> int:
        return new_id(self.conn.execute(insert(OL).values(order_id=order_id, line_id=line_id, **values)))

    def update_order_line(self, line_pk: int, **values: Any) -> None:
        self.conn.execute(update(OL).where(OL.c.id == line_pk).values(**values))

    def order_digests(self, channel_id: int, external_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """external id -> (order id, digest) of the given orders the ledger already holds."""
        wanted = list(dict.fromkeys(external_ids))
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            q = select(O.c.external_id, O.c.id, O.c.digest).where(
                and_(O.c.channel_id == channel_id, O.c.external_id.in_(wanted[start : start + IN_CHUNK]))
            )
            found.update({r.external_id: (int(r.id), str(r.digest)) for r in self.conn.execute(q)})
        return found

    def insert_orders(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Insert new orders (one channel); returns external id -> order id."""
        found = insert_many(self.conn, O, rows, returning=("external_id", "id"))
        return {str(external_id): int(oid) for external_id, oid in found}

    def insert_order_lines_bulk(self, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[int, str], int]:
        """Insert order lines; returns (order id, line id) -> line pk."""
        found = insert_many(self.conn, OL, rows, returning=("order_id", "line_id", "id"))
        return {(int(oid), str(line_id)): int(pk) for oid, line_id, pk in found}

    def quarantined_lines(self, channel_id: int | None = None) -> list[Any]:
        q = (
            select(OL, O.c.external_id, O.c.channel_id, O.c.status, C.c.name.label("channel"))
            .join(O, O.c.id == OL.c.order_id)
            .join(C, C.c.id == O.c.channel_id)
            .where(OL.c.quarantined.is_(True))
            .order_by(OL.c.id)
        )
        if channel_id is not None:
            q = q.where(O.c.channel_id == channel_id)
        return list(self.conn.execute(q))
