"""Kits, bundles and pack listings: the only place their arithmetic lives. Pure: no I/O.

A kit SKU is made of components, each a plain SKU, ``quantity`` of it per kit. It holds no stock of
its own: at each location it has as many kits as its scarcest component allows::

    kits[L] = min over components k of floor(max(0, on_hand[k,L] − reserved[k,L]) ÷ quantity[k])

and this is the kit's stock (on hand ``kits[L]``, nothing reserved) that the channel's rules then
apply to (:mod:`omnisync.allocation`). A *pack listing* ("pack of 6") is a kit of one component: it
offers ⌊available ÷ 6⌋ and a sale of one consumes 6. A kit's components are plain SKUs: a kit inside
a kit is refused (:func:`check_kits`).

Selling a kit reserves and consumes its components (:func:`component_lines`): intake keeps a kit order
line as one line per component, keyed by the order line, so cancelling releases the components.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omnisync.sdk.models import OrderLine

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "COMPONENT_SEPARATOR",
    "LINE_SEPARATOR",
    "Component",
    "KitError",
    "KitStock",
    "check_kits",
    "component_line_id",
    "component_lines",
    "format_kit",
    "kit_columns",
    "kit_stock",
    "parse_kit",
    "pool_shares",
]

COMPONENT_SEPARATOR = "|"
"""Between components in the CSV ``kit`` cell: ``MUG:2|LID:1`` (a quantity of 1 may be left out)."""
LINE_SEPARATOR = "/"
"""Between an order line's id and a component SKU in the ids of a kit line's component lines."""


class KitError(ValueError):
    """A kit definition the ledger refuses (nested kit, unknown component, bad quantity)."""


@dataclass(frozen=True, slots=True)
class Component:
    sku: str
    quantity: int
    """Units of the component in one kit (≥ 1)."""


def parse_kit(text: str) -> tuple[Component, ...]:
    """``MUG:2|LID`` -> the components (empty text: not a kit). Raises :class:`KitError` naming
    the part that is wrong."""
    out: list[Component] = []
    seen: set[str] = set()
    for part in (p.strip() for p in text.split(COMPONENT_SEPARATOR)):
        if not part:
            continue
        sku, _, number = part.rpartition(":") if ":" in part else (part, "", "1")
        sku = sku.strip()
        if not sku:
            raise KitError(f"kit component {part!r} names no SKU")
        try:
            quantity = int(number.strip())
        except ValueError:
            raise KitError(f"kit component {part!r}: {number.strip()!r} is not a whole number") from None
        if quantity < 1:
            raise KitError(f"kit component {part!r}: the quantity must be ≥ 1")
        if sku in seen:
            raise KitError(f"kit component {sku!r} is named twice")
        seen.add(sku)
        out.append(Component(sku, quantity))
    return tuple(out)


def format_kit(components: Iterable[Component]) -> str:
    """The CSV cell of a kit: :func:`parse_kit`'s inverse (components in the order given)."""
    return COMPONENT_SEPARATOR.join(c.sku if c.quantity == 1 else f"{c.sku}:{c.quantity}" for c in components)


def check_kits(
    kits: Mapping[str, Sequence[Component]], known: Iterable[str], other_kits: Iterable[str] = ()
) -> None:
    """Refuse what cannot be a kit: a component that is itself a kit (nested kits), a kit made of
    itself, a component the ledger does not know. ``kits`` the kits being defined, ``known`` every
    SKU, ``other_kits`` the SKUs that are kits besides. Raises :class:`KitError` with one line naming
    the kit and the component."""
    skus = set(known)
    nested = {sku for sku, components in kits.items() if components} | set(other_kits)
    for kit, components in kits.items():
        for c in components:
            if c.sku == kit:
                raise KitError(f"kit {kit}: a kit cannot contain itself")
            if c.sku in nested:
                raise KitError(f"kit {kit}: component {c.sku} is itself a kit (kits cannot be nested)")
            if c.sku not in skus:
                raise KitError(f"kit {kit}: unknown component SKU {c.sku!r}")


@dataclass(frozen=True, slots=True)
class KitStock:
    """A kit's units at one location and the component that limits them."""

    kits: int
    limiting: str
    """The component SKU with the fewest kits' worth (the first of equals)."""
    detail: str
    """Every component's share: ``MUG 7÷2=3, LID 2÷1=2``."""


def kit_stock(
    components: Sequence[tuple[Hashable, int]], stock: Mapping[Any, Mapping[Any, tuple[int, int]]]
) -> dict[Any, KitStock]:
    """The kit's units per location: ``components`` (component, quantity per kit); ``stock``
    component -> location -> (on_hand, reserved), components and locations named alike by their SKU
    and code, or by their ids. A location where a component has no record holds 0 of it. The scalar
    form of :func:`kit_columns`."""
    locations = sorted({where for key, _ in components for where in stock.get(key, {})})
    out: dict[Any, KitStock] = {}
    for where in locations:
        parts = []
        best: tuple[int, str] | None = None
        for key, quantity in components:
            on_hand, reserved = stock.get(key, {}).get(where, (0, 0))
            available = max(0, on_hand - reserved)
            kits = available // quantity
            parts.append(f"{key} {available}÷{quantity}={kits}")
            if best is None or kits < best[0]:
                best = (kits, str(key))
        if best is not None:
            out[where] = KitStock(best[0], best[1], ", ".join(parts))
    return out


def kit_columns(
    kit_ids: NDArray[Any],
    component_ids: NDArray[Any],
    quantities: NDArray[Any],
    stock: Sequence[NDArray[Any]],
    location_ids: Sequence[int],
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """:func:`kit_stock` for a whole chunk at once, as arrays: ``kit_ids``, ``component_ids``,
    ``quantities`` one row per (kit, component); ``stock`` the components' (product id, location id,
    on_hand, reserved) columns. Returns the kits' stock columns (kit id, location id, kits) for every
    kit at every location of ``location_ids``: the minimum over components of
    ⌊max(0, on_hand − reserved) ÷ quantity⌋, a missing record counting as 0."""
    import numpy as np

    kit_ids = np.asarray(kit_ids, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if not len(kit_ids) or not len(location_ids):
        return empty, empty, empty
    component_ids = np.asarray(component_ids, dtype=np.int64)
    quantities = np.asarray(quantities, dtype=np.int64)
    s_pid, s_lid, s_on_hand, s_reserved = (np.asarray(c, dtype=np.int64) for c in stock)
    available = np.maximum(0, s_on_hand - s_reserved)
    # each component's available units at each location: a (component row, location) matrix
    order = np.argsort(s_pid, kind="stable")
    s_pid, s_lid, available = s_pid[order], s_lid[order], available[order]
    kits = np.unique(kit_ids)
    per_row = np.zeros((len(kit_ids), len(location_ids)), dtype=np.int64)
    for j, location_id in enumerate(location_ids):
        here = s_lid == location_id
        pids, units = s_pid[here], available[here]
        at = np.searchsorted(pids, component_ids)
        found = at < len(pids)
        found[found] = pids[at[found]] == component_ids[found]
        column = np.zeros(len(component_ids), dtype=np.int64)
        column[found] = units[at[found]]
        per_row[:, j] = column // quantities
    # the minimum over each kit's rows (rows grouped by kit)
    grouped = np.argsort(kit_ids, kind="stable")
    starts = np.searchsorted(kit_ids[grouped], kits)
    minimum = np.minimum.reduceat(per_row[grouped], starts, axis=0)
    n = len(location_ids)
    return (
        np.repeat(kits, n),
        np.tile(np.asarray(location_ids, dtype=np.int64), len(kits)),
        minimum.reshape(-1),
    )


def pool_shares(
    groups: Mapping[str, Sequence[str]], explicit: Mapping[str, int | None], channel: str
) -> dict[str, tuple[int, str]]:
    """Several listings of one SKU on one channel share its pool without exposing it twice: the SKU
    itself and its pack and shadow listings (kits of that one SKU) listed there. ``groups``: master
    SKU -> the SKUs of its group listed on the channel (two or more); ``explicit``: the ``share`` a
    SKU's own mapping rules set (None: none). The SKUs without one split what the others leave of
    100 %, rounded down, so the shares of a group never sum above 100. Returns SKU -> (share, why);
    raises :class:`KitError` when the set shares alone exceed 100 %."""
    out: dict[str, tuple[int, str]] = {}
    for master, members in groups.items():
        given = {sku: explicit[sku] for sku in members if explicit.get(sku) is not None}
        taken = sum(share for share in given.values() if share is not None)
        if taken > 100:
            raise KitError(
                f"channel {channel}: {', '.join(members)} share the pool of {master}; "
                f"their shares sum to {taken} % (at most 100)"
            )
        free = [sku for sku in members if sku not in given]
        why = f"{', '.join(members)} share the pool of {master} on {channel}"
        for sku in free:
            out[sku] = ((100 - taken) // len(free), why)
    return out


def component_line_id(line_id: str, component_sku: str) -> str:
    """The id of a kit order line's line for one component (kept per line by intake)."""
    return f"{line_id}{LINE_SEPARATOR}{component_sku}"


def component_lines(line: OrderLine, components: Sequence[tuple[str, int]]) -> list[OrderLine]:
    """A kit order line as one line per component, every cumulative number times the quantity per
    kit: ``K`` ×2 of a kit ``MUG:2|LID`` holds 4 ``MUG`` and 2 ``LID``. The channel's price is the
    kit's, not a component's: the component lines carry none."""
    return [
        OrderLine(
            component_line_id(line.line_id, sku),
            line.channel_sku,
            line.quantity * quantity,
            line.fulfilled * quantity,
            line.cancelled * quantity,
            line.restocked * quantity,
            None,
            line.refunded * quantity,
        )
        for sku, quantity in components
    ]
