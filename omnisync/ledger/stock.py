"""Stock: the movement journal and the cached on-hand and reserved it moves, written together (rule 1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, select, update

from .kits import kits_of
from .rows import MovementRow
from .statements import execute_many, execute_once, insert_ignore, insert_many, one_of
from .tables import EC, LedgerError, M, S
from .txbase import TxBase

MOVEMENT_KINDS = frozenset(
    {"receipt", "sale", "adjustment", "return", "transfer_out", "transfer_in", "inspected", "write_off"}
)
ORDER_KEY_PREFIX = "order:"


def order_movement_key(channel: str, external_id: str, line_id: str) -> str:
    """The idempotency key of the movements an order line makes (a redelivery is a no-op)."""
    return f"{ORDER_KEY_PREFIX}{channel}:{external_id}:{line_id}"


STOCK_DELTAS = (
    update(S)
    .where(and_(S.c.product_id == bindparam("p"), S.c.location_id == bindparam("l")))
    .values(on_hand=S.c.on_hand + bindparam("oh"), reserved=S.c.reserved + bindparam("rs"))
)


STOCK_OF = select(S.c.product_id, S.c.location_id, S.c.on_hand, S.c.reserved).where(
    one_of(S.c.product_id, "ids")
)


class StockWrites(TxBase):
    def _stock_delta(self, product_id: int, location_id: int, on_hand: int = 0, reserved: int = 0) -> None:
        res = self.conn.execute(
            update(S)
            .where(and_(S.c.product_id == product_id, S.c.location_id == location_id))
            .values(on_hand=S.c.on_hand + on_hand, reserved=S.c.reserved + reserved)
        )
        if not res.rowcount:
            inserted = insert_ignore(
                self.conn,
                S,
                {
                    "product_id": product_id,
                    "location_id": location_id,
                    "on_hand": on_hand,
                    "reserved": reserved,
                },
            )
            if not inserted:  # a concurrent writer created the row first
                self._stock_delta(product_id, location_id, on_hand, reserved)

    def record_movement(
        self,
        sku: str,
        location: str,
        kind: str,
        quantity: int,
        idempotency_key: str,
        *,
        at: datetime,
        reference: str | None = None,
        note: str | None = None,
        actor: str | None = None,
        batch: str | None = None,
        bucket: str | None = None,
    ) -> bool:
        """Journal one movement and apply it to ``on_hand`` (a ``bucket`` movement: to that non-sellable
        bucket only). A repeated key is a no-op (False)."""
        return self.record_movement_ids(
            self.ledger.product_id(self.conn, sku),
            self.ledger.location_id(self.conn, location),
            kind,
            quantity,
            idempotency_key,
            at=at,
            reference=reference,
            note=note,
            actor=actor,
            batch=batch,
            bucket=bucket,
        )

    def record_movement_ids(
        self,
        product_id: int,
        location_id: int,
        kind: str,
        quantity: int,
        idempotency_key: str,
        *,
        at: datetime,
        reference: str | None = None,
        note: str | None = None,
        actor: str | None = None,
        batch: str | None = None,
        bucket: str | None = None,
    ) -> bool:
        if kind not in MOVEMENT_KINDS:
            raise LedgerError(f"movement kind must be one of {sorted(MOVEMENT_KINDS)}, not {kind!r}")
        if quantity == 0:
            return False
        if kits_of(self.conn, [product_id]):
            raise LedgerError("a kit holds no stock of its own: move its components' stock instead")
        inserted = insert_ignore(
            self.conn,
            M,
            {
                "product_id": product_id,
                "location_id": location_id,
                "kind": kind,
                "quantity": quantity,
                "idempotency_key": idempotency_key,
                "reference": reference,
                "note": note,
                "created_at": at,
                "actor": actor,
                "batch": batch,
                "bucket": bucket,
            },
        )
        if inserted and bucket is None:  # a non-sellable bucket changes no on_hand and no offer
            self._stock_delta(product_id, location_id, on_hand=quantity)
            self._touch(product_id)
        return inserted

    def transfer(
        self,
        sku: str,
        source: str,
        target: str,
        quantity: int,
        key: str,
        *,
        at: datetime,
        actor: str | None = None,
    ) -> bool:
        if quantity <= 0:
            raise LedgerError("a transfer moves a positive quantity")
        if source == target:
            raise LedgerError("a transfer needs two different locations")
        done = self.record_movement(
            sku, source, "transfer_out", -quantity, f"{key}:out", at=at, reference=key, actor=actor
        )
        if done:
            self.record_movement(
                sku, target, "transfer_in", quantity, f"{key}:in", at=at, reference=key, actor=actor
            )
        return done

    def save_external_count(
        self,
        product_id: int,
        location_id: int,
        *,
        channel: str,
        quantity: int,
        details: Mapping[str, int],
        at: datetime,
    ) -> None:
        """The channel's latest count of a location it keeps itself, with its breakdown (the view
        ``explain`` shows; ``on_hand`` moves by journaled adjustments only)."""
        values = {"channel": channel, "quantity": quantity, "details": dict(details), "read_at": at}
        res = self.conn.execute(
            update(EC)
            .where(and_(EC.c.product_id == product_id, EC.c.location_id == location_id))
            .values(**values)
        )
        if not res.rowcount and not insert_ignore(
            self.conn, EC, {"product_id": product_id, "location_id": location_id, **values}
        ):  # a concurrent reader stored it first: ours is as fresh
            self.save_external_count(
                product_id, location_id, channel=channel, quantity=quantity, details=details, at=at
            )

    def insert_movements(self, rows: Sequence[MovementRow]) -> set[str]:
        """Journal movements; a repeated idempotency key is skipped. Returns the keys inserted: only
        their quantities may reach ``on_hand`` (see :meth:`apply_stock`)."""
        for row in rows:
            if row["kind"] not in MOVEMENT_KINDS:
                raise LedgerError(
                    f"movement kind must be one of {sorted(MOVEMENT_KINDS)}, not {row['kind']!r}"
                )
        found = insert_many(self.conn, M, rows, returning=("idempotency_key",), ignore_conflicts=True)
        return {str(key) for (key,) in found}

    def ensure_stock_rows(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Create the missing stock rows of these (product id, location id) pairs, at zero."""
        rows = [{"product_id": p, "location_id": lo, "on_hand": 0, "reserved": 0} for p, lo in pairs]
        insert_many(self.conn, S, rows, ignore_conflicts=True)

    def apply_stock(
        self, deltas: Mapping[tuple[int, int], tuple[int, int]], existing: Iterable[tuple[int, int]]
    ) -> None:
        """Add (on_hand, reserved) deltas per (product id, location id), in the same transaction as
        the journal rows and reservations they come from. ``existing`` names the stock rows known to
        exist (one executemany UPDATE); the others go through the insert-or-update of one row.
        """
        known = set(existing)
        batch = [
            {"p": pid, "l": lid, "oh": oh, "rs": rs}
            for (pid, lid), (oh, rs) in deltas.items()
            if (pid, lid) in known and (oh or rs)
        ]
        if batch:
            execute_many(self.conn, STOCK_DELTAS, batch)
        for (pid, lid), (oh, rs) in deltas.items():
            if (pid, lid) not in known and (oh or rs):
                self._stock_delta(pid, lid, on_hand=oh, reserved=rs)


class StockReads:
    def buckets(self, conn: Connection, product_ids: Sequence[int]) -> dict[int, dict[int, dict[str, int]]]:
        """product id -> location id -> non-sellable bucket -> units (the journal summed; see
        :mod:`omnisync.returns`). Only pairs with a bucket movement appear."""
        out: dict[int, dict[int, dict[str, int]]] = {}
        ids = list(product_ids)
        for start in range(0, len(ids), 900):
            rows = conn.execute(
                select(M.c.product_id, M.c.location_id, M.c.bucket, func.sum(M.c.quantity))
                .where(and_(M.c.product_id.in_(ids[start : start + 900]), M.c.bucket.is_not(None)))
                .group_by(M.c.product_id, M.c.location_id, M.c.bucket)
            )
            for pid, lid, bucket, units in rows:
                out.setdefault(int(pid), {}).setdefault(int(lid), {})[str(bucket)] = int(units or 0)
        return out

    def stock_for(
        self, conn: Connection, product_ids: Sequence[int]
    ) -> dict[int, dict[int, tuple[int, int]]]:
        """product id -> location id -> (on_hand, reserved)."""
        out: dict[int, dict[int, tuple[int, int]]] = {}
        ids = list(product_ids)
        if not ids:
            return out
        for pid, lid, on_hand, reserved in execute_once(conn, STOCK_OF, {"ids": ids}):
            per_location = out.get(pid)
            if per_location is None:
                per_location = out[pid] = {}
            per_location[lid] = (on_hand, reserved)
        return out
