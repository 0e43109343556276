"""The invariants as pure functions over plain data."""

from __future__ import annotations

from omnisync import invariants


def test_orders_lost_unexpected_and_duplicated() -> None:
    check = invariants.check_orders({"A", "B", "C"}, ["A", "A", "C", "X"])
    assert check.missing == ["B"]
    assert check.unexpected == ["X"]
    assert check.duplicated == 1


def test_convergence_counts_a_missing_listing_as_zero_unless_told() -> None:
    offered = {"shop": {"S1": 3, "S2": 0, "S3": 2}}
    shown = {"shop": {"S1": 3, "S2": None, "S3": 1}.get}
    found = invariants.convergence(offered, shown)
    assert [str(m) for m in found["shop"]] == ["S3: offers 2, shows 1"]
    strict = invariants.convergence(offered, shown, absent_as_zero=False)
    assert [(m.sku, m.shown, m.offered) for m in strict["shop"]] == [("S2", None, 0), ("S3", 1, 2)]


def test_conservation_compares_the_journal_and_reservations_with_the_cache() -> None:
    stock = {("A", "WH"): (5, 1), ("B", "WH"): (2, 0)}
    journal = {("A", "WH"): 5, ("B", "WH"): 3}
    held = {("A", "WH"): 2}
    problems = invariants.conservation_problems(stock, journal, held, "{0[0]} at {0[1]}".format)
    assert problems == [
        "A at WH: reservations sum to 2, reserved is 1",
        "B at WH: the journal sums to 3, on_hand is 2",
    ]
    assert (
        invariants.conservation_problems(stock, {k: v[0] for k, v in stock.items()}, {("A", "WH"): 1}) == []
    )


def test_listing_sync_names_what_a_channel_shows_wrongly() -> None:
    from omnisync.invariants import ListingExpected, listing_problems

    expected = [
        ListingExpected("tote", published=False, variants=("T-S", "T-L")),
        ListingExpected("scarf", published=True, variants=("S-G", "S-N")),
    ]
    shown = {
        "good": {"tote": {"published": False}, "scarf": {"published": True, "variants": ["S-N", "S-G"]}},
        "late": {"tote": {"published": True}},
        "odd": {"scarf": {"published": True, "variants": ["S-G"]}},
    }
    problems = listing_problems(expected, {name: views.get for name, views in shown.items()})  # type: ignore[misc]
    assert problems == {
        "good": [],
        "late": ["tote: published", "scarf: not on the channel"],
        "odd": ["tote: not on the channel (deleted?)", "scarf: variants ['S-G'], not ['S-G', 'S-N']"],
    }
