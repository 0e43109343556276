"""Returns disposition and the non-sellable buckets (pure rules; the ledger and CLI at the edges).

A returned unit is received as **restockable** (back into the location's sellable stock), **damaged**
(into the location's damaged bucket: counted, never offered) or **to inspect** (held until someone
decides). Inspection then restocks a unit or moves it to damaged; a damaged unit leaves with a write-off.
Every step is a journal movement; a movement in a bucket never changes ``on_hand`` (what channels are
offered from), so conservation holds per bucket: on hand is the sum of the sellable movements, each
bucket the sum of its own.

A channel return comes in through order intake with its disposition: ``OrderLine.restocked`` back to
stock, ``damaged`` and ``to_inspect`` into their buckets (Shopify's reverse fulfilment dispositions,
Square's adjustments naming the refund). Use ``returns receive`` for what no channel tells (a Shopify
refund with ``NO_RESTOCK`` and no return, a web order brought back to a store).
"""

from __future__ import annotations

from dataclasses import dataclass

DAMAGED = "damaged"
INSPECT = "inspect"
BUCKETS = (DAMAGED, INSPECT)
"""Non-sellable buckets; a movement's ``bucket`` None is the sellable stock."""


@dataclass(frozen=True, slots=True)
class Move:
    kind: str
    quantity: int
    bucket: str | None
    part: str
    """Names the movement within its step (part of its idempotency key)."""


class DispositionError(ValueError):
    """A disposition that cannot be journalled (one line, for the CLI)."""


def received(restockable: int, damaged: int, inspect: int) -> list[Move]:
    """The movements of one returned batch, split by disposition."""
    if min(restockable, damaged, inspect) < 0:
        raise DispositionError("returned quantities cannot be negative")
    if restockable + damaged + inspect == 0:
        raise DispositionError("nothing returned: give --restockable, --damaged or --inspect")
    moves = [
        Move("return", restockable, None, "restock"),
        Move("return", damaged, DAMAGED, "damaged"),
        Move("return", inspect, INSPECT, "inspect"),
    ]
    return [m for m in moves if m.quantity]


def inspected(restock: int, damaged: int, waiting: int) -> list[Move]:
    """Units leave the inspection bucket: back to sellable stock or to damaged. ``waiting``: units in
    the bucket now."""
    if min(restock, damaged) < 0:
        raise DispositionError("inspected quantities cannot be negative")
    if restock + damaged == 0:
        raise DispositionError("nothing inspected: give --restock or --damaged")
    if restock + damaged > waiting:
        raise DispositionError(f"only {waiting} units wait for inspection here, not {restock + damaged}")
    moves = [
        Move("inspected", -(restock + damaged), INSPECT, "out"),
        Move("inspected", restock, None, "restock"),
        Move("inspected", damaged, DAMAGED, "damaged"),
    ]
    return [m for m in moves if m.quantity]


def written_off(quantity: int, damaged: int) -> list[Move]:
    """Damaged units leave the books (scrapped, sent back to the supplier)."""
    if quantity <= 0:
        raise DispositionError("a write-off removes a positive quantity")
    if quantity > damaged:
        raise DispositionError(f"only {damaged} damaged units here, not {quantity}")
    return [Move("write_off", -quantity, DAMAGED, "write_off")]
