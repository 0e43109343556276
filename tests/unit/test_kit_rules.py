"""Kits, pure: the CSV cell, the refusals, and the array form of the kit arithmetic against its
scalar form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync.kits import (
    Component,
    KitError,
    check_kits,
    component_lines,
    format_kit,
    kit_columns,
    kit_stock,
    parse_kit,
    pool_shares,
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


def test_listings_of_one_sku_on_one_channel_split_its_pool() -> None:
    groups = {"MUG": ("MUG", "MUG-6", "MUG-B")}
    shares = pool_shares(groups, {"MUG-6": 40}, "amazon")
    assert {sku: share for sku, (share, _) in shares.items()} == {"MUG": 30, "MUG-B": 30}
    assert shares["MUG"][1] == "MUG, MUG-6, MUG-B share the pool of MUG on amazon"
    assert pool_shares({"MUG": ("MUG", "MUG-B")}, {}, "amazon")["MUG"][0] == 50
    assert pool_shares({"MUG": ("MUG-3", "MUG-B", "MUG")}, {}, "x")["MUG"][0] == 33  # never above 100
    with pytest.raises(KitError, match="their shares sum to 120 % \\(at most 100\\)"):
        pool_shares(groups, {"MUG": 60, "MUG-B": 60}, "amazon")
