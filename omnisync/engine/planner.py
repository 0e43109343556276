"""Pure planning: what a (channel, SKU) pair must push, given its target and what the channel holds.

No I/O here. :func:`change` is the rule of what a pair pushes; :class:`PlannedItem` is one pair that
must change, with its explanation built on demand; the batches put decreases first. Planning whole
chunks of the ledger is :mod:`omnisync.engine.chunk_planner`'s job.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from omnisync.ledger.rows import ListingRow
from omnisync.sdk.helpers import chunked
from omnisync.sdk.models import Preorder, preorder_key

from .targets import Target


@dataclass(slots=True)
class PlannedItem:
    """One (channel, SKU) pair whose channel must change. Treat as immutable.

    Not frozen: a plan of a million pairs builds a million of these, and a frozen dataclass costs
    several times more to build. Use :func:`dataclasses.replace` for a changed copy.
    """

    channel: str
    sku: str
    product_id: int
    channel_sku: str
    ids: Mapping[str, str]
    version: int
    quantity: int | None
    """Target quantity when it differs from the last acknowledged one, else None."""
    previous: int | None
    price: Decimal | None
    """Target price when it differs, else None."""
    currency: str | None
    available: bool | None
    explain: Callable[[PlannedItem], Target] = field(compare=False, repr=False)
    """This item -> its target; builds :attr:`target` when first asked for."""
    preorder: Preorder | None = None
    """Units of :attr:`quantity` sold ahead of the stock on order (pushed with the quantity)."""
    preorder_changed: bool = False
    """The channel last accepted another preorder signal than :attr:`preorder`."""
    mark: int | None = None
    """The pair's dirty mark the plan read (``listing.dirty_mark``): the push settles the pair only if
    no mark came after it (None: unknown, the pair stays as dirty as it is)."""
    _target: Target | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def target(self) -> Target:
        """The target with its explanation, computed from the same ledger numbers as the plan."""
        if self._target is None:
            self._target = self.explain(self)
        return self._target

    @property
    def decrease(self) -> bool:
        return self.quantity is not None and (self.previous is None or self.quantity < self.previous)


def _given(target: Target, item: PlannedItem) -> Target:
    return target


def diff(listing: ListingRow, target: Target) -> PlannedItem | None:
    """What must change on the channel for this pair; None when it already shows the target."""
    return diff_target(
        target,
        listing.sku,
        listing.product_id,
        listing.channel_sku,
        listing.ids,
        listing.version,
        listing.acked_quantity,
        listing.acked_price,
        listing.acked_available,
        partial(_given, target),
        listing.acked_preorder,
        listing.dirty_mark,
    )


def change(
    offered: int,
    acked_quantity: int | None,
    price: Decimal | None,
    acked_price: Decimal | None,
    available: bool | None = None,
    acked_available: bool | None = None,
    preorder: str = "",
    acked_preorder: str | None = None,
) -> tuple[int | None, bool]:
    """The rule of what a pair must push: (the quantity to push, None when the channel holds it;
    whether to push ``price``). A visibility change, or a change of the preorder signal (``preorder``
    and ``acked_preorder`` as ``Preorder.key``, "" or None for none), pushes the quantity with it."""
    push_quantity = (
        acked_quantity != offered
        or (available is not None and acked_available != available)
        or preorder != (acked_preorder or "")
    )
    return (offered if push_quantity else None), (price is not None and acked_price != price)


def changes(offered: Any, acked: Any, known: Any, price: Any, acked_price: Any) -> tuple[Any, Any]:
    """:func:`change` for arrays of pairs whose visibility is left as is: ``offered`` and ``acked``
    the quantities (``known``: whether the channel's is known, an unknown one always pushes);
    ``price`` and ``acked_price`` numbers standing for the prices (equal prices, equal numbers; -1:
    none acknowledged), or None when the prices are not pushed. Returns (push the quantity?, push the
    price?) as boolean arrays; a property test pins the two forms together."""
    push_quantity = ~known | (acked != offered)
    if price is None:
        return push_quantity, push_quantity & False
    return push_quantity, price != acked_price


def diff_target(
    target: Target,
    sku: str,
    product_id: int,
    channel_sku: str,
    ids: Mapping[str, str],
    version: int,
    acked_quantity: int | None,
    acked_price: Decimal | None,
    acked_available: bool | None,
    explain: Callable[[PlannedItem], Target],
    acked_preorder: str | None = None,
    mark: int | None = None,
) -> PlannedItem | None:
    allocation = target.allocation
    offered, available = allocation.offered, allocation.available
    preorder = Preorder(allocation.preorder, allocation.expected) if allocation.preorder else None
    signal = preorder_key(preorder)
    wanted_price = None if target.price is None else target.price.price
    quantity, reprice = change(
        offered, acked_quantity, wanted_price, acked_price, available, acked_available, signal, acked_preorder
    )
    if quantity is None and not reprice:
        return None
    price = currency = None
    if reprice and target.price is not None:
        price, currency = target.price.price, target.price.currency
    return PlannedItem(
        channel=target.channel,
        sku=sku,
        product_id=product_id,
        channel_sku=channel_sku,
        ids=ids,
        version=version,
        quantity=quantity,
        previous=acked_quantity,
        price=price,
        currency=currency,
        available=available,
        explain=explain,
        preorder=preorder,
        preorder_changed=signal != (acked_preorder or ""),
        mark=mark,
    )


ChunkPlan = dict[str, tuple[list[PlannedItem], list[tuple[int, int, int]]]]
"""Per channel: (changes, unchanged (product id, version, dirty mark)) of one chunk of the ledger.
``unchanged`` holds the pairs to settle: those read dirty that have nothing to push. A pair read
clean has nothing to settle (every version bump marks the product's listings dirty), and a plan that
finds nothing to change in a settled catalogue writes nothing."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: planning allocates many acyclic objects, and the
    collections they would trigger cost as much as the planning itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def inventory_batches(items: Sequence[PlannedItem], max_batch: int) -> list[Sequence[PlannedItem]]:
    """Quantity changes in batches within the channel's limit, every decrease before any increase."""
    changes = [i for i in items if i.quantity is not None]
    ordered = sorted(changes, key=lambda i: (not i.decrease, i.sku))
    return list(chunked(ordered, max_batch))


def price_batches(items: Sequence[PlannedItem], max_batch: int) -> list[Sequence[PlannedItem]]:
    return list(chunked([i for i in items if i.price is not None], max_batch))
