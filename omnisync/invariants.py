"""The invariants a run of omnisync must hold, as pure functions over plain data.

The demo's verdict, the simulation's measures and the daemon tests read the ledger and the channels
(the SQL stays in the ledger package and in their own readers) and ask these functions the same
questions:

* no lost or duplicated order: every order placed on a channel is in the ledger exactly once;
* conservation: per SKU x location, the journal sums to the cached on-hand and the reservations to the
  cached reserved;
* convergence: every channel shows what the ledger says it should offer;
* no oversell: no SKU's reservations exceed its stock (read as such: ``ledger.queries.oversold``);
* listing sync: a catalogue product is listed, with its variants, on every channel that may create
  it, and a discontinued one is unpublished there, never deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar, cast

if TYPE_CHECKING:
    from omnisync.engine.runtime import Engine

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class OrderCheck(Generic[K]):
    """Orders placed on the channels against the ones the ledger imported (repeats kept)."""

    missing: list[K]
    """Placed but not in the ledger."""
    unexpected: list[K]
    """In the ledger but never placed."""
    duplicated: int
    """Imported rows beyond one per order."""


def check_orders(placed: Collection[K], imported: Iterable[K]) -> OrderCheck[K]:
    """Orders by key (an external id, or a (channel, external id) pair)."""
    rows = list(imported)
    stored = set(rows)
    return OrderCheck(
        missing=sorted(set(placed) - stored),  # type: ignore[type-var]
        unexpected=sorted(stored - set(placed)),  # type: ignore[type-var]
        duplicated=len(rows) - len(stored),
    )


@dataclass(frozen=True)
class Mismatch:
    sku: str
    shown: int | None
    offered: int

    def __str__(self) -> str:
        return f"{self.sku}: offers {self.offered}, shows {self.shown or 0}"


def mismatches(
    offered: Mapping[str, int], shown: Callable[[str], int | None], *, absent_as_zero: bool = True
) -> list[Mismatch]:
    """SKUs (in ``offered``'s order) whose channel shows another quantity than the ledger offers;
    ``absent_as_zero``: a listing the channel does not show counts as 0."""
    out: list[Mismatch] = []
    for sku, want in offered.items():
        got = shown(sku)
        if (got or 0 if absent_as_zero else got) != want:
            out.append(Mismatch(sku, got, want))
    return out


def conservation_problems(
    stock: Mapping[K, tuple[int, int]],
    journal: Mapping[K, int],
    held: Mapping[K, int],
    label: Callable[[K], str] = str,
) -> list[str]:
    """Per key (SKU x location): the journal sums to the cached on_hand, the reservations to the cached
    reserved. ``stock`` maps a key to (on_hand, reserved)."""
    problems: list[str] = []
    for key in sorted(set(stock) | set(journal) | set(held)):  # type: ignore[type-var]
        on_hand, reserved = stock.get(key, (0, 0))
        if journal.get(key, 0) != on_hand:
            problems.append(f"{label(key)}: the journal sums to {journal.get(key, 0)}, on_hand is {on_hand}")
        if held.get(key, 0) != reserved:
            problems.append(f"{label(key)}: reservations sum to {held.get(key, 0)}, reserved is {reserved}")
    return problems


def convergence(
    offered: Mapping[str, Mapping[str, int]],
    shown: Mapping[str, Callable[[str], int | None]],
    *,
    absent_as_zero: bool = True,
) -> dict[str, list[Mismatch]]:
    """Per channel, the SKUs it shows another quantity for than the ledger offers (see ``offers``)."""
    return {
        name: mismatches(offered.get(name, {}), read, absent_as_zero=absent_as_zero)
        for name, read in shown.items()
    }


@dataclass(frozen=True)
class ListingExpected:
    """What a channel that may create listings must show for one catalogue product."""

    key: str
    """The catalogue product (its handle), as the channel's double finds it (``EmulatorDouble.listing``)."""
    published: bool
    """Active: listed and visible; discontinued: still there, unpublished."""
    variants: tuple[str, ...] = ()
    """Its variants' channel SKUs (checked when given and the channel reports them)."""


def listing_problems(
    expected: Sequence[ListingExpected],
    shown: Mapping[str, Callable[[str], Mapping[str, object] | None]],
) -> dict[str, list[str]]:
    """Per channel, how what it shows (``title``, ``published``, ``variants``) breaks ``expected``."""
    out: dict[str, list[str]] = {}
    for name, read in shown.items():
        problems: list[str] = []
        for want in expected:
            got = read(want.key)
            variants = sorted(str(v) for v in cast("Iterable[object]", (got or {}).get("variants") or ()))
            if got is None:
                problems.append(f"{want.key}: not on the channel" + ("" if want.published else " (deleted?)"))
            elif bool(got.get("published")) != want.published:
                problems.append(f"{want.key}: {'not ' if want.published else ''}published")
            elif want.variants and "variants" in got and variants != sorted(want.variants):
                problems.append(f"{want.key}: variants {variants}, not {sorted(want.variants)}")
        out[name] = problems
    return out


def offers(
    engine: Engine, skus: Iterable[str], channels: Collection[str], *, excluded_as_zero: bool = True
) -> dict[str, dict[str, int]]:
    """Per channel and SKU, what the ledger says the channel should offer (an excluded listing: 0)."""
    out: dict[str, dict[str, int]] = {name: {} for name in channels}
    for sku in skus:
        for name, (target, _row) in engine.explain(sku).items():
            if name in out:
                excluded = excluded_as_zero and target.excluded
                out[name][sku] = 0 if excluded else target.allocation.offered
    return out
