"""Pure planning: ledger numbers + rules -> what each channel should show -> what to push.

No I/O here: callers hand in ledger rows; the allocation and pricing arithmetic stays in
:mod:`omnisync.allocation` and :mod:`omnisync.pricing`.

Two ways to the same numbers. :meth:`TargetCalculator.targets` resolves a SKU's rules through the
channel mappings and returns every number with its explanation (``omnisync explain``). A full plan of
a large catalogue cannot afford an explanation per (channel, SKU) pair, so :class:`RowPlanner` plans
plain SKUs -- no per-SKU or per-tag override, no drop, under the buffered or split policy -- from the
channel-wide rules with the numbers-only entry points of the same arithmetic
(:func:`~omnisync.allocation.channel_pool`, :func:`~omnisync.allocation.offered_for_pool`,
:func:`~omnisync.pricing.price_for`), memoised by their inputs, and builds a planned item's
explanation only when someone asks for ``item.target``. Every other SKU goes through ``targets``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from omnisync.allocation import (
    AdaptivePolicy,
    BufferedPolicy,
    LocationStock,
    QuantityRules,
    SplitPolicy,
    channel_pool,
    offered_for_pool,
)
from omnisync.ledger.plan_rows import (
    PLAN_ACKED_AVAILABLE,
    PLAN_ACKED_PRICE,
    PLAN_ACKED_QUANTITY,
    PLAN_ACKED_UNAVAILABLE,
    PLAN_CHANNEL_SKU,
    PLAN_DIRTY,
    PLAN_FLAGS,
    PLAN_IDS,
    PLAN_LISTING_COLUMNS,
    PLAN_PRODUCT_COLUMNS,
    PLAN_STOCK_COLUMNS,
    PlanDecoder,
)
from omnisync.ledger.rows import ListingRow, split_tags
from omnisync.pace import Paces
from omnisync.pricing import PriceResult, PriceRules, price_for
from omnisync.sdk.helpers import chunked

from .targets import SkuState, Target, TargetCalculator


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
    explain: Callable[[str], Target] = field(compare=False, repr=False)
    """Channel name -> the SKU's target there; builds :attr:`target` when first asked for."""
    _target: Target | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def target(self) -> Target:
        """The target with its explanation, computed from the same ledger numbers as the plan."""
        if self._target is None:
            self._target = self.explain(self.channel)
        return self._target

    @property
    def decrease(self) -> bool:
        return self.quantity is not None and (self.previous is None or self.quantity < self.previous)


def _given(target: Target, channel: str) -> Target:
    return target


def diff(listing: ListingRow, target: Target) -> PlannedItem | None:
    """What must change on the channel for this pair; None when it already shows the target."""
    return _diff(
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
    )


def change(
    offered: int,
    acked_quantity: int | None,
    price: Decimal | None,
    acked_price: Decimal | None,
    available: bool | None = None,
    acked_available: bool | None = None,
) -> tuple[int | None, bool]:
    """The rule of what a pair must push: (the quantity to push, None when the channel holds it;
    whether to push ``price``). A visibility change pushes the quantity with it."""
    push_quantity = acked_quantity != offered or (available is not None and acked_available != available)
    return (offered if push_quantity else None), (price is not None and acked_price != price)


def _diff(
    target: Target,
    sku: str,
    product_id: int,
    channel_sku: str,
    ids: Mapping[str, str],
    version: int,
    acked_quantity: int | None,
    acked_price: Decimal | None,
    acked_available: bool | None,
    explain: Callable[[str], Target],
) -> PlannedItem | None:
    offered = target.allocation.offered
    available = target.allocation.available
    wanted_price = None if target.price is None else target.price.price
    quantity, reprice = change(offered, acked_quantity, wanted_price, acked_price, available, acked_available)
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
    )


# --------------------------------------------------------------------------- planning ledger rows

ChunkPlan = dict[str, tuple[list[PlannedItem], list[tuple[int, int]]]]
"""Per channel: (changes, unchanged (product id, version)) of one chunk of rows."""

_ID, _SKU, _TAGS, _PRICE, _CURRENCY, _ACTIVE, _VERSION = range(PLAN_PRODUCT_COLUMNS)
_FLAGS, _CHANNEL_SKU, _IDS, _ACKED_QUANTITY, _ACKED_PRICE = (
    PLAN_FLAGS,
    PLAN_CHANNEL_SKU,
    PLAN_IDS,
    PLAN_ACKED_QUANTITY,
    PLAN_ACKED_PRICE,
)
_MEMO_LIMIT = 200_000
_NOT_A_SKU = "\x00omnisync:no-such-sku"


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: planning a chunk allocates tens of thousands of acyclic
    objects, and the collections they would trigger cost as much as the planning itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _channel_sku(row: Sequence[Any], offset: int) -> str:
    channel_sku = row[offset + _CHANNEL_SKU]
    return str(row[_SKU] if channel_sku is None else channel_sku)


@dataclass
class _Lane:
    """One planned channel: where its listing sits in a row and its channel-wide rules."""

    name: str
    offset: int
    sources: tuple[int, ...]
    """Row positions of the on_hand column of each source location, in the channel's order (-1: a
    location the ledger does not know, which has no stock record)."""
    kept: tuple[int, ...]
    codes: tuple[str, ...]
    """The channel's source locations, in its order (the adaptive buffer reads sales there)."""
    rules: QuantityRules
    prices: dict[tuple[Any, str], PriceResult] | None
    """(raw master price, currency) -> price; shared by channels with equal price rules. None when
    the channel's prices are not pushed."""
    price_rules: PriceRules | None
    pools: dict[Sequence[Any], int]
    """Stock numbers -> pool; shared by channels drawing alike from the same sources."""
    offered: dict[int, int] = field(default_factory=dict)
    """Pool -> offered, under :attr:`rules`."""


class RowPlanner:
    """Plans chunks of :meth:`~omnisync.ledger.repository.Ledger.plan_rows` for several channels.

    ``locations`` are the location codes of the rows' stock columns and ``channels`` the channel
    names of their listing columns, in order. Memos live as long as the planner (one plan run).
    """

    def __init__(
        self,
        calculator: TargetCalculator,
        channels: Sequence[str],
        locations: Sequence[str],
        decoder: PlanDecoder,
        now: datetime,
        paces: Paces | None = None,
    ) -> None:
        self.calculator = calculator
        self.paces = paces
        """Every product's sales pace, when the policy is adaptive."""
        self.replan = frozenset(paces.sold_per_hour) if paces is not None else frozenset()
        """Products planned even when their pairs are not dirty: those whose adaptive buffer moves
        with time (they sold lately)."""
        self.locations = tuple(locations)
        self.decoder = decoder
        self.now = now
        first_listing = PLAN_PRODUCT_COLUMNS + PLAN_STOCK_COLUMNS * len(self.locations)
        self.channels = tuple(channels)
        self._offsets = {n: first_listing + PLAN_LISTING_COLUMNS * i for i, n in enumerate(self.channels)}
        self._stock_end = first_listing
        self.special_skus: set[str] = set()
        self.special_tags: set[str] = set()
        for rules in calculator.channels.values():
            file = rules.mapping.mapping
            self.special_skus.update(file.skus)
            self.special_tags.update(file.tags)
            for drop in file.drops:
                self.special_skus.update(drop.skus)
                self.special_tags.update(drop.tags)
        # The fast path: policies that allocate each channel on its own (split's shares are checked
        # by the calculator), and channel-wide rules that resolve. Otherwise every SKU is explained.
        lanes: list[_Lane] = []
        fast = (BufferedPolicy, SplitPolicy, AdaptivePolicy)
        if type(calculator.policy) in fast and _NOT_A_SKU not in self.special_skus:
            try:
                for name in self.channels:
                    lanes.append(self._lane(name, lanes))
            except ValueError:  # a channel-wide rule that cannot apply: let every SKU say so itself
                lanes = []
        self.lanes = tuple(lanes)

    def _lane(self, name: str, others: Sequence[_Lane]) -> _Lane:
        """The channel's rules for a SKU without overrides of its own, and memos shared with the
        channels already laid out when they draw or price alike."""
        channel = self.calculator.channels[name]
        first = PLAN_PRODUCT_COLUMNS
        column = {code: first + PLAN_STOCK_COLUMNS * i for i, code in enumerate(self.locations)}
        rules, _ = channel.mapping.quantity_rules(_NOT_A_SKU, (), channel.quantity)
        price_rules = None
        if channel.push_prices:
            price_rules, _ = channel.mapping.price_rules(_NOT_A_SKU, (), channel.price)
        kept = tuple(rules.source_buffers.get(code, 0) for code in channel.sources)
        sources = tuple(column.get(code, -1) for code in channel.sources)
        shared_pools = next((ln.pools for ln in others if (ln.sources, ln.kept) == (sources, kept)), None)
        shared_prices = next(
            (ln.prices for ln in others if ln.price_rules is not None and ln.price_rules == price_rules),
            None,
        )
        return _Lane(
            name,
            self._offsets[name],
            sources,
            kept,
            channel.sources,
            rules,
            None if price_rules is None else ({} if shared_prices is None else shared_prices),
            price_rules,
            {} if shared_pools is None else shared_pools,
        )

    # -- the pure parts, from one row ------------------------------------------------------------------
    def state(self, row: Sequence[Any]) -> SkuState:
        stock = {}
        for i, code in enumerate(self.locations):
            at = PLAN_PRODUCT_COLUMNS + PLAN_STOCK_COLUMNS * i
            if row[at] is not None:
                stock[code] = LocationStock(code, int(row[at]), int(row[at + 1]))
        return SkuState(
            row[_SKU],
            split_tags(row[_TAGS]),
            self.decoder.decimal(row[_PRICE]),
            row[_CURRENCY],
            bool(row[_ACTIVE]),
            stock,
            None if self.paces is None else self.paces.of(row[_ID]),
        )

    def explain(self, row: Sequence[Any], channel: str) -> Target:
        """The explained target for one pair of a row (what the fast path computed, and why)."""
        return self.calculator.targets(self.state(row), self.now, only=channel)[channel]

    # -- planning ---------------------------------------------------------------------------------------
    def plan(self, rows: Sequence[Sequence[Any]], *, dirty_only: bool = False) -> ChunkPlan:
        """Every planned channel's (changes, unchanged) for these rows.

        ``dirty_only`` plans only the pairs whose listing is dirty (and every pair of the products in
        :attr:`replan`); pairs the channel does not know (``missing``) and products without a listing
        are never planned.
        """
        out: ChunkPlan = {name: ([], []) for name in self.channels}
        with paused_gc():
            if self.lanes:
                self._plan_fast(rows, dirty_only, out)
            else:
                for row in rows:
                    self._plan_explained(row, dirty_only and row[_ID] not in self.replan, out)
        return out

    def _plan_explained(self, row: Sequence[Any], dirty_only: bool, out: ChunkPlan) -> None:
        wanted = [
            name
            for name in self.channels
            if (flags := row[self._offsets[name] + _FLAGS]) is not None
            and (not dirty_only or flags & PLAN_DIRTY)
        ]
        if not wanted:
            return
        state = self.state(row)
        if self.calculator.independent:
            targets = {n: self.calculator.targets(state, self.now, only=n)[n] for n in wanted}
        else:
            targets = self.calculator.targets(state, self.now)
        decimal = self.decoder.decimal
        for name in wanted:
            o = self._offsets[name]
            acked_price, flags = row[o + _ACKED_PRICE], row[o + _FLAGS]
            acked_available = (
                True if flags & PLAN_ACKED_AVAILABLE else False if flags & PLAN_ACKED_UNAVAILABLE else None
            )
            target = targets[name]
            item = _diff(
                target,
                row[_SKU],
                row[_ID],
                _channel_sku(row, o),
                self.decoder.ids(row[o + _IDS]),
                row[_VERSION],
                row[o + _ACKED_QUANTITY],
                None if acked_price is None else decimal(acked_price),
                acked_available,
                partial(_given, target),
            )
            if item is None:
                out[name][1].append((row[_ID], row[_VERSION]))
            else:
                out[name][0].append(item)

    def _plan_fast(self, rows: Sequence[Sequence[Any]], dirty_only: bool, out: ChunkPlan) -> None:
        """Plain SKUs from the channel-wide rules, numbers only; the others through ``targets``.

        The hot loop of a full plan (millions of pairs): lookups hoisted into locals, memo hits
        inlined; everything it computes comes from :func:`offered_for_pool`, :func:`channel_pool`
        and :func:`price_for` through :meth:`_pool` and :meth:`_price`, and what a pair pushes from
        :func:`change`, as in the explained path.
        """
        lanes = [
            (lane, lane.name, lane.offset, lane.pools, lane.offered, lane.prices, *out[lane.name])
            for lane in self.lanes
        ]
        decimals, decimal, ids = self.decoder.decimals, self.decoder.decimal, self.decoder.ids
        explain, special_skus, special_tags = self.explain, self.special_skus, self.special_tags
        # the adaptive policy's buffer per pair; only products that sold lately can hold units back
        policy = self.calculator.policy
        adaptive = policy if isinstance(policy, AdaptivePolicy) and self.paces is not None else None
        sold_by_product = self.paces.sold_per_hour if self.paces is not None else {}
        stock_at, stock_end = PLAN_PRODUCT_COLUMNS, self._stock_end
        item = PlannedItem
        for row in rows:
            sku = row[_SKU]
            tags = row[_TAGS]
            pid = row[_ID]
            sold = sold_by_product.get(pid) if adaptive is not None else None
            only_dirty = dirty_only and sold is None  # a product that sold lately: every pair
            if sku in special_skus or (
                tags and special_tags and not special_tags.isdisjoint(split_tags(tags))
            ):
                self._plan_explained(row, dirty_only and pid not in self.replan, out)
                continue
            version, active = row[_VERSION], row[_ACTIVE]
            stock = row[stock_at:stock_end]
            price_key = (row[_PRICE], row[_CURRENCY])
            why: Callable[[str], Target] | None = None
            pace = None if sold is None or self.paces is None else self.paces.of(pid)
            # channels drawing alike share a pool memo, channels pricing alike a price memo: one
            # lookup per row serves them all
            seen_pools: dict[Sequence[Any], int] | None = None
            seen_prices: dict[tuple[Any, str], PriceResult] | None = None
            pool = 0
            result: PriceResult | None = None
            for lane, name, o, pools, offers, prices, changes, unchanged in lanes:
                flags = row[o]  # _FLAGS
                if flags is None or (only_dirty and not flags & PLAN_DIRTY):
                    continue
                if active:
                    if pools is not seen_pools:
                        seen_pools, found = pools, pools.get(stock)
                        pool = self._pool(lane, row, stock) if found is None else found
                    held = 0
                    if pace is not None and adaptive is not None:
                        held = adaptive.exposure(pace, name, lane.codes).units
                    memo = offers.get(pool) if not held else None
                    if memo is not None:
                        offered = memo
                    elif held:
                        offered = offered_for_pool(pool, lane.rules, held)
                    else:
                        offered = offers[pool] = offered_for_pool(pool, lane.rules)
                else:
                    offered = 0  # as TargetCalculator.targets: an inactive product offers nothing
                acked_quantity = row[o + _ACKED_QUANTITY]
                price = currency = acked = None
                if prices is not None:
                    if prices is not seen_prices or result is None:
                        seen_prices, result = prices, prices.get(price_key)
                        if result is None:
                            result = self._price(lane, price_key)
                    acked_price = row[o + _ACKED_PRICE]
                    if acked_price is not None:
                        acked = decimals.get(acked_price) or decimal(acked_price)
                    price = result.price
                quantity, reprice = change(offered, acked_quantity, price, acked)
                if quantity is None and not reprice:
                    unchanged.append((pid, version))
                    continue
                if reprice:
                    assert result is not None
                    currency = result.currency
                else:
                    price = None
                if why is None:
                    why = partial(explain, row)
                channel_sku = row[o + _CHANNEL_SKU]
                raw_ids = row[o + _IDS]
                # the fast path's targets are always visible-as-is (no drop): available stays None
                changes.append(
                    item(
                        name,
                        sku,
                        pid,
                        sku if channel_sku is None else channel_sku,
                        {} if raw_ids is None else ids(raw_ids),
                        version,
                        quantity,
                        acked_quantity,
                        price,
                        currency,
                        None,
                        why,
                    )
                )

    @staticmethod
    def _pool(lane: _Lane, row: Sequence[Any], stock: Sequence[Any]) -> int:
        if len(lane.pools) > _MEMO_LIMIT:
            lane.pools.clear()
        numbers = [
            None if at < 0 or row[at] is None else (int(row[at]), int(row[at + 1])) for at in lane.sources
        ]
        pool = lane.pools[stock] = channel_pool(numbers, lane.kept)
        return pool

    def _price(self, lane: _Lane, key: tuple[Any, str]) -> PriceResult:
        assert lane.prices is not None
        assert lane.price_rules is not None
        if len(lane.prices) > _MEMO_LIMIT:
            lane.prices.clear()
        result = lane.prices[key] = price_for(self.decoder.decimal(key[0]), key[1], lane.price_rules)
        return result


def inventory_batches(items: Sequence[PlannedItem], max_batch: int) -> list[Sequence[PlannedItem]]:
    """Quantity changes in batches within the channel's limit, every decrease before any increase."""
    changes = [i for i in items if i.quantity is not None]
    ordered = sorted(changes, key=lambda i: (not i.decrease, i.sku))
    return list(chunked(ordered, max_batch))


def price_batches(items: Sequence[PlannedItem], max_batch: int) -> list[Sequence[PlannedItem]]:
    return list(chunked([i for i in items if i.price is not None], max_batch))
