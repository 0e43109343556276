"""Who made a movement, and how one is undone (pure rules; the ledger reads and writes at the edges).

Every journal movement names its ``actor``: ``cli:<user>`` for a stock command or an import run from
the command line, ``channel:<name>`` for what intake took from a channel's orders, ``demo`` or
``simulation`` for their own seeding. An import's movements also share a ``batch``
(``import-<digest>``), the id ``omnisync undo`` takes back.

Undo never deletes: it journals compensating adjustments (the opposite quantity, keyed by the
movement undone, so undoing twice changes nothing) and is refused, whole, where it would leave a
location with fewer units on hand than its open orders reserve, or would take back what an order
did (a sale or a return comes from the channel: cancel or refund the order there instead).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

UNDOABLE = frozenset({"receipt", "adjustment", "transfer_out", "transfer_in"})
"""Movements a person made; sales and returns follow orders and are changed through them."""
ACTOR_ENV = "OMNISYNC_ACTOR"


def cli_actor() -> str:
    """The person at the command line: ``$OMNISYNC_ACTOR`` if set (a CI job, a shared account), else
    the login name."""
    named = os.environ.get(ACTOR_ENV, "").strip()
    if named:
        return f"cli:{named}"[:120]
    try:
        return f"cli:{getpass.getuser()}"[:120]
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        return "cli:unknown"


def channel_actor(channel: str) -> str:
    return f"channel:{channel}"[:120]


def import_batch(digest: str, generation: int = 0) -> str:
    """The id of an import: the file's content, and how many times an import of that content was undone
    before (so the same file imported again after an undo is a new import, not a repeat)."""
    base = f"import-{digest[:16]}"
    return f"{base}-{generation}" if generation else base


@dataclass(frozen=True, slots=True)
class Journalled:
    """A movement as undo sees it."""

    id: int
    sku: str
    location: str
    kind: str
    quantity: int
    product_id: int
    location_id: int
    batch: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Compensation:
    undoes: Journalled
    quantity: int

    @property
    def key(self) -> str:
        return f"undo:{self.undoes.id}"


@dataclass(frozen=True, slots=True)
class UndoPlan:
    compensations: tuple[Compensation, ...] = ()
    refusals: tuple[str, ...] = ()
    already: tuple[int, ...] = ()
    """Movements undone before (nothing more to do for them)."""


def plan_undo(
    movements: Sequence[Journalled],
    stock: Mapping[tuple[int, int], tuple[int, int]],
    undone: Iterable[int],
) -> UndoPlan:
    """The compensating movements that take ``movements`` back, or why not.

    ``stock``: (product id, location id) -> (on hand, reserved) now; ``undone``: ids of movements
    already compensated. Refused whole when a movement is not one a person made, or when the stock
    left at any location would be below what is reserved there.
    """
    done = set(undone)
    todo = [m for m in movements if m.id not in done]
    already = tuple(sorted(m.id for m in movements if m.id in done))
    refusals = [
        f"movement {m.id} is a {m.kind} of {m.sku} at {m.location} made by an order "
        f"({m.reference or 'no reference'}): cancel or refund the order on its channel instead"
        for m in todo
        if m.kind not in UNDOABLE
    ]
    left: dict[tuple[int, int], int] = {}
    for m in todo:
        pair = (m.product_id, m.location_id)
        left[pair] = left.get(pair, stock.get(pair, (0, 0))[0]) - m.quantity
    names = {(m.product_id, m.location_id): (m.sku, m.location) for m in todo}
    for pair, on_hand in sorted(left.items()):
        reserved = stock.get(pair, (0, 0))[1]
        if on_hand < max(reserved, 0):
            sku, location = names[pair]
            below = f"below the {reserved} reserved by open orders" if reserved > 0 else "below zero"
            refusals.append(f"{sku} at {location}: undoing would leave {on_hand} on hand, {below}")
    if refusals:
        return UndoPlan(refusals=tuple(refusals), already=already)
    return UndoPlan(tuple(Compensation(m, -m.quantity) for m in todo), already=already)
