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

On one channel, several listings may draw on one component: the component itself, its packs and
shadows, and the kits using it. Between two pushes a channel sells from what it was last shown, so if
each of them showed everything the component allows, the channel could sell its last units twice
(once as the component, once inside a kit). Instead the channel's units of a shared component are
*partitioned* among the listings drawing on it there (:func:`sales_shares`): each gets a number of
sales, and the sum over the listings of units per sale times sales never exceeds the component's
available units, so the channel never offers more of the component, over all its listings, than the
component has. A kit's units at a location are then the minimum over its components of the sales its
share of each allows (:func:`kit_stock` with ``draws``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from omnisync.sdk.models import OrderLine

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "COMPONENT_SEPARATOR",
    "LINE_SEPARATOR",
    "Component",
    "Draw",
    "Draws",
    "KitError",
    "KitStock",
    "check_kits",
    "component_line_id",
    "component_lines",
    "format_kit",
    "kit_columns",
    "kit_stock",
    "parse_kit",
    "sales_shares",
    "shared_columns",
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


@dataclass(frozen=True, slots=True)
class Draw:
    """A listing drawing on a component on one channel."""

    listing: Hashable
    """The listing's SKU (or product id: named as the components are)."""
    quantity: int
    """Units of the component one sale of the listing takes (1 for the component itself)."""
    rank: int = 0
    """Its product id: equal units per sale go round in this order."""


Draws = Mapping[Hashable, tuple[Draw, ...]]
"""On one channel: component -> the listings there drawing on it, in the order they are served
(:func:`draw_order`), for the components that two or more listings draw on."""


def draw_order(draws: Iterable[Draw], component: Hashable) -> tuple[Draw, ...]:
    """The order a component's units go round its listings: the component itself first (a unit of it
    is a sale), then by units per sale, then by product id (:func:`shared_columns` sorts alike)."""
    return tuple(sorted(draws, key=lambda d: (d.listing != component, d.quantity, d.rank)))


@lru_cache(maxsize=65536)
def sales_shares(available: int, per_sale: tuple[int, ...]) -> tuple[int, ...]:
    """The channel's ``available`` units of a component partitioned among the listings drawing on it,
    ``per_sale[i]`` units per sale of listing ``i``: one sale each in turn, a listing whose sale no
    longer fits skipped, until no sale fits. Returns each listing's sales; Σ per_sale × sales ≤
    available, and no listing is left without a sale while its sale still fits. The units a listing
    cannot use (a pack of 6 among 5 units) go to the others."""
    if available <= 0 or not per_sale:
        return (0,) * len(per_sale)
    total = sum(per_sale)
    rounds = available // total
    sales = [rounds] * len(per_sale)
    left = available - rounds * total
    smallest = min(per_sale)
    while left >= smallest:
        for i, units in enumerate(per_sale):
            if units <= left:
                sales[i] += 1
                left -= units
    return tuple(sales)


def _share_of(listing: Hashable, available: int, draws: tuple[Draw, ...]) -> tuple[int, str]:
    """The listing's sales of a shared component and why: ``MUG 10 shared sale by sale: MUG 2,
    GIFT 1×2, SIX 1×6`` (each listing's sales, times the units a sale takes)."""
    sales = sales_shares(available, tuple(d.quantity for d in draws))
    mine = next(i for i, d in enumerate(draws) if d.listing == listing)
    if len(draws) == 1:  # no other listing draws on it there
        return sales[mine], f"{available}÷{draws[0].quantity}={sales[mine]}"
    each = ", ".join(
        f"{d.listing} {n}" if d.quantity == 1 else f"{d.listing} {n}×{d.quantity}"
        for d, n in zip(draws, sales, strict=True)
    )
    return sales[mine], f"{available} shared sale by sale: {each}"


def kit_stock(
    components: Sequence[tuple[Hashable, int]],
    stock: Mapping[Any, Mapping[Any, tuple[int, int]]],
    listing: Hashable | None = None,
    draws: Draws | None = None,
) -> dict[Any, KitStock]:
    """The kit's units per location: ``components`` (component, quantity per kit); ``stock``
    component -> location -> (on_hand, reserved), components and locations named alike by their SKU
    and code, or by their ids. A location where a component has no record holds 0 of it. With
    ``draws`` (one channel's, :data:`Draws`), the listing ``listing`` takes of each shared component
    only its share of sales (:func:`sales_shares`); a plain SKU drawn on by kits is then its own one
    component. The scalar form of :func:`kit_columns`."""
    locations = sorted({where for key, _ in components for where in stock.get(key, {})})
    out: dict[Any, KitStock] = {}
    for where in locations:
        parts = []
        best: tuple[int, str] | None = None
        for key, quantity in components:
            on_hand, reserved = stock.get(key, {}).get(where, (0, 0))
            available = max(0, on_hand - reserved)
            shared = None if draws is None else draws.get(key)
            if shared is not None and any(d.listing == listing for d in shared):
                kits, why = _share_of(listing, available, shared)
                parts.append(f"{key} {why}")
            else:
                kits = available // quantity
                parts.append(f"{key} {available}÷{quantity}={kits}")
            if best is None or kits < best[0]:
                best = (kits, str(key))
        if best is not None:
            out[where] = KitStock(best[0], best[1], ("; " if draws else ", ").join(parts))
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


def shared_columns(
    draws: Sequence[NDArray[Any]],
    listed: Sequence[NDArray[Any]],
    stock: Sequence[NDArray[Any]],
    location_ids: Sequence[int],
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """:func:`shared_groups` as one set of rows (channel id, listing id, location id, units)."""
    import numpy as np

    parts = [
        (np.full(len(listing), channel, dtype=np.int64), listing, location, units)
        for channels, (listing, location, units) in shared_groups(draws, listed, stock, location_ids)
        for channel in channels
    ]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    channel, listing, location, units = (np.concatenate(column) for column in zip(*parts, strict=True))
    return channel, listing, location, units


def shared_groups(
    draws: Sequence[NDArray[Any]],
    listed: Sequence[NDArray[Any]],
    stock: Sequence[NDArray[Any]],
    location_ids: Sequence[int],
) -> list[tuple[tuple[int, ...], tuple[NDArray[Any], NDArray[Any], NDArray[Any]]]]:
    """:func:`_shared_rows` once per set of channels where the same listings draw on the same
    components alike (the usual case: a kit listed everywhere its components are): (the channels,
    their (listing id, location id, units) rows)."""
    import numpy as np

    d_channel, d_kit, d_component, d_quantity = (np.asarray(c, dtype=np.int64) for c in draws)
    if not len(d_kit) or not len(location_ids):
        return []
    l_channel, l_product = (np.asarray(c, dtype=np.int64) for c in listed)
    signatures: dict[bytes, list[int]] = {}
    for channel in np.unique(d_channel).tolist():
        mine = d_channel == channel
        kit, component, quantity = d_kit[mine], d_component[mine], d_quantity[mine]
        order = np.lexsort((component, kit))
        own = np.unique(l_product[(l_channel == channel) & np.isin(l_product, component)])
        key = b"".join(a.tobytes() for a in (kit[order], component[order], quantity[order], own))
        key += len(order).to_bytes(8, "little")
        signatures.setdefault(key, []).append(int(channel))
    out = []
    for channels in signatures.values():
        first = channels[0]
        mine = d_channel == first
        one = (d_channel[mine], d_kit[mine], d_component[mine], d_quantity[mine])
        _, listing, location, units = _shared_rows(one, listed, stock, location_ids)
        out.append((tuple(channels), (listing, location, units)))
    return out


def _shared_rows(
    draws: Sequence[NDArray[Any]],
    listed: Sequence[NDArray[Any]],
    stock: Sequence[NDArray[Any]],
    location_ids: Sequence[int],
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """:func:`kit_stock` with each channel's draws, for a whole chunk at once, as arrays.

    ``draws``: (channel id, kit id, component id, quantity per kit), one row per component of each
    kit listed on each channel; ``listed``: (channel id, product id), the components listed
    themselves; ``stock``: the components' (product id, location id, on_hand, reserved). On each
    channel a component's units go round the listings drawing on it in :func:`draw_order` (itself,
    then by units per sale, then by product id) by :func:`sales_shares`, each distinct (units,
    sharing, place) worked out once. Returns (channel id, listing id, location id, units) for every
    listing drawing on some component (a kit: the least over its components; a component: its own
    share), at every location of ``location_ids``."""
    import numpy as np

    empty = np.zeros(0, dtype=np.int64)
    d_channel, d_kit, d_component, d_quantity = (np.asarray(c, dtype=np.int64) for c in draws)
    if not len(d_kit) or not len(location_ids):
        return empty, empty, empty, empty
    l_channel, l_product = (np.asarray(c, dtype=np.int64) for c in listed)
    # a component listed on a channel where some kit draws on it draws on itself, one unit a sale
    own = np.isin(_pairs(l_channel, l_product), _pairs(d_channel, d_component))
    channel = np.concatenate([d_channel, l_channel[own]])
    component = np.concatenate([d_component, l_product[own]])
    listing = np.concatenate([d_kit, l_product[own]])
    quantity = np.concatenate([d_quantity, np.ones(int(own.sum()), dtype=np.int64)])
    # each (channel, component) group in the order its units go round
    order = np.lexsort((listing, quantity, listing != component, component, channel))
    channel, component, listing, quantity = channel[order], component[order], listing[order], quantity[order]
    new = np.ones(len(order), dtype=np.bool_)
    new[1:] = (channel[1:] != channel[:-1]) | (component[1:] != component[:-1])
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    place = np.arange(len(order)) - starts[group]
    sizes = np.diff(np.append(starts, len(order)))
    # each group's sharing (its units per sale, in order), numbered: equal sharings, equal numbers
    table = np.zeros((len(starts), int(sizes.max())), dtype=np.int64)
    table[group, place] = quantity
    sharings, sharing = _unique_rows(table)
    sharing = sharing[group]
    per_sale = [tuple(int(q) for q in row if q) for row in sharings.tolist()]
    # each row's component available at each location (0 without a record)
    s_pid, s_lid, s_on_hand, s_reserved = (np.asarray(c, dtype=np.int64) for c in stock)
    units = np.zeros((len(order), len(location_ids)), dtype=np.int64)
    for j, location_id in enumerate(location_ids):
        here = s_lid == location_id
        pids, available = s_pid[here], np.maximum(0, s_on_hand[here] - s_reserved[here])
        sort = np.argsort(pids, kind="stable")
        pids, available = pids[sort], available[sort]
        at = np.searchsorted(pids, component)
        found = at < len(pids)
        found[found] = pids[at[found]] == component[found]
        units[found, j] = available[at[found]]
    # each row's sales, once per distinct (units, sharing, place)
    keys = np.column_stack(
        [units.reshape(-1), np.repeat(sharing, len(location_ids)), np.repeat(place, len(location_ids))]
    )
    distinct, inverse = _unique_rows(keys)
    worked = np.asarray([sales_shares(a, per_sale[g])[p] for a, g, p in distinct.tolist()], dtype=np.int64)
    sales = worked[inverse].reshape(len(order), len(location_ids))
    # a listing: the least over its rows (rows grouped by channel and listing)
    by_listing = np.lexsort((listing, channel))
    c_sorted, l_sorted = channel[by_listing], listing[by_listing]
    first = np.ones(len(order), dtype=np.bool_)
    first[1:] = (c_sorted[1:] != c_sorted[:-1]) | (l_sorted[1:] != l_sorted[:-1])
    heads = np.flatnonzero(first)
    least = np.minimum.reduceat(sales[by_listing], heads, axis=0)
    n = len(location_ids)
    return (
        np.repeat(c_sorted[heads], n),
        np.repeat(l_sorted[heads], n),
        np.tile(np.asarray(location_ids, dtype=np.int64), len(heads)),
        least.reshape(-1),
    )


def _unique_rows(rows: Any) -> tuple[Any, Any]:
    """``np.unique(rows, axis=0, return_inverse=True)`` for rows of non-negative int64: each row packed
    into one int64 where its values fit (a sort of plain integers, many times quicker), else row-wise."""
    import numpy as np

    width = rows.shape[1]
    bits = 63 // width
    if bits and (not rows.size or int(rows.max()) < (1 << bits)):
        packed = np.zeros(len(rows), dtype=np.int64)
        for k in range(width):
            packed = (packed << bits) | rows[:, k]
        _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
        return rows[first], np.asarray(inverse).reshape(-1)
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    return distinct, np.asarray(inverse).reshape(-1)


def _pairs(channel: Any, product: Any) -> Any:
    """(channel id, product id) pairs as one int64 each (ids below 2**31)."""
    return (channel << 32) | product


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
            line.damaged * quantity,
            line.to_inspect * quantity,
        )
        for sku, quantity in components
    ]
