"""Pure planning: what a (channel, SKU) pair must push, given its target and what the channel holds.

No I/O here. :func:`change` is the rule of what a pair pushes; :class:`PlannedItem` is one pair that
must change, with its explanation built on demand; :class:`Changes` one channel's changes in a chunk
of a plan, their items built when first read; the batches put decreases first. Planning whole
chunks of the ledger is :mod:`omnisync.engine.chunk_planner`'s job.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, Protocol, overload

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


class ChangeBlock(Protocol):
    """Changes of one channel planned as columns (see :mod:`omnisync.engine.chunk_planner`)."""

    def __len__(self) -> int: ...

    def build(self) -> list[PlannedItem]:
        """The items, in the block's order."""
        ...

    def columns(self) -> tuple[Any, Any, Any]:
        """Without building the items: each pair's product id, the quantity it pushes (-1: none) and
        whether it pushes its price, as numpy arrays in the order of :meth:`build`."""
        ...


class Changes(Sequence[PlannedItem]):
    """One channel's changes in one chunk of a plan: items planned pair by pair, then blocks planned
    as columns whose items are built when first read -- a pusher reads a chunk's changes when it
    sends them, and a plan that is only counted or summed (:meth:`columns`) builds no item at all."""

    __slots__ = ("_blocks", "_items", "_size")

    def __init__(self, items: Iterable[PlannedItem] = ()) -> None:
        self._items = list(items)
        self._blocks: list[ChangeBlock] = []
        self._size = len(self._items)

    def append(self, item: PlannedItem) -> None:
        self._built().append(item)
        self._size += 1

    def add(self, block: ChangeBlock) -> None:
        self._blocks.append(block)
        self._size += len(block)

    def __len__(self) -> int:
        return self._size

    def _built(self) -> list[PlannedItem]:
        while self._blocks:
            self._items += self._blocks.pop(0).build()
        return self._items

    def __iter__(self) -> Iterator[PlannedItem]:
        return iter(self._built())

    @overload
    def __getitem__(self, index: int) -> PlannedItem: ...

    @overload
    def __getitem__(self, index: slice) -> list[PlannedItem]: ...

    def __getitem__(self, index: int | slice) -> PlannedItem | list[PlannedItem]:
        return self._built()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Changes | list | tuple):
            return len(self) == len(other) and self._built() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like a list's

    def __repr__(self) -> str:
        return f"Changes({len(self)} items, {len(self._blocks)} blocks unbuilt)"

    def columns(self) -> tuple[Any, Any, Any]:
        """Each change's product id, the quantity it pushes (-1: none) and whether it pushes its
        price, as numpy arrays in the order of iteration, building no item that is not built yet."""
        import numpy as np  # only who sums a plan column by column asks: the CLI's start-up does not

        items = self._items
        parts = [
            (
                np.array([i.product_id for i in items], dtype=np.int64),
                np.array([-1 if i.quantity is None else i.quantity for i in items], dtype=np.int64),
                np.array([i.price is not None for i in items], dtype=np.bool_),
            )
        ]
        parts += [block.columns() for block in self._blocks]
        ids, quantities, prices = zip(*parts, strict=True)
        return np.concatenate(ids), np.concatenate(quantities), np.concatenate(prices)


ChunkPlan = dict[str, tuple[Changes, list[tuple[int, int, int]]]]
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
