"""The chunk planner's column-by-column fast path against the explained path (``targets`` pair by
pair), for random channel-wide rules, policies, stock, acknowledged values and raw columns; and the
array forms of the rules against their scalar forms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from enginekit import planned_view
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from omnisync.allocation import (
    BufferedPolicy,
    QuantityRules,
    SplitPolicy,
    channel_pool,
    channel_pools,
)
from omnisync.engine.chunk_planner import ChunkPlanner, Columns
from omnisync.engine.planner import ChunkPlan, change, changes
from omnisync.engine.targets import ChannelRules, TargetCalculator
from omnisync.ledger.plan_rows import (
    PLAN_ACKED_AVAILABLE,
    PLAN_ACKED_KNOWN,
    PLAN_ACKED_PREORDER,
    PLAN_DIRTY,
    PlanChunk,
    PlanDecoder,
)
from omnisync.mapping import ChannelMapping, MappingFile
from omnisync.pricing import PriceRules

NOW = datetime(2026, 3, 1, tzinfo=UTC)
LOCATIONS = ("WH", "STORE")
SOURCES = {"web": ("WH", "STORE"), "pos": ("STORE",), "market": ("WH", "ELSEWHERE")}
count = st.integers(min_value=0, max_value=60)


@st.composite
def quantity_rules(draw: st.DrawFn, share: int) -> QuantityRules:
    return QuantityRules(
        share=share,
        buffer_units=draw(st.integers(min_value=0, max_value=5)),
        buffer_percent=draw(st.sampled_from([Decimal(0), Decimal(5), Decimal("12.5"), Decimal(30)])),
        max_quantity=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=40))),
        out_of_stock_below=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=6))),
        source_buffers={code: draw(st.integers(min_value=0, max_value=5)) for code in LOCATIONS},
        preorder_limit=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=12))),
    )


@st.composite
def calculators(draw: st.DrawFn) -> TargetCalculator:
    split = draw(st.booleans())
    # split: the shares of the channels drawing from one location sum to at most 100
    web = draw(st.integers(min_value=0, max_value=100))
    shares = {"web": web, "pos": 100 - web, "market": 0} if split else {"web": web, "pos": 100, "market": 100}
    channels = []
    for name, sources in SOURCES.items():
        price = PriceRules(
            markup_percent=draw(st.sampled_from([Decimal(0), Decimal(10), Decimal(-20)])),
            rounding=draw(st.sampled_from([None, ".99"])),
        )
        # a mapping's channel-wide rules stack on the configured ones, as in a deployment
        mapping = MappingFile.model_validate(
            draw(st.sampled_from([{}, {"quantity": {"buffer_units": 2}}, {"price": {"fixed_add": "1.00"}}]))
        )
        channels.append(
            ChannelRules(
                name,
                sources,
                draw(quantity_rules(shares[name])),
                price,
                ChannelMapping(name, mapping),
                push_prices=draw(st.booleans()),
            )
        )
    return TargetCalculator(channels, SplitPolicy() if split else BufferedPolicy())


PRICES = [10, 12.5, 0, 99.95, 10.0]  # as SQLite returns NUMERIC: int or float
ACKED_PRICES = [None, 10, 10.99, 11, 13.99, 8.99, 0]
ACKED_PREORDERS = [None, None, None, "", "3@2026-03-20", "5@"]


@st.composite
def chunks(draw: st.DrawFn) -> PlanChunk:
    n = draw(st.integers(min_value=1, max_value=25))
    ids = sorted(draw(st.sets(st.integers(min_value=1, max_value=500), min_size=n, max_size=n)))
    if draw(st.booleans()):  # the read gives no order
        ids = draw(st.permutations(ids))
    products = [
        np.array(ids, dtype=np.int64),
        [f"SKU{i}" for i in ids],
        [draw(st.sampled_from(["", "a", "a,b"])) for _ in ids],
        [draw(st.sampled_from(PRICES)) for _ in ids],
        [draw(st.sampled_from(["EUR", "USD"])) for _ in ids],
        np.array([draw(st.sampled_from([1, 1, 0])) for _ in ids], dtype=np.int64),
        np.array([draw(st.integers(min_value=1, max_value=9)) for _ in ids], dtype=np.int64),
    ]
    # complete: a stock record and a listing for every product, as the planner reads them in blocks
    complete = draw(st.booleans())
    stock: list[list[int]] = [[], [], [], []]
    for pid in ids:
        for location_id in draw(st.sampled_from([(1, 2), (2, 1)])) if complete else (1, 2):
            if complete or draw(st.integers(min_value=0, max_value=9)) < 8:
                for column, value in zip(stock, (pid, location_id, draw(count), draw(count)), strict=True):
                    column.append(value)
    # stock on order (read only when a channel takes preorders), some expected on a date
    incoming: dict[int, dict[int, tuple[int, date | None]]] = {}
    for pid in ids:
        for location_id in (1, 2):
            if draw(st.integers(min_value=0, max_value=3)) == 0:
                when = draw(st.sampled_from([None, date(2026, 3, 20), date(2026, 4, 2)]))
                units = draw(st.integers(min_value=1, max_value=15))
                incoming.setdefault(pid, {})[location_id] = (units, when)
    listings: list[list[Any]] = [[], [], [], [], [], [], []]
    named: dict[tuple[int, int], tuple[str, str]] = {}
    for pid in ids:
        for channel_id in (1, 2, 3):
            if not complete and draw(st.integers(min_value=0, max_value=9)) == 0:
                continue  # no listing (or one the channel does not know)
            acked = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=40)))
            flags = draw(st.sampled_from([0, PLAN_DIRTY, PLAN_ACKED_AVAILABLE | PLAN_DIRTY]))
            acked_preorder = draw(st.sampled_from(ACKED_PREORDERS))
            row = (
                channel_id,
                pid,
                flags
                | (0 if acked is None else PLAN_ACKED_KNOWN)
                | (PLAN_ACKED_PREORDER if acked_preorder else 0),
                acked or 0,
                draw(st.sampled_from(ACKED_PRICES)),
                acked_preorder,
                draw(st.integers(min_value=0, max_value=3)),  # the listing's dirty mark
            )
            for column, value in zip(listings, row, strict=True):
                column.append(value)
            if draw(st.integers(min_value=0, max_value=19)) == 0:
                continue  # the listing is gone when its names are read: master SKU, no ids
            named[channel_id, pid] = (
                draw(st.sampled_from([f"SKU{pid}", f"ALIAS-{pid}"])),
                draw(st.sampled_from(["{}", f'{{"id": "x{pid}c{channel_id}"}}'])),
            )

    def names(channel_id: int, product_ids: Any) -> tuple[list[Any], list[Any]]:
        pairs = [named.get((channel_id, pid), (None, None)) for pid in np.asarray(product_ids).tolist()]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    if draw(
        st.booleans()
    ):  # the listings channel by channel (along the listing key), else product by product
        order = sorted(range(len(listings[0])), key=lambda row: listings[0][row])
        listings = [[column[row] for row in order] for column in listings]
    as_arrays = [np.array(column, dtype=np.int64) for column in stock]
    for i in (0, 1, 2, 3, 6):
        listings[i] = np.array(listings[i], dtype=np.int64)
    return PlanChunk((1, 2, 3), (1, 2), products, as_arrays, listings, names, incoming)


def lean(chunk: PlanChunk) -> PlanChunk:
    """The chunk as a lean read gives it: SKUs and tags read by product id when wanted."""
    ids, skus, tags, *rest = chunk.products
    known = dict(zip(ids.tolist(), zip(skus, tags, strict=True), strict=True))

    def details(product_ids: Any) -> tuple[list[Any], list[Any]]:
        wanted = [known[pid] for pid in np.asarray(product_ids).tolist()]
        return [sku for sku, _ in wanted], [raw for _, raw in wanted]

    return replace(chunk, products=[ids, None, None, *rest], details=details)


def view(plan: ChunkPlan) -> dict[str, tuple[list[tuple[Any, ...]], list[tuple[int, int, int]]]]:
    for items, _ in plan.values():
        unbuilt = [column.tolist() for column in items.columns()]  # what a plan's sums read
        assert unbuilt == [
            [i.product_id for i in items],
            [-1 if i.quantity is None else i.quantity for i in items],
            [i.price is not None for i in items],
        ]
        assert [column.tolist() for column in items.columns()] == unbuilt  # once built, the same
        assert len(items) == len(list(items))
        for i in items:  # Python numbers, not numpy's
            assert all(
                type(v) in (int, type(None))
                for v in (i.product_id, i.version, i.quantity, i.previous, i.mark)
            )
    return {name: (planned_view(items), sorted(settled)) for name, (items, settled) in plan.items()}


@settings(max_examples=150, deadline=None)
@given(calculator=calculators(), chunk=chunks(), dirty_only=st.booleans())
def test_the_fast_plan_of_a_chunk_is_the_explained_plan(
    calculator: TargetCalculator, chunk: PlanChunk, dirty_only: bool
) -> None:
    def planner() -> ChunkPlanner:
        return ChunkPlanner(
            calculator, ["web", "pos", "market"], LOCATIONS, PlanDecoder(sqlite.dialect()), NOW
        )

    fast = planner()
    assert fast.lanes, "channel-wide rules and a per-channel policy: the fast path plans"
    explained = planner()
    explained.lanes = ()  # every pair through TargetCalculator.targets
    planned = fast.plan(chunk, dirty_only=dirty_only)
    assert view(planned) == view(explained.plan(chunk, dirty_only=dirty_only))
    assert fast.lean, "no SKU or tag named: the chunks may be lean"
    lean_planned = fast.plan(lean(chunk), dirty_only=dirty_only)
    assert view(lean_planned) == view(planned)
    for items, _ in [*planned.values(), *lean_planned.values()]:  # explanations tell the same numbers
        for item in items:
            target = item.target
            assert target.channel == item.channel
            if item.quantity is not None:
                assert target.allocation.offered == item.quantity
                assert (item.preorder.units if item.preorder else 0) == target.allocation.preorder
            if item.price is not None:
                assert target.price is not None
                assert target.price.price == item.price


@settings(max_examples=150, deadline=None)
@given(chunk=chunks())
def test_a_chunk_placed_by_product_holds_what_was_read(chunk: PlanChunk) -> None:
    """Each stock record and listing at its product's position (placed one by one, or sliced when the
    read gives a block per location or channel), compared with the raw rows."""
    columns = Columns(chunk)
    assert columns.ids.tolist() == sorted(chunk.products[0].tolist())
    stock = list(zip(*(column.tolist() for column in chunk.stock), strict=True))
    listings = list(
        zip(*(np.asarray(c).tolist() if k != 4 else c for k, c in enumerate(chunk.listings[:5])), strict=True)
    )
    for i, pid in enumerate(columns.ids.tolist()):
        for k, location_id in enumerate(chunk.location_ids):
            held = [
                (on_hand, reserved) for p, lid, on_hand, reserved in stock if (p, lid) == (pid, location_id)
            ]
            placed = (int(columns.on_hand[k][i]), int(columns.reserved[k][i]))
            assert (placed if columns.stocked[k][i] else None) == (held[0] if held else None)
        for k, channel_id in enumerate(chunk.channel_ids):
            rows = [j for j, row in enumerate(listings) if row[:2] == (channel_id, pid)]
            j = int(columns.rows[k][i])
            assert j == (rows[0] if rows else -1)
            if rows:
                assert int(columns.flags[k][i]) == listings[j][2]
                assert int(columns.acked[k][i]) == listings[j][3]
                assert int(columns.marks[k][i]) == int(np.asarray(chunk.listings[6])[j])
            else:
                assert int(columns.flags[k][i]) == -1


@settings(max_examples=300, deadline=None)
@given(
    stock=st.lists(
        st.lists(st.one_of(st.none(), st.tuples(count, count)), min_size=3, max_size=3), max_size=8
    ),
    kept=st.lists(st.integers(min_value=0, max_value=5), min_size=3, max_size=3),
)
def test_the_pools_of_a_column_are_the_pools_of_each_sku(
    stock: list[list[tuple[int, int] | None]], kept: list[int]
) -> None:
    """A SKU without a stock record at a source is given 0 and 0 there: it adds 0, as no record does."""
    numbers = [
        (
            np.array([0 if row[k] is None else row[k][0] for row in stock], dtype=np.int64),  # type: ignore[index]
            np.array([0 if row[k] is None else row[k][1] for row in stock], dtype=np.int64),  # type: ignore[index]
        )
        for k in range(3)
    ]
    pools = channel_pools(numbers, kept, np.zeros(len(stock), dtype=np.int64))
    assert pools.tolist() == [channel_pool(row, kept) for row in stock]


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            count,
            st.one_of(st.none(), count),
            st.sampled_from([Decimal("10"), Decimal("10.00"), Decimal("9.99")]),
            st.sampled_from([None, Decimal("10"), Decimal("9.990"), Decimal("11")]),
        ),
        max_size=10,
    ),
    prices=st.booleans(),
)
def test_what_a_column_of_pairs_pushes_is_what_each_pair_pushes(
    pairs: list[tuple[int, int | None, Decimal, Decimal | None]], prices: bool
) -> None:
    codes: dict[Decimal, int] = {}
    offered = np.array([p[0] for p in pairs], dtype=np.int64)
    acked = np.array([p[1] or 0 for p in pairs], dtype=np.int64)
    known = np.array([p[1] is not None for p in pairs], dtype=np.bool_)
    price = np.array([codes.setdefault(p[2], len(codes)) for p in pairs], dtype=np.int64) if prices else None
    acked_price = np.array([-1 if p[3] is None else codes.setdefault(p[3], len(codes)) for p in pairs])
    quantity, reprice = changes(offered, acked, known, price, acked_price)
    expected = [change(o, a, p if prices else None, ap) for o, a, p, ap in pairs]
    assert list(zip(quantity.tolist(), reprice.tolist(), strict=True)) == [
        (q is not None, r) for q, r in expected
    ]
