"""Planning a chunk of the ledger for several channels: the numbers decided for the whole chunk at
once, Python objects built only for the pairs that change.

Two ways to the same numbers. :meth:`TargetCalculator.targets` resolves a SKU's rules through the
channel mappings and returns every number with its explanation (``omnisync explain``): the reference.
A full plan of a large catalogue cannot afford an explanation, nor a Python object, per (channel,
SKU) pair, so :class:`ChunkPlanner` plans plain SKUs -- no per-SKU or per-tag override, no drop, under
the buffered or split policy, or under the adaptive one when the SKU did not sell lately (its adaptive
buffer is 0) -- column by column from the channel-wide rules: the pools with
:func:`~omnisync.allocation.channel_pools` (the array form of ``channel_pool``), the offered
quantities with :func:`~omnisync.allocation.offered_for_pool` applied to each distinct pool, the
prices with :func:`~omnisync.pricing.price_for` applied to each distinct master price, and what a
pair pushes by :func:`~omnisync.engine.planner.change`'s rule, compared as arrays. The pairs that
change stay columns (a block of :class:`~omnisync.engine.planner.Changes`) until someone reads them:
only then do they become :class:`~omnisync.engine.planner.PlannedItem`, their channel SKUs and listing
ids read and decoded, and an item's explanation is built when someone asks for ``item.target``.
Every other SKU goes through ``targets``, pair by pair.

numpy is imported here, and this module only when a plan runs: the CLI's start-up never pays for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from itertools import repeat
from typing import Any

import numpy as np
from numpy.typing import NDArray

from omnisync.allocation import (
    AdaptivePolicy,
    BufferedPolicy,
    LocationStock,
    QuantityRules,
    SplitPolicy,
    channel_pools,
    offered_for_pool,
)
from omnisync.kits import KitStock, kit_columns, shared_groups
from omnisync.ledger.plan_rows import (
    PLAN_ACKED_AVAILABLE,
    PLAN_ACKED_KNOWN,
    PLAN_ACKED_PREORDER,
    PLAN_ACKED_PREORDER_KEY,
    PLAN_ACKED_PRICE,
    PLAN_ACKED_QUANTITY,
    PLAN_ACKED_UNAVAILABLE,
    PLAN_CHANNEL_SKU,
    PLAN_DIRTY,
    PLAN_DIRTY_MARK,
    PLAN_FLAGS,
    PLAN_IDS,
    PLAN_LISTING_COLUMNS,
    PLAN_PRODUCT_COLUMNS,
    PLAN_STOCK_COLUMNS,
    PlanChunk,
    PlanDecoder,
)
from omnisync.ledger.rows import split_tags
from omnisync.pace import Paces
from omnisync.pricing import PriceResult, PriceRules, price_for

from .planner import Changes, ChunkPlan, PlannedItem, changes, diff_target, paused_gc
from .targets import SkuState, Target, TargetCalculator

Ints = NDArray[np.int64]
Flags = NDArray[np.bool_]

_ID, _SKU, _TAGS, _PRICE, _CURRENCY, _ACTIVE, _VERSION = range(PLAN_PRODUCT_COLUMNS)
_MEMO_LIMIT = 200_000
_NOT_A_SKU = "\x00omnisync:no-such-sku"


def _given(target: Target, item: PlannedItem) -> Target:
    return target


# --------------------------------------------------------------------------- the chunk, aligned


class Columns:
    """A :class:`PlanChunk` with each stock record and listing placed at its product's position.

    A listing drawing on a component on a channel (a kit, or a component some kit listed there uses)
    has on that channel its own stock columns, its share (:meth:`stock_of`)."""

    def __init__(
        self,
        chunk: PlanChunk,
        channel_names: Sequence[str] = (),
        location_codes: Sequence[str] = (),
        unshared: frozenset[str] = frozenset(),
    ) -> None:
        """``unshared``: channels whose listings do not share components (each plans with the whole
        component's stock)."""
        self.channel_names = channel_names
        self.unshared = unshared
        self.location_codes = location_codes
        """The chunk's channels and stock locations by name (for :meth:`row`'s shares)."""
        pid, skus, tags, prices, currencies, active, versions = chunk.products
        ids = np.asarray(pid, dtype=np.int64)
        order = None
        if len(ids) > 1 and not bool((ids[1:] > ids[:-1]).all()):
            order = np.argsort(ids, kind="stable")

        def arranged(column: Sequence[Any]) -> list[Any]:
            return list(column) if order is None else [column[i] for i in order.tolist()]

        def numbers(column: Any) -> Ints:
            values: Ints = np.asarray(column, dtype=np.int64)
            return values if order is None else values[order]

        self.size = len(ids)
        self.ids: Ints = numbers(ids)
        self.skus: list[str] | None = None if skus is None else arranged(skus)
        self.tags: list[str] | None = None if tags is None else arranged(tags)
        """None in a lean chunk: :meth:`product_names` reads them."""
        self.details = chunk.details
        self._read: dict[int, tuple[str, str]] = {}
        """A lean chunk's SKU and tags of the products at these positions, read so far."""
        self.prices: list[Any] = arranged(prices)
        self.currencies: list[str] = arranged(currencies)
        self.active: Flags = numbers(active) != 0
        self.versions: Ints = numbers(versions)

        # per location asked for: on_hand, reserved (0 without a record) and whether there is one
        # the components' stock, read beside the chunk's, for its kits and for the shares
        parts = components_stock(chunk) if len(chunk.kits[0]) or len(chunk.draws[0]) else None
        s_pid, s_location, s_on_hand, s_reserved = (
            np.asarray(c, dtype=np.int64) for c in with_kits(chunk, parts)
        )
        self.on_hand: list[Ints] = []
        self.reserved: list[Ints] = []
        self.stocked: list[Flags] = []
        blocks = self._blocks(s_pid, s_location, chunk.location_ids)
        if blocks is not None:  # a record for every product at every location: slices
            self.on_hand = [s_on_hand[b] for b in blocks]
            self.reserved = [s_reserved[b] for b in blocks]
            self.stocked = [np.ones(self.size, dtype=np.bool_) for _ in blocks]
        else:
            at, found = self._positions(s_pid)
            for location_id in chunk.location_ids:
                mine = found & (s_location == location_id)
                where = at[mine]
                self.on_hand.append(self._placed(where, s_on_hand[mine], 0))
                self.reserved.append(self._placed(where, s_reserved[mine], 0))
                self.stocked.append(self._placed(where, np.ones(len(where), dtype=np.bool_), False))
        self.shared: dict[int, tuple[list[Ints], list[Ints], list[Flags], Flags]] = {}
        """Per channel position: on_hand, reserved and stocked columns with the shared listings'
        shares in place, and which products those are."""
        self.share_group: dict[int, int] = {}
        """Channel position -> its set of shared columns: positions with the same number plan with the
        same stock columns."""
        self._shares(chunk, parts)
        # stock on order (read only when some channel takes preorders): product id -> stock column -> it
        column_of = {lid: k for k, lid in enumerate(chunk.location_ids)}
        self.incoming: dict[int, dict[int, tuple[int, Any]]] = {
            pid: {column_of[lid]: v for lid, v in per_location.items()}
            for pid, per_location in chunk.incoming.items()
        }

        # per channel asked for: flags (-1 without a listing), acked quantity, the listing's row
        l_channel, l_pid, l_flags, l_acked, acked_prices, acked_preorders, l_marks = chunk.listings
        channel, pids = np.asarray(l_channel, dtype=np.int64), np.asarray(l_pid, dtype=np.int64)
        flags, acked = np.asarray(l_flags, dtype=np.int64), np.asarray(l_acked, dtype=np.int64)
        marks = np.asarray(l_marks, dtype=np.int64)
        self.acked_prices: Sequence[Any] = acked_prices
        """Raw, per listing row (see :attr:`rows`)."""
        self.acked_preorders: Sequence[str | None] = acked_preorders
        self.channel_ids = chunk.channel_ids
        self.names = chunk.names
        self.flags: list[Ints] = []
        self.acked: list[Ints] = []
        self.marks: list[Ints] = []
        """Per channel: each product's listing's dirty mark (``listing.dirty_mark``)."""
        self.rows: list[Ints] = []
        """Per channel: the row of each product's listing in the listing columns (-1: none)."""
        blocks = self._blocks(pids, channel, chunk.channel_ids)
        if blocks is not None:  # a listing of every product on every channel: slices
            rows = np.arange(len(pids), dtype=np.int64)
            self.flags = [flags[b] for b in blocks]
            self.acked = [acked[b] for b in blocks]
            self.marks = [marks[b] for b in blocks]
            self.rows = [rows[b] for b in blocks]
            return
        at, found = self._positions(pids)
        for channel_id in chunk.channel_ids:
            mine = found & (channel == channel_id)
            where = at[mine]
            self.flags.append(self._placed(where, flags[mine], -1))
            self.acked.append(self._placed(where, acked[mine], 0))
            self.marks.append(self._placed(where, marks[mine], 0))
            self.rows.append(self._placed(where, np.flatnonzero(mine), -1))

    def _blocks(self, product_ids: Ints, keys: Ints, wanted: Sequence[int]) -> list[slice] | None:
        """When the rows are one for each product and each of the ``wanted`` keys (locations or
        channels), in blocks as a database reads them along a key's index -- each key's rows in product
        order, or each product's rows in one order of the keys --, the slice of the rows of each wanted
        key; else None (the rows are then placed one by one)."""
        n, m = self.size, len(wanted)
        if not n or not m or len(product_ids) != n * m or len(set(wanted)) != m:
            return None
        by_key = product_ids.reshape(m, n), keys.reshape(m, n)
        if bool((by_key[0] == self.ids).all()) and bool((by_key[1] == by_key[1][:, :1]).all()):
            first = by_key[1][:, 0].tolist()
            if set(first) == set(wanted):
                return [slice(first.index(w) * n, (first.index(w) + 1) * n) for w in wanted]
        by_product = product_ids.reshape(n, m), keys.reshape(n, m)
        if bool((by_product[0] == self.ids[:, None]).all()) and bool(
            (by_product[1] == by_product[1][:1]).all()
        ):
            first = by_product[1][0].tolist()
            if set(first) == set(wanted):
                return [slice(first.index(w), None, m) for w in wanted]
        return None

    def product_names(self, positions: Sequence[int]) -> tuple[list[str], list[str]]:
        """The SKUs and raw tags of the products at ``positions``."""
        if self.skus is not None and self.tags is not None:
            return [self.skus[i] for i in positions], [self.tags[i] for i in positions]
        assert self.details is not None, "a lean chunk reads its products' SKUs and tags"
        unread = [i for i in dict.fromkeys(positions) if i not in self._read]
        if unread:
            skus, tags = self.details(self.ids[unread])
            self._read.update(zip(unread, zip(skus, tags, strict=True), strict=True))
        named = [self._read[i] for i in positions]
        return [sku for sku, _ in named], [tags for _, tags in named]

    def skus_at(self, positions: Ints) -> list[str]:
        """The SKUs of the products at ``positions``, read at once in a lean chunk (not kept)."""
        if self.skus is not None:
            return [self.skus[i] for i in positions.tolist()]
        assert self.details is not None, "a lean chunk reads its products' SKUs and tags"
        return self.details(self.ids[positions])[0]

    def _shares(self, chunk: PlanChunk, parts: list[Ints] | None) -> None:
        """Per channel, the stock columns with each listing that draws on a component its share there
        (:func:`~omnisync.kits.shared_groups`); ``parts``: :func:`components_stock`. Channels whose
        listings draw alike share one set of columns (:attr:`share_group`)."""
        if not len(chunk.draws[0]) or parts is None:
            return
        index_of = {channel_id: i for i, channel_id in enumerate(chunk.channel_ids)}
        for group, (channels, (listings, locations, units)) in enumerate(
            shared_groups(chunk.draws, chunk.listed, parts, chunk.location_ids)
        ):
            indexes = [
                index_of[c]
                for c in channels
                if c in index_of
                and not (self.channel_names and self.channel_names[index_of[c]] in self.unshared)
            ]
            if not indexes:
                continue
            at, found = self._positions(listings.tolist())
            if not found.any():
                continue
            on_hand, reserved, stocked = [], [], []
            for j, location_id in enumerate(chunk.location_ids):
                here = found & (locations == location_id)
                where = at[here]
                on_hand.append(self.on_hand[j].copy())
                on_hand[j][where] = units[here]
                reserved.append(self.reserved[j].copy())
                reserved[j][where] = 0
                stocked.append(self.stocked[j].copy())
                stocked[j][where] = True
            mine = np.zeros(self.size, dtype=np.bool_)
            mine[at[found]] = True
            columns = (on_hand, reserved, stocked, mine)
            for index in indexes:
                self.shared[index] = columns
                self.share_group[index] = group

    def stock_of(self, index: int) -> tuple[list[Ints], list[Ints]]:
        """The on_hand and reserved columns the channel at ``index`` plans with."""
        shared = self.shared.get(index)
        return (self.on_hand, self.reserved) if shared is None else (shared[0], shared[1])

    def _positions(self, product_ids: Sequence[int] | Ints) -> tuple[Ints, Flags]:
        """Each product id's position in the chunk, and whether the chunk holds it."""
        wanted = np.asarray(product_ids, dtype=np.int64)
        at = np.searchsorted(self.ids, wanted)
        found = at < self.size
        found[found] = self.ids[at[found]] == wanted[found]
        return at, found

    def _placed(self, where: Ints, values: NDArray[Any], empty: Any) -> Any:
        column = np.full(self.size, empty, dtype=values.dtype)
        column[where] = values
        return column

    def row(self, i: int) -> tuple[Any, ...]:
        """Product ``i`` in the planning row layout (``PLAN_*`` constants) the explained path reads,
        then its stock on order (stock column -> (units, expected date)), or None, then its shares
        on the channels where it shares a component (channel -> location code -> units), or None."""
        (sku,), (tags,) = self.product_names([i])
        row: list[Any] = [
            int(self.ids[i]),
            sku,
            tags,
            self.prices[i],
            self.currencies[i],
            bool(self.active[i]),
            int(self.versions[i]),
        ]
        for on_hand, reserved, stocked in zip(self.on_hand, self.reserved, self.stocked, strict=True):
            row += [int(on_hand[i]), int(reserved[i])] if stocked[i] else [None, None]
        for channel_id, flags, acked, marks, rows in zip(
            self.channel_ids, self.flags, self.acked, self.marks, self.rows, strict=True
        ):
            j = int(rows[i])
            if j < 0:
                row += [None] * PLAN_LISTING_COLUMNS
                continue
            known = int(flags[i]) & PLAN_ACKED_KNOWN
            (channel_sku,), (ids,) = self.names(channel_id, self.ids[i : i + 1])
            row += [
                int(flags[i]),
                channel_sku,
                ids,
                int(acked[i]) if known else None,
                self.acked_prices[j],
                self.acked_preorders[j],
                int(marks[i]),
            ]
        row.append(self.incoming.get(int(self.ids[i])))
        drawn = {}
        for index, (units, _, records, mine) in self.shared.items():
            if mine[i]:
                codes = self.location_codes
                drawn[self.channel_names[index]] = {
                    codes[j]: KitStock(int(units[j][i]), "", "") for j in range(len(codes)) if records[j][i]
                }
        row.append(drawn or None)
        return tuple(row)


def components_stock(chunk: PlanChunk) -> list[Ints]:
    """The stock columns of the chunk's products and of the components outside it."""
    return [
        np.concatenate([np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)])
        for a, b in zip(chunk.stock, chunk.component_stock, strict=True)
    ]


def with_kits(chunk: PlanChunk, parts: list[Ints] | None) -> Sequence[Any]:
    """The chunk's stock columns with each kit's stock at every location asked for, computed from its
    components' (:func:`~omnisync.kits.kit_columns`; ``parts``: :func:`components_stock`): a kit is
    then planned like any SKU."""
    kit_ids, component_ids, quantities = chunk.kits
    if not len(kit_ids) or parts is None:
        return chunk.stock
    kits, locations, units = kit_columns(kit_ids, component_ids, quantities, parts, chunk.location_ids)
    extra = (kits, locations, units, np.zeros(len(kits), np.int64))
    return [
        np.concatenate([np.asarray(column, dtype=np.int64), more])
        for column, more in zip(chunk.stock, extra, strict=True)
    ]


class _Explainer:
    """Explains an item of the fast path from its chunk's columns (kept as long as an item is)."""

    __slots__ = ("columns", "planner")

    def __init__(self, planner: ChunkPlanner, columns: Columns) -> None:
        self.planner = planner
        self.columns = columns

    def __call__(self, item: PlannedItem) -> Target:
        i = int(np.searchsorted(self.columns.ids, item.product_id))
        return self.planner.explain(self.columns.row(i), item.channel)


# --------------------------------------------------------------------------- planning


@dataclass
class _Lane:
    """One planned channel: where its columns are and its channel-wide rules."""

    name: str
    index: int
    """The channel's position among the chunk's listing columns."""
    sources: tuple[int, ...]
    """The chunk's stock column of each source location, in the channel's order (-1: a location the
    ledger does not know, which has no stock record)."""
    kept: tuple[int, ...]
    rules: QuantityRules
    prices: dict[tuple[Any, str], PriceResult] | None
    """(raw master price, currency) -> price; shared by channels with equal price rules. None when
    the channel's prices are not pushed."""
    price_rules: PriceRules | None
    offered: dict[int, int] = field(default_factory=dict)
    """Pool -> offered, under :attr:`rules`; shared by the lanes that offer alike."""
    alike: int = -1
    """The first lane with the same sources, units kept and quantity rules (this one's position when
    none came before): lanes that offer alike compute a chunk's offered quantities once."""


def through(values: Ints, rule: Callable[[int], int], memo: dict[int, int]) -> Ints:
    """``rule`` applied to every value: once per distinct value (memoised), the results spread back."""
    distinct, inverse = np.unique(values, return_inverse=True)
    if len(memo) > _MEMO_LIMIT:
        memo.clear()
    results = [memo[v] if v in memo else memo.setdefault(v, rule(v)) for v in distinct.tolist()]
    return np.array(results, dtype=np.int64)[inverse]


@dataclass(slots=True)
class _Block:
    """The changes of one lane in one chunk, as columns (a :class:`~omnisync.engine.planner.ChangeBlock`);
    the items, with their channel SKUs and ids, built when first read."""

    planner: ChunkPlanner
    lane: _Lane
    chunk: Columns
    explainer: _Explainer
    here: Ints
    """The changed pairs' positions in the chunk."""
    offered: Ints
    quantity: Flags
    """Whether the pair pushes its offered quantity."""
    acked: Ints
    known: Flags
    """The channel's acknowledged quantity, and whether it is known."""
    prices: list[PriceResult] | None
    """The lane's price of each distinct master price of the chunk (None: prices not pushed)."""
    price_keys: Ints
    """Each pair's master price, as an index into :attr:`prices`."""
    repriced: Flags
    """Whether the pair pushes its price."""

    def __len__(self) -> int:
        return len(self.here)

    def columns(self) -> tuple[Ints, Ints, Flags]:
        return self.chunk.ids[self.here], np.where(self.quantity, self.offered, -1), self.repriced

    def build(self) -> list[PlannedItem]:
        with paused_gc():  # many acyclic objects: see paused_gc
            return self._build()

    def _build(self) -> list[PlannedItem]:
        columns, lane = self.chunk, self.lane
        product_ids = columns.ids[self.here]
        channel_skus, raw_ids = columns.names(columns.channel_ids[lane.index], product_ids)
        pushed = self.offered.astype(object)
        pushed[~self.quantity] = None
        previous = self.acked.astype(object)
        previous[~self.known] = None
        new_prices: Any = repeat(None)
        currencies: Any = repeat(None)
        if self.prices is not None:
            kept = ~self.repriced
            results = np.array(self.prices, dtype=object)[self.price_keys]
            new_prices = np.array([r.price for r in results], dtype=object)
            new_prices[kept] = None
            currencies = np.array([r.currency for r in results], dtype=object)
            currencies[kept] = None
            new_prices, currencies = new_prices.tolist(), currencies.tolist()
        if self.repriced.any() and columns.skus is None:
            # a price update asks for its item's explanation (the compare-at price), which reads the
            # product's SKU and tags: read them once for the block and keep them for it
            skus = columns.product_names(self.here.tolist())[0]
        else:
            skus = columns.skus_at(self.here)
        # the fast path's targets are always visible-as-is (no drop): available stays None
        return list(
            map(
                PlannedItem,
                repeat(lane.name),
                skus,
                product_ids.tolist(),
                _named(skus, channel_skus),
                self.planner.decoder.ids_of(raw_ids),
                columns.versions[self.here].tolist(),
                pushed.tolist(),
                previous.tolist(),
                new_prices,
                currencies,
                repeat(None),
                repeat(self.explainer),
                repeat(None),
                repeat(False),
                columns.marks[lane.index][self.here].tolist(),
            )
        )


def _named(skus: list[str], channel_skus: list[Any]) -> list[str]:
    """The channel SKUs, the master SKU where a listing went away before its name was read."""
    if None not in channel_skus:
        return channel_skus
    return [sku if name is None else name for sku, name in zip(skus, channel_skus, strict=True)]


class ChunkPlanner:
    """Plans chunks of :class:`~omnisync.ledger.plan_rows.PlanQueries` for several channels.

    ``locations`` are the location codes of the chunk's stock and ``channels`` the channel names of
    its listings, in the order they were asked for. Memos live as long as the planner (one plan run).
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
        """Every product's sales pace, when the policy is adaptive (:mod:`omnisync.pace`)."""
        self.replan = frozenset(paces.sold_per_hour) if paces is not None else frozenset()
        """Products planned even when their pairs are not dirty: those whose adaptive buffer moves
        with time (they sold lately)."""
        self.locations = tuple(locations)
        self.decoder = decoder
        self.now = now
        first_listing = PLAN_PRODUCT_COLUMNS + PLAN_STOCK_COLUMNS * len(self.locations)
        self.channels = tuple(channels)
        self._offsets = {n: first_listing + PLAN_LISTING_COLUMNS * i for i, n in enumerate(self.channels)}
        self._codes: dict[Decimal, int] = {}
        """Price -> a number standing for it, so that prices compare as arrays (equal prices, equal
        numbers: ``Decimal("10.0") == Decimal("10")`` and they hash alike)."""
        self.unshared = frozenset(n for n, r in calculator.channels.items() if not r.share_components)
        """Channels whose listings do not share components (``share_components: false``)."""
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
        # Under the adaptive policy the SKUs that sold lately (``replan``) are explained; the others
        # hold nothing back, so the buffered arithmetic is theirs.
        lanes: list[_Lane] = []
        fast = (BufferedPolicy, SplitPolicy, AdaptivePolicy)
        if type(calculator.policy) in fast and _NOT_A_SKU not in self.special_skus:
            try:
                for name in self.channels:
                    lanes.append(self._lane(name, lanes))
            except ValueError:  # a channel-wide rule that cannot apply: let every SKU say so itself
                lanes = []
        self.lanes = tuple(lanes)
        self.lean = bool(self.lanes) and not self.special_skus and not self.special_tags
        """The chunks may be lean (:attr:`~omnisync.ledger.plan_rows.PlanQueries.lean`): the fast
        path plans every pair no mapping names from numbers alone; a SKU and its tags are read for
        the pairs it explains or builds."""

    def _lane(self, name: str, others: Sequence[_Lane]) -> _Lane:
        """The channel's rules for a SKU without overrides of its own, and the price memo shared with
        the channels already laid out when they price alike."""
        channel = self.calculator.channels[name]
        rules, _ = channel.mapping.quantity_rules(_NOT_A_SKU, (), channel.quantity)
        price_rules = None
        if channel.push_prices:
            price_rules, _ = channel.mapping.price_rules(_NOT_A_SKU, (), channel.price)
        column = {code: i for i, code in enumerate(self.locations)}
        shared_prices = next(
            (ln.prices for ln in others if ln.price_rules is not None and ln.price_rules == price_rules),
            None,
        )
        sources = tuple(column.get(code, -1) for code in channel.sources)
        kept = tuple(rules.source_buffers.get(code, 0) for code in channel.sources)
        alike = next(
            (n for n, ln in enumerate(others) if (ln.sources, ln.kept, ln.rules) == (sources, kept, rules)),
            None,
        )
        return _Lane(
            name,
            self.channels.index(name),
            sources,
            kept,
            rules,
            None if price_rules is None else ({} if shared_prices is None else shared_prices),
            price_rules,
            offered=others[alike].offered if alike is not None else {},
            alike=len(others) if alike is None else alike,
        )

    # -- the pure parts, from one row ------------------------------------------------------------------
    def state(self, row: Sequence[Any]) -> SkuState:
        stock = {}
        incoming = row[-2] or {}
        for i, code in enumerate(self.locations):
            at = PLAN_PRODUCT_COLUMNS + PLAN_STOCK_COLUMNS * i
            units, expected = incoming.get(i, (0, None))
            if row[at] is not None or units:
                on_hand, reserved = (int(row[at]), int(row[at + 1])) if row[at] is not None else (0, 0)
                stock[code] = LocationStock(code, on_hand, reserved, units, expected)
        return SkuState(
            row[_SKU],
            split_tags(row[_TAGS]),
            self.decoder.decimal(row[_PRICE]),
            row[_CURRENCY],
            bool(row[_ACTIVE]),
            stock,
            None if self.paces is None else self.paces.of(row[_ID]),
            drawn=row[-1],
        )

    def explain(self, row: Sequence[Any], channel: str) -> Target:
        """The explained target for one pair of a row (what the fast path computed, and why)."""
        return self.calculator.targets(self.state(row), self.now, only=channel)[channel]

    # -- planning ---------------------------------------------------------------------------------------
    def plan(self, chunk: PlanChunk, *, dirty_only: bool = False) -> ChunkPlan:
        """Every planned channel's (changes, unchanged) for this chunk.

        ``dirty_only`` plans only the pairs whose listing is dirty (and every pair of the products in
        :attr:`replan`); pairs the channel does not know (``missing``) and products without a listing
        are never planned.
        """
        out: ChunkPlan = {name: (Changes(), []) for name in self.channels}
        if len(self._codes) > _MEMO_LIMIT:
            self._codes.clear()
        with paused_gc():
            columns = Columns(chunk, self.channels, self.locations, self.unshared)
            if self.lanes:
                self._plan_fast(columns, dirty_only, out)
            else:
                for i in range(columns.size):
                    row = columns.row(i)
                    self._plan_explained(row, dirty_only and row[_ID] not in self.replan, out)
        return out

    def _plan_explained(self, row: Sequence[Any], dirty_only: bool, out: ChunkPlan) -> None:
        wanted = [
            name
            for name in self.channels
            if (flags := row[self._offsets[name] + PLAN_FLAGS]) is not None
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
            acked_price, flags = row[o + PLAN_ACKED_PRICE], row[o + PLAN_FLAGS]
            acked_available = (
                True if flags & PLAN_ACKED_AVAILABLE else False if flags & PLAN_ACKED_UNAVAILABLE else None
            )
            acked_preorder = row[o + PLAN_ACKED_PREORDER_KEY]
            target = targets[name]
            item = diff_target(
                target,
                row[_SKU],
                row[_ID],
                row[o + PLAN_CHANNEL_SKU] or row[_SKU],
                self.decoder.ids(row[o + PLAN_IDS]),
                row[_VERSION],
                row[o + PLAN_ACKED_QUANTITY],
                None if acked_price is None else decimal(acked_price),
                acked_available,
                partial(_given, target),
                acked_preorder,
                row[o + PLAN_DIRTY_MARK],
            )
            if item is None:
                if flags & PLAN_DIRTY:  # a pair read clean has nothing to settle
                    out[name][1].append((row[_ID], row[_VERSION], row[o + PLAN_DIRTY_MARK]))
            else:
                out[name][0].append(item)

    def _special(self, columns: Columns) -> list[int]:
        """Positions of the SKUs a mapping names, by SKU or by tag, of those with stock on order or a
        preorder signal on a channel, and of those whose adaptive buffer moves (:attr:`replan`):
        planned through ``targets``."""
        found: set[int] = set()
        if columns.incoming:
            found.update(np.flatnonzero(np.isin(columns.ids, list(columns.incoming))).tolist())
        for flags in columns.flags:
            found.update(np.flatnonzero((flags >= 0) & ((flags & PLAN_ACKED_PREORDER) != 0)).tolist())
        if self.replan:
            found.update(np.flatnonzero(np.isin(columns.ids, list(self.replan))).tolist())
        if not self.special_skus and not self.special_tags:
            return sorted(found)
        skus, tags = columns.product_names(range(columns.size))
        if self.special_skus and not self.special_skus.isdisjoint(skus):
            found.update(i for i, sku in enumerate(skus) if sku in self.special_skus)
        if self.special_tags:
            named = {raw for raw in set(tags) if raw and not self.special_tags.isdisjoint(split_tags(raw))}
            if named:
                found.update(i for i, raw in enumerate(tags) if raw in named)
        return sorted(found)

    def _plan_fast(self, columns: Columns, dirty_only: bool, out: ChunkPlan) -> None:
        """Plain SKUs from the channel-wide rules, column by column; the others through ``targets``."""
        special = self._special(columns)
        if special:
            columns.product_names(special)  # a lean chunk's: one read for the rows explained below
        for i in special:
            row = columns.row(i)
            self._plan_explained(row, dirty_only and row[_ID] not in self.replan, out)
        plain = np.ones(columns.size, dtype=np.bool_)
        plain[special] = False
        # the master prices of the chunk, numbered: prices are worked out once per distinct price
        # (in one currency, the usual case, the prices alone number them: no pair per product)
        numbered: dict[tuple[Any, str], int]
        if len(set(columns.currencies)) == 1:
            by_price = {price: n for n, price in enumerate(dict.fromkeys(columns.prices))}
            numbered = {(price, columns.currencies[0]): n for price, n in by_price.items()}
            key_of = np.fromiter(
                map(by_price.__getitem__, columns.prices), dtype=np.int64, count=columns.size
            )
        else:
            keys = list(zip(columns.prices, columns.currencies, strict=True))
            numbered = {key: n for n, key in enumerate(dict.fromkeys(keys))}
            key_of = np.fromiter(map(numbered.__getitem__, keys), dtype=np.int64, count=len(keys))
        acked_codes: Ints | None = None
        explainer = _Explainer(self, columns)
        offers: dict[tuple[int, int], tuple[Ints, Ints]] = {}
        """(Lane :attr:`_Lane.alike`, its share group) -> the positions it planned in this chunk and
        what it offers there."""
        for lane in self.lanes:
            flags = columns.flags[lane.index]
            planned = plain & (flags >= 0)
            if dirty_only:
                planned &= (flags & PLAN_DIRTY) != 0
            at = np.flatnonzero(planned)
            if not len(at):
                continue
            # lanes that offer alike from the same stock columns (none shared, or the same shares)
            # compute the offered quantities once
            alike = (lane.alike, columns.share_group.get(lane.index, -1))
            earlier = offers.get(alike)
            if earlier is not None and np.array_equal(earlier[0], at):
                offered = earlier[1]
            else:
                offered = self._offered(lane, columns, at)
                offers[alike] = at, offered
            prices: list[PriceResult] | None = None
            price_code = acked_code = None
            if lane.prices is not None:
                prices = [self._price(lane, key) for key in numbered]
                if acked_codes is None:
                    acked_codes = self._acked_codes(columns.acked_prices)
                price_code = np.array([self._code(r.price) for r in prices], dtype=np.int64)[key_of[at]]
                acked_code = acked_codes[columns.rows[lane.index][at]]
            known = (flags[at] & PLAN_ACKED_KNOWN) != 0
            acked = columns.acked[lane.index][at]
            quantity, reprice = changes(offered, acked, known, price_code, acked_code)
            changed = quantity | reprice
            settled = at[~changed & ((flags[at] & PLAN_DIRTY) != 0)]  # read clean: nothing to settle
            changes_out, unchanged = out[lane.name]
            unchanged += zip(
                columns.ids[settled].tolist(),
                columns.versions[settled].tolist(),
                columns.marks[lane.index][settled].tolist(),
                strict=True,
            )
            if changed.any():
                here = at[changed]
                block = _Block(
                    self,
                    lane,
                    columns,
                    explainer,
                    here,
                    offered[changed],
                    quantity[changed],
                    acked[changed],
                    known[changed],
                    prices,
                    key_of[here],
                    reprice[changed],
                )
                changes_out.add(block)

    def _offered(self, lane: _Lane, columns: Columns, at: Ints) -> Ints:
        """What the lane offers of the products at ``at``: the pools in array arithmetic, the rest of
        the rule once per distinct pool; an inactive product offers nothing (as ``targets`` says)."""
        active = columns.active[at]
        if not active.any():
            return np.zeros(len(at), dtype=np.int64)
        on_hand, reserved = columns.stock_of(lane.index)
        numbers = [(on_hand[k][at], reserved[k][at]) for k in lane.sources if k >= 0]
        kept = [units for k, units in zip(lane.sources, lane.kept, strict=True) if k >= 0]
        pools = channel_pools(numbers, kept, np.zeros(len(at), dtype=np.int64))
        offered = through(pools, partial(offered_for_pool, rules=lane.rules), lane.offered)
        offered[~active] = 0
        return offered

    def _price(self, lane: _Lane, key: tuple[Any, str]) -> PriceResult:
        assert lane.prices is not None
        assert lane.price_rules is not None
        result = lane.prices.get(key)
        if result is None:
            if len(lane.prices) > _MEMO_LIMIT:
                lane.prices.clear()
            result = lane.prices[key] = price_for(self.decoder.decimal(key[0]), key[1], lane.price_rules)
        return result

    def _code(self, price: Decimal) -> int:
        return self._codes.setdefault(price, len(self._codes))

    def _acked_codes(self, raw: Sequence[Any]) -> Ints:
        """The number of each listing row's acknowledged price (-1: none acknowledged)."""
        decimal = self.decoder.decimal
        code = {value: -1 if value is None else self._code(decimal(value)) for value in dict.fromkeys(raw)}
        return np.fromiter(map(code.__getitem__, raw), dtype=np.int64, count=len(raw))
