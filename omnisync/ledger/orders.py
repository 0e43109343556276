"""Orders and their lines as imported from the channels."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, bindparam, select

from .intake_rows import StoredVersion
from .statements import execute_once, one_of, result_processor
from .tables import OL, C, O
from .txbase import TxBase


def _length(column: Any) -> int:
    length = getattr(column.type, "length", None)
    return int(length) if length else 1 << 30


EXTERNAL_ID_MAX = _length(O.c.external_id)
"""Longest order id, line id and channel SKU the ledger stores (intake quarantines longer ones)."""
LINE_ID_MAX = _length(OL.c.line_id)
CHANNEL_SKU_MAX = _length(OL.c.channel_sku)

ORDER_DIGESTS = select(O.c.external_id, O.c.id, O.c.digest, O.c.updated_at).where(
    and_(O.c.channel_id == bindparam("channel"), one_of(O.c.external_id, "ids"))
)


class OrderWrites(TxBase):
    def order_digests(self, channel_id: int, external_ids: Iterable[str]) -> dict[str, StoredVersion]:
        """external id -> (order id, digest, the channel's update time) of the given orders the
        ledger already holds."""
        wanted = list(dict.fromkeys(external_ids))
        if not wanted:
            return {}
        rows = execute_once(self.conn, ORDER_DIGESTS, {"channel": channel_id, "ids": wanted})
        when = result_processor(self.conn, O.c.updated_at)  # rows come as the driver gives them
        return {
            str(external_id): StoredVersion(int(oid), str(digest), when(updated_at))
            for external_id, oid, digest, updated_at in rows
        }

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
