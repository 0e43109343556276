"""What a channel holds for a listing, and every rule that moves our record of it.

The ledger keeps, per (channel, product), the quantity the channel acknowledged (``acked_quantity``,
the compare value of the next push), when that value was last read live (``observed_at``) and the
product version it was settled at. Three things move it, each a pure transition here that returns
the change for the repository to save (:meth:`~omnisync.ledger.listings.ListingWrites.save_state`):

- :func:`pushed` — the channel answered a push (ARCHITECTURE: race-safe pushes);
- :func:`imported` — an order the channel took itself lowered (or a return raised) its count;
- :func:`observed` — a live read, the truth that replaces the compare value.

No other module computes the state; the pusher, the stale path, intake and reconcile call these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from omnisync.sdk.models import Decrements, ItemResult, Order, OrderLine, preorder_key

if TYPE_CHECKING:
    from .planner import PlannedItem

REFLECTION_MARGIN = timedelta(seconds=5)
"""An order placed this close to a live read may already be in it (the platforms' clocks and ours
differ by this much at most, in practice well under a second)."""


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """The channel accepted a value: save it as what the channel holds.

    ``settled_at`` is the product version the value was planned from and ``mark`` the pair's dirty
    mark the plan read (``listing.dirty_mark``): the listing stops being dirty unless the product
    changed or the pair was marked since. ``None`` means the value is the channel's own (not what was
    planned), so the pair is planned again whatever the version.
    """

    at: datetime
    settled_at: int | None
    mark: int | None = None
    quantity: int | None = None
    since: int | None = None
    """Set for a verified push: the channel held this just before taking ``quantity``, so the saved
    value moves by the difference and a sale imported while the push was in flight stays counted."""
    price: Decimal | None = None
    available: bool | None = None
    preorder: str | None = None
    """The preorder signal the push carried (``Preorder.key``, "" for none); None: leave as is."""
    overwrote: bool = False
    """An absolute quantity on a channel that cannot compare-and-set or verify: whatever the channel
    held is gone, its own sales before ``at`` included, so ``at`` counts as a live read
    (``listing.observed_at``): importing those sales later must not lower the record again."""


@dataclass(frozen=True, slots=True)
class Observed:
    """A live read: the value becomes the compare value, the read time is kept, the pair re-planned."""

    quantity: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Shifted:
    """Orders the channel took itself: product id -> units it took off (negative: put back)."""

    taken: Mapping[int, int]


def pushed(item: PlannedItem, result: ItemResult, *, verified: bool, at: datetime) -> Acknowledged:
    """An accepted quantity push. The channel may answer the value it now holds; when that differs from
    the one planned, it is recorded as the channel's own and the pair re-planned."""
    value = int(result.value) if result.value is not None else item.quantity
    exact = value == item.quantity
    return Acknowledged(
        at=at,
        settled_at=item.version if exact else None,
        mark=item.mark,
        quantity=value,
        available=item.available,
        preorder=preorder_key(item.preorder),
        since=item.previous if verified and exact else None,
        overwrote=not verified,
    )


def price_pushed(item: PlannedItem, *, at: datetime) -> Acknowledged:
    """An accepted price push: settled at the planned version."""
    return Acknowledged(at=at, settled_at=item.version, mark=item.mark, price=item.price)


def replayed(value: int, *, at: datetime) -> Acknowledged:
    """A batch re-sent after a restart answered ``value``: the channel's own, re-planned."""
    return Acknowledged(at=at, settled_at=None, quantity=value)


def observed(value: int | None, *, at: datetime) -> Observed:
    """A live read of the channel's quantity (``None``: the channel tracks none)."""
    return Observed(quantity=value, at=at)


class LineBefore(Protocol):
    """The numbers of an order line as the ledger last applied them."""

    @property
    def quantity(self) -> int: ...
    @property
    def fulfilled(self) -> int: ...
    @property
    def cancelled(self) -> int: ...
    @property
    def restocked(self) -> int: ...


def own_shift(mode: Decrements, line: OrderLine, before: LineBefore | None) -> int:
    """Units the channel itself took off (positive) or put back (negative) for this line's change.

    ``before`` is what the ledger held of the line (None for a line seen the first time).
    ``on_order``: the platform takes the ordered units when the order is placed and puts back the
    ones cancelled or restocked (Shopify, Amazon and Meta all return cancelled units to the listing),
    so what it holds off its count is ``quantity - cancelled - restocked``. ``on_fulfilment``: it
    takes units when they ship and puts back the restocked ones.
    """
    if mode == Decrements.ON_ORDER:
        held = max(0, line.quantity - line.cancelled - line.restocked)
        held_before = 0 if before is None else max(0, before.quantity - before.cancelled - before.restocked)
        return held - held_before
    if mode == Decrements.ON_FULFILMENT:
        fulfilled_before = 0 if before is None else before.fulfilled
        restocked_before = 0 if before is None else before.restocked
        return (line.fulfilled - fulfilled_before) - (line.restocked - restocked_before)
    return 0


def in_last_read(order: Order, units: int, read_at: datetime | None) -> bool:
    """Whether the channel's last live read (at ``read_at``) may already hold this order's change.

    Every doubt errs towards an acknowledged value that is too high, which costs a stale round (or a
    short under-show on a channel without compare-and-set); one that is too low would hide a channel
    showing more than it should. So units taken count as read when the order may be in the read
    (placed before it, within the margin), units put back only when the change is surely in it (last
    updated before the read, by more than the margin).
    """
    if read_at is None or not units:
        return False
    if units > 0:
        placed = order.created_at or order.updated_at
        return placed <= read_at + REFLECTION_MARGIN
    return order.updated_at + REFLECTION_MARGIN < read_at


def imported(
    mode: Decrements, order: Order, line: OrderLine, before: LineBefore | None, read_at: datetime | None
) -> int:
    """Units our record of the channel's quantity moves by for an imported line (0: unchanged).

    The channel's own sale must not be pushed back to it, so its record moves with the order, except
    where the last live read (``listing.observed_at``) already holds the change.
    """
    units = own_shift(mode, line, before)
    return 0 if in_last_read(order, units, read_at) else units
