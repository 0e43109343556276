"""Reading the movement journal for ``omnisync history`` and ``omnisync undo``, and journalling an undo.

The rules (what may be undone, what an undo leaves) are :mod:`omnisync.audit`'s; this module reads the
movements a target names and writes the compensations in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, distinct, func, select

from omnisync.audit import Journalled, UndoPlan, plan_undo

from .repository import Ledger, LedgerError, LedgerTx
from .tables import L, M, P

_COLUMNS = (
    M.c.id,
    P.c.sku,
    L.c.code,
    M.c.kind,
    M.c.quantity,
    M.c.product_id,
    M.c.location_id,
    M.c.batch,
    M.c.reference,
)


def _select() -> Any:
    return select(*_COLUMNS).select_from(
        M.join(P, P.c.id == M.c.product_id).join(L, L.c.id == M.c.location_id)
    )


def history(conn: Connection, sku: str, limit: int = 50) -> list[dict[str, Any]]:
    """The SKU's movements, newest first: when, where, what, how many, who, and what they belong to."""
    rows = conn.execute(
        select(
            M.c.id,
            M.c.created_at,
            L.c.code,
            M.c.kind,
            M.c.quantity,
            M.c.actor,
            M.c.batch,
            M.c.reference,
            M.c.note,
            M.c.bucket,
        )
        .select_from(M.join(P, P.c.id == M.c.product_id).join(L, L.c.id == M.c.location_id))
        .where(P.c.sku == sku)
        .order_by(M.c.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "at": r.created_at,
            "location": r.code,
            "kind": r.kind,
            "quantity": r.quantity,
            "actor": r.actor,
            "batch": r.batch,
            "reference": r.reference,
            "note": r.note,
            "bucket": r.bucket,
        }
        for r in rows
    ]


def target_movements(conn: Connection, target: str) -> list[Journalled]:
    """The movements ``target`` names: an import (``import-...``) or one movement id (both legs of a
    transfer). Raises LedgerError naming what was not found."""
    if target.isdigit():
        found = conn.execute(_select().where(M.c.id == int(target))).first()
        if found is None:
            raise LedgerError(f"no movement {target} in the journal (see `omnisync history SKU`)")
        first = Journalled(*found)
        if first.kind in ("transfer_out", "transfer_in") and first.reference:
            rows = conn.execute(
                _select()
                .where(and_(M.c.reference == first.reference, M.c.kind.in_(("transfer_out", "transfer_in"))))
                .order_by(M.c.id)
            ).all()
            return [Journalled(*r) for r in rows]
        return [first]
    rows = conn.execute(_select().where(M.c.batch == target).order_by(M.c.id)).all()
    if not rows:
        raise LedgerError(f"no import or movement {target!r} in the journal")
    return [Journalled(*r) for r in rows]


def undo_generation(conn: Connection, import_id: str) -> int:
    """How many imports of this content were undone (``import-<digest>`` and its ``-N`` repeats)."""
    found = conn.execute(
        select(func.count(distinct(M.c.batch))).where(M.c.batch.like(f"undo-{import_id}%"))
    ).scalar()
    return int(found or 0)


def undone(conn: Connection, ids: list[int]) -> set[int]:
    """Which of these movements an undo has compensated already."""
    keys = {f"undo:{i}": i for i in ids}
    found = conn.execute(select(M.c.idempotency_key).where(M.c.idempotency_key.in_(list(keys))))
    return {keys[k] for (k,) in found}


def undo(ledger: Ledger, tx: LedgerTx, target: str, *, actor: str, at: datetime) -> UndoPlan:
    """Plan the undo of ``target`` and, if nothing refuses it, journal the compensations in ``tx``."""
    movements = target_movements(tx.conn, target)
    pids = sorted({m.product_id for m in movements})
    stock = {
        (pid, lid): levels
        for pid, per_location in ledger.stock_for(tx.conn, pids).items()
        for lid, levels in per_location.items()
    }
    plan = plan_undo(movements, stock, undone(tx.conn, [m.id for m in movements]))
    for c in plan.compensations:
        tx.record_movement_ids(
            c.undoes.product_id,
            c.undoes.location_id,
            "adjustment",
            c.quantity,
            c.key,
            at=at,
            reference=f"undo of movement {c.undoes.id}",
            note=f"undo {target}",
            actor=actor,
            batch=f"undo-{target}"[:64],
        )
    return plan
