"""Kits, pure: the CSV cell, the refusals, and the array form of the kit arithmetic against its
scalar form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync.kits import (
    Component,
    Draw,
    KitError,
    check_kits,
    component_lines,
    draw_order,
    format_kit,
    kit_columns,
    kit_stock,
    parse_kit,
    sales_shares,
    shared_columns,
)
from omnisync.sdk.models import OrderLine


def test_the_kit_cell_reads_and_writes_components() -> None:
    assert parse_kit("MUG:2| LID ") == (Component("MUG", 2), Component("LID", 1))
    assert parse_kit("") == ()
    assert format_kit(parse_kit("MUG:2|LID")) == "MUG:2|LID"
    assert parse_kit("A:B:3") == (Component("A:B", 3),)  # the last colon parts SKU and quantity


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("MUG:0", "kit component 'MUG:0': the quantity must be ≥ 1"),
        ("MUG:two", "kit component 'MUG:two': 'two' is not a whole number"),
        (":2", "kit component ':2' names no SKU"),
        ("MUG|MUG:2", "kit component 'MUG' is named twice"),
    ],
)
def test_a_bad_kit_cell_is_one_line(cell: str, message: str) -> None:
    with pytest.raises(KitError) as refused:
        parse_kit(cell)
    assert str(refused.value) == message


def test_nested_kits_and_unknown_components_are_refused() -> None:
    known = {"MUG", "LID", "GIFT", "BIG"}
    check_kits({"GIFT": parse_kit("MUG:2|LID")}, known)
    with pytest.raises(KitError, match="kit BIG: component GIFT is itself a kit"):
        check_kits({"GIFT": parse_kit("MUG:2|LID"), "BIG": parse_kit("GIFT|MUG")}, known)
    with pytest.raises(KitError, match="kit BIG: component GIFT is itself a kit"):
        check_kits({"BIG": parse_kit("GIFT")}, known, other_kits={"GIFT"})
    with pytest.raises(KitError, match="kit GIFT: unknown component SKU 'CUP'"):
        check_kits({"GIFT": parse_kit("CUP")}, known)


def test_a_kit_line_is_one_line_per_component() -> None:
    line = OrderLine("L1", "WEB-GIFT", 3, fulfilled=1, cancelled=1, restocked=1, refunded=1)
    parts = component_lines(line, [("MUG", 2), ("LID", 1)])
    assert [(p.line_id, p.quantity, p.fulfilled, p.cancelled, p.restocked, p.refunded) for p in parts] == [
        ("L1/MUG", 6, 2, 2, 2, 2),
        ("L1/LID", 3, 1, 1, 1, 1),
    ]
    assert {p.channel_sku for p in parts} == {"WEB-GIFT"}


def test_the_limiting_component_is_named() -> None:
    got = kit_stock([("MUG", 2), ("LID", 1)], {"MUG": {"WH": (9, 2)}, "LID": {"WH": (4, 0), "ST": (1, 0)}})
    assert (got["WH"].kits, got["WH"].limiting) == (3, "MUG")
    assert got["WH"].detail == "MUG 7÷2=3, LID 4÷1=4"
    assert (got["ST"].kits, got["ST"].limiting) == (0, "MUG")  # no mug record in the store: 0


units = st.integers(min_value=0, max_value=40)


@settings(max_examples=200, deadline=None)
@given(
    kits=st.dictionaries(
        st.integers(min_value=100, max_value=110),
        st.dictionaries(
            st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=7), min_size=1
        ),
        max_size=6,
    ),
    stock=st.dictionaries(
        st.tuples(st.integers(min_value=1, max_value=6), st.sampled_from([1, 2, 3])),
        st.tuples(units, units),
    ),
)
def test_the_kit_columns_are_the_kits_of_each_kit(
    kits: dict[int, dict[int, int]], stock: dict[tuple[int, int], tuple[int, int]]
) -> None:
    rows = [
        (kit, component, quantity) for kit, parts in kits.items() for component, quantity in parts.items()
    ]
    rows.reverse()  # in no particular order
    columns = [np.array(c, dtype=np.int64) for c in zip(*rows, strict=True)] if rows else [np.zeros(0)] * 3
    records = [(pid, at, *numbers) for (pid, at), numbers in stock.items()]
    s = [np.array(c, dtype=np.int64) for c in zip(*records, strict=True)]
    if not s:
        s = [np.zeros(0, dtype=np.int64)] * 4
    kit_ids, location_ids, got = kit_columns(*columns, s, [1, 2, 3])
    found = {(int(k), int(lo)): int(n) for k, lo, n in zip(kit_ids, location_ids, got, strict=True)}
    assert len(found) == 3 * len(kits)
    per_component: dict[int, dict[int, tuple[int, int]]] = {}
    for (pid, lid), numbers in stock.items():
        per_component.setdefault(pid, {})[lid] = numbers
    for kit, parts in kits.items():
        scalar = kit_stock(list(parts.items()), per_component)
        for lid in (1, 2, 3):
            assert found[kit, lid] == (scalar[lid].kits if lid in scalar else 0)


def test_listings_drawing_on_one_component_share_its_units_by_sales() -> None:
    # MUG itself, a gift of 2 MUG and a pack of 6 MUG on one channel: one sale each in turn
    assert sales_shares(5, (1, 2, 6)) == (3, 1, 0)  # the pack of 6 does not fit: the others take it
    assert sales_shares(9, (1, 2, 6)) == (1, 1, 1)
    assert sales_shares(20, (1, 2, 6)) == (4, 2, 2)  # 4 + 4 + 12 = 20
    assert sales_shares(1, (1, 1, 1)) == (1, 0, 0)  # the last unit: the first listing served
    assert sales_shares(0, (1, 2)) == (0, 0)
    assert sales_shares(-3, (1,)) == (0,)


@settings(max_examples=200)
@given(available=st.integers(-2, 60), per_sale=st.lists(st.integers(1, 7), min_size=1, max_size=5))
def test_the_shares_never_take_more_than_the_units_and_leave_none_usable(
    available: int, per_sale: list[int]
) -> None:
    sales = sales_shares(available, tuple(per_sale))
    taken = sum(q * n for q, n in zip(per_sale, sales, strict=True))
    assert taken <= max(0, available)
    assert max(0, available) - taken < min(per_sale)  # no listing's sale still fits


def test_a_kit_takes_its_share_of_a_shared_component_at_each_location() -> None:
    draws = {"MUG": (Draw("MUG", 1), Draw("GIFT", 2), Draw("SIX", 6))}
    stock = {"MUG": {"WH": (7, 2)}, "LID": {"WH": (4, 0)}}
    gift = kit_stock([("MUG", 2), ("LID", 1)], stock, "GIFT", draws)["WH"]
    assert (gift.kits, gift.limiting) == (1, "MUG")
    assert gift.detail == "MUG 5 shared sale by sale: MUG 3, GIFT 1×2, SIX 0×6; LID 4÷1=4"
    assert kit_stock([("MUG", 1)], stock, "MUG", draws)["WH"].kits == 3
    assert kit_stock([("MUG", 2), ("LID", 1)], stock)["WH"].kits == 2  # without draws: all of it


@settings(max_examples=60, deadline=None)
@given(
    stock=st.dictionaries(
        st.tuples(st.integers(1, 4), st.sampled_from([1, 2])), st.tuples(units, units), max_size=8
    ),
    gift=st.integers(1, 3),
    pack=st.integers(1, 6),
    listed=st.sets(st.sampled_from([(7, 1), (7, 2), (8, 1), (9, 3)])),
)
def test_the_shared_columns_are_the_shares_of_each_listing(
    stock: dict[tuple[int, int], tuple[int, int]], gift: int, pack: int, listed: set[tuple[int, int]]
) -> None:
    # on channel 7: kits 10 (gift × 1, 1 × 2) and 11 (pack × 1), 1 listed too if asked: 1 shared;
    # on channel 8: kit 10 alone; channel 9 lists kit 12 (2 × 3)
    draws = [
        (7, 10, 1, gift),
        (7, 10, 2, 1),
        (7, 11, 1, pack),
        (8, 10, 1, gift),
        (8, 10, 2, 1),
        (9, 12, 2, 3),
    ]
    d = [np.array(c, dtype=np.int64) for c in zip(*draws, strict=True)]
    pairs = sorted(listed)
    ls = [np.array(c, dtype=np.int64) for c in zip(*pairs, strict=True)] if pairs else [np.zeros(0)] * 2
    records = [(pid, at, *numbers) for (pid, at), numbers in stock.items()]
    s = [np.array(c, dtype=np.int64) for c in zip(*records, strict=True)] if records else [np.zeros(0)] * 4
    channels, listings, location_ids, got = shared_columns(d, ls, s, [1, 2])
    found = {
        (int(c), int(k), int(lo)): int(n)
        for c, k, lo, n in zip(channels, listings, location_ids, got, strict=True)
    }
    per_component: dict[int, dict[int, tuple[int, int]]] = {}
    for (pid, lid), numbers in stock.items():
        per_component.setdefault(pid, {})[lid] = numbers
    kits = {10: [(1, gift), (2, 1)], 11: [(1, pack)], 12: [(2, 3)]}
    for channel in (7, 8, 9):
        on = {k for c, k, _, _ in draws if c == channel}
        drawing: dict[int, list[Draw]] = {}
        for c, kit, component, quantity in draws:
            if c == channel:
                drawing.setdefault(component, []).append(Draw(kit, quantity, kit))
        for component, ds in drawing.items():
            if (channel, component) in listed:
                ds.append(Draw(component, 1, component))
        ordered = {component: draw_order(ds, component) for component, ds in drawing.items()}
        expected = {k: kit_stock(kits[k], per_component, k, ordered) for k in on}
        expected |= {
            c: kit_stock([(c, 1)], per_component, c, ordered)
            for (ch, c) in listed
            if ch == channel and c in drawing
        }
        assert {k for c, k, _ in found if c == channel} == set(expected)
        for listing, scalar in expected.items():
            for lid in (1, 2):
                assert found[channel, listing, lid] == (scalar[lid].kits if lid in scalar else 0)
        for component in drawing:  # never more of a component, over its listings, than it has
            for lid in (1, 2):
                on_hand, reserved = per_component.get(component, {}).get(lid, (0, 0))
                taken = sum(d.quantity * found[channel, d.listing, lid] for d in ordered[component])
                assert taken <= max(0, on_hand - reserved)
