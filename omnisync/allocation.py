"""What a channel may offer: the only place the allocation arithmetic lives.

For SKU ``s`` and channel ``c``, in this documented order (ARCHITECTURE.md, "Allocation")::

    pool     = Σ over L in sources(c) of max(0, on_hand[s,L] − reserved[s,L] − source_buffer[c,L])
    q        = floor(pool × share[c] / 100)                  # ring-fenced share, default 100
    q        = q − buffer_units[c] − ceil(pool × buffer_percent[c] / 100)
    q        = min(q, max_quantity[c])                       # when set
    q        = 0 if q < out_of_stock_below[c] else q         # when set
    offered  = max(q, 0)

Preorders (a channel with ``preorder_limit`` set) draw on incoming stock, never on the pool::

    backordered = Σ over L in sources(c) of max(0, reserved[s,L] − on_hand[s,L])   # sold ahead of stock
    preorder    = max(0, min(Σ over L in sources(c) of incoming[s,L], preorder_limit[c]) − backordered)
    offered     = offered + preorder

A unit sold on preorder is a reservation beyond the location's on-hand, so ``backordered`` counts it
until the stock on order is received: the receipt raises on_hand and lowers incoming by the same
units, and the reservation is an ordinary one without being counted twice.

Pure: plain data in, an :class:`Allocation` (the number and every step that produced it) out.

Note on monotonicity: with ``share < 100`` *and* ``buffer_percent > 0`` the documented rule can offer
one unit less when the pool grows by one (share 60, buffer 10 %: pool 10 → 5, pool 11 → 4), because
the share is floored and the percentage buffer is ceiled. With ``share = 100`` (or no percentage
buffer) offered never decreases as stock grows. The arithmetic is kept exactly as documented.

Policies decide how several channels share one SKU's stock:

* ``buffered`` (default): every channel by the rule above.
* ``split``: ring-fenced shares; for every location, the shares of the channels drawing from it must
  sum to at most 100, so the total exposed never exceeds the stock.
* ``priority``: below a threshold, only the highest-priority channel(s) among those drawing from
  the same locations offer the last units.
* ``adaptive``: every channel by the rule above, then an *adaptive buffer* per channel and SKU, held
  back against the units the other channels may sell from the same locations before this channel
  hears of it::

      rate[o]  = Σ over L in sources(c) of velocity[o, s, L]    # units/hour, each other channel o
      expected = Σ over o of rate[o] × (unseen[o] + latency[c]) / 3600
      adaptive = min(max_units, the smallest b with P(Poisson(expected) > b) ≤ risk)
      q        = q − adaptive                                   # after the buffers, before the cap
      q        = max(q, min(q before, 1)) when c sells s fastest from its sources   # last unit

  ``expected`` is the units the other channels sell that ``c`` still shows: sold since their orders
  were last read (``unseen[o]``), or before ``c``'s next push is acknowledged (``latency[c]``).
  Velocities, latencies and unseen times are measured from the ledger (:mod:`omnisync.pace`) and
  handed in as a :class:`~omnisync.pace.Pace`: a hot SKU is held back where the lag is long, a slow
  seller shows every unit.

  Why the quantile: the b-th unit from the top is already gone when more than b − 1 were sold
  unseen. Holding it back costs a lost sale when it is still there; showing it costs an oversell
  when it is gone; so it is held while P(gone) > ``risk``, where ``risk`` = cost of a lost sale ÷
  (cost of a lost sale + cost of an oversell). The default 0.5 counts both alike (a unit is held
  only when it is more likely gone than there: the fewest oversold plus lost units); 0.25 counts
  an oversell as three lost sales. At 0.5 one sale, however recent, never holds a unit (it takes
  ``expected`` above ln 2 ≈ 0.69): a tiny stock's noisy velocity moves nothing until the SKU sells
  several units a lag. The last-unit rule: when every channel held the last unit back, nobody could
  sell it and every shopper until the next restock is a lost sale; so the channel that sells the
  SKU fastest from its sources (ties: the shorter latency, then the name) never has its last unit
  held, while the others do.

Third-party policies load lazily from the entry-point group ``omnisync.policies``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from omnisync.drops import DropState
from omnisync.pace import Pace

__all__ = [
    "POLICY_ENTRY_POINT_GROUP",
    "AdaptivePolicy",
    "Allocation",
    "AllocationPolicy",
    "BufferedPolicy",
    "ChannelInput",
    "DropState",
    "Exposure",
    "Held",
    "LocationStock",
    "LowStockPriorityPolicy",
    "QuantityRules",
    "SplitPolicy",
    "Step",
    "adaptive_units",
    "allocate_channel",
    "available_policies",
    "channel_pool",
    "channel_pools",
    "get_policy",
    "offered_for_pool",
    "preorder_units",
    "source_units",
    "validate_split",
]

POLICY_ENTRY_POINT_GROUP = "omnisync.policies"


def _non_negative(name: str, value: int | None) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be ≥ 0, got {value}")


@dataclass(frozen=True)
class QuantityRules:
    """One channel's quantity rules for one SKU (after mapping overrides)."""

    share: int = 100
    buffer_units: int = 0
    buffer_percent: Decimal = Decimal(0)
    max_quantity: int | None = None
    out_of_stock_below: int | None = None
    source_buffers: Mapping[str, int] = field(default_factory=dict)
    priority: int = 0
    preorder_limit: int | None = None
    """Units this channel may sell ahead of the stock on order (None: no preorders here)."""

    def __post_init__(self) -> None:
        _non_negative("share", self.share)
        if self.share > 100:
            raise ValueError(f"share must be ≤ 100, got {self.share}")
        for name in ("buffer_units", "max_quantity", "out_of_stock_below", "preorder_limit"):
            _non_negative(name, getattr(self, name))
        if not isinstance(self.priority, int) or isinstance(self.priority, bool):
            raise TypeError(f"priority must be an int, got {type(self.priority).__name__}")
        object.__setattr__(self, "buffer_percent", _percent(self.buffer_percent))
        for location, units in self.source_buffers.items():
            _non_negative(f"source_buffers[{location}]", units)
        object.__setattr__(self, "source_buffers", MappingProxyType(dict(self.source_buffers)))

    def merged(self, **overrides: Any) -> QuantityRules:
        """A copy with ``overrides`` applied; None means "not set here" and keeps the current value.

        ``source_buffers`` merges per location (an override names only the locations it changes).
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"unknown quantity rule(s): {', '.join(unknown)}")
        changes = {name: value for name, value in overrides.items() if value is not None}
        if "source_buffers" in changes:
            changes["source_buffers"] = {**self.source_buffers, **changes["source_buffers"]}
        return replace(self, **changes)


def _percent(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"buffer_percent must be a Decimal or int, got {type(value).__name__}")
    percent = Decimal(value)
    if not percent.is_finite() or percent < 0:
        raise ValueError(f"buffer_percent must be ≥ 0, got {value}")
    return percent


@dataclass(frozen=True)
class LocationStock:
    """One SKU's ledger numbers at one location."""

    location: str
    on_hand: int
    reserved: int
    incoming: int = 0
    """Units on order for the location, not yet received (what preorders draw on)."""
    expected: date | None = None
    """The earliest expected date of those units (None: not given)."""


@dataclass(frozen=True)
class ChannelInput:
    """One channel's view of one SKU: where it draws from, its rules, and where each rule came from.

    ``provenance`` lines name the rule they set as ``name=value`` (for instance
    ``"tag clearance: out_of_stock_below=2"``), so each is shown next to the step it shaped.
    """

    channel: str
    sources: tuple[str, ...]
    rules: QuantityRules
    provenance: tuple[str, ...] = ()
    pace: Pace | None = None
    """The SKU's sales velocities and the channels' latencies (read by the adaptive policy only)."""


@dataclass(frozen=True)
class Step:
    """One line of the explanation: the rule, what it did, and the running value after it."""

    rule: str
    detail: str
    value: int


@dataclass(frozen=True)
class Allocation:
    """What one channel may offer, with every step that produced it.

    ``available`` is a visibility wish: True (show), False (hide), None (leave as is).
    """

    channel: str
    offered: int
    pool: int
    steps: tuple[Step, ...]
    available: bool | None = None
    preorder: int = 0
    """Units of ``offered`` sold ahead of the stock on order (0: none)."""
    expected: date | None = None
    """When that stock is expected (with ``preorder``)."""


# --------------------------------------------------------------------------- the arithmetic

_STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "pool": ("source_buffers",),
    "share": ("share",),
    "buffer": ("buffer_units", "buffer_percent"),
    "cap": ("max_quantity",),
    "out_of_stock_below": ("out_of_stock_below",),
    "priority": ("priority",),
    "preorder": ("preorder_limit",),
}


def _sourced(detail: str, provenance: tuple[str, ...], step: str) -> str:
    """``detail`` followed by the provenance lines that set the rules behind ``step``."""
    names = "|".join(_STEP_FIELDS.get(step, ()))
    if not names:
        return detail
    pattern = re.compile(rf"(?<![\w.])(?:{names})(?:\[[^\]]*\])?=")
    lines = [line for line in provenance if pattern.search(line)]
    return f"{detail} [{'; '.join(lines)}]" if lines else detail


def source_units(on_hand: int, reserved: int, kept: int) -> int:
    """What one source location adds to a channel's pool: ``max(0, on_hand − reserved − kept)``."""
    return max(0, on_hand - reserved - kept)


def channel_pool(numbers: Iterable[tuple[int, int] | None], kept: Iterable[int]) -> int:
    """The pool: Σ over the channel's sources of :func:`source_units`.

    ``numbers`` gives (on_hand, reserved) per source in the channel's order (None: no stock record,
    which counts 0) and ``kept`` the units kept back at each (``source_buffers``).
    """
    return sum(
        source_units(record[0], record[1], units)
        for record, units in zip(numbers, kept, strict=True)
        if record is not None
    )


def channel_pools(numbers: Sequence[tuple[Any, Any]], kept: Sequence[int], start: Any) -> Any:
    """:func:`channel_pool` for a column of SKUs at once: ``numbers`` gives, per source, the on_hand
    and reserved columns as integer arrays (0 and 0 where a SKU has no stock record there, which adds
    0 as a missing record does), ``kept`` the units kept back at each, ``start`` a column of zeros.

    The same sum of :func:`source_units`, in array arithmetic (``clip`` is ``max(0, ·)``); a
    property test pins the two together.
    """
    pairs = zip(numbers, kept, strict=True)
    return sum(((on_hand - reserved - units).clip(min=0) for (on_hand, reserved), units in pairs), start)


def preorder_units(numbers: Iterable[tuple[int, int, int]], limit: int | None) -> int:
    """Units a channel offers on preorder: ``numbers`` gives (on_hand, reserved, incoming) per source
    location; ``limit`` is the channel's ``preorder_limit`` (None: no preorders, 0).

    ``min(Σ incoming, limit) − Σ max(0, reserved − on_hand)``, never negative: the units already sold
    ahead of stock (reservations beyond the on-hand) use up the limit and the stock on order alike.
    """
    if not limit:
        return 0
    incoming = backordered = 0
    for on_hand, reserved, units in numbers:
        incoming += max(0, units)
        backordered += max(0, reserved - on_hand)
    return max(0, min(incoming, limit) - backordered)


@dataclass(frozen=True)
class Held:
    """Units a policy holds back after the configured buffers (the adaptive buffer), and why; never
    below ``keeps`` units offered where there were that many (the adaptive last-unit rule)."""

    units: int
    detail: str
    keeps: int = 0


def offered_for_pool(pool: int, rules: QuantityRules, held: int | None = None, keeps: int = 0) -> int:
    """The documented arithmetic after the pool (share, buffers, cap, out-of-stock threshold, ≥ 0);
    ``held`` units more are held back after the buffers (the adaptive policy's buffer), never below
    ``keeps`` offered (its last-unit rule).

    The numbers-only form of :func:`allocate_channel`, which runs the very same steps while it writes
    the explanation; planners call this (and :func:`channel_pool`) when nobody asked why.
    """
    return _after_pool(pool, rules, None, (), None if held is None else Held(held, "", keeps))


def _after_pool(
    pool: int,
    rules: QuantityRules,
    steps: list[Step] | None,
    prov: tuple[str, ...],
    held: Held | None = None,
) -> int:
    """From the pool to ``offered``; appends one :class:`Step` per rule to ``steps`` when given."""
    q = pool * rules.share // 100
    if steps is not None:
        steps.append(Step("share", _sourced(f"{rules.share} % of {pool}, rounded down", prov, "share"), q))

    percent_units = math.ceil(Decimal(pool) * rules.buffer_percent / 100) if rules.buffer_percent else 0
    before = q
    q = q - rules.buffer_units - percent_units
    if steps is not None:
        detail = (
            f"{before} − {rules.buffer_units} units − {percent_units} "
            f"({rules.buffer_percent} % of {pool}, rounded up)"
        )
        steps.append(Step("buffer", _sourced(detail, prov, "buffer"), q))

    if held is not None:
        q = max(q - held.units, min(q, held.keeps))
        if steps is not None:
            steps.append(Step("adaptive buffer", held.detail, q))

    if rules.max_quantity is not None:
        q = min(q, rules.max_quantity)
        if steps is not None:
            steps.append(Step("cap", _sourced(f"at most {rules.max_quantity}", prov, "cap"), q))

    if rules.out_of_stock_below is not None:
        threshold = rules.out_of_stock_below
        if q < threshold:
            detail, q = f"{q} is below {threshold}: shown as out of stock", 0
        else:
            detail = f"{q} is not below {threshold}"
        if steps is not None:
            steps.append(Step("out_of_stock_below", _sourced(detail, prov, "out_of_stock_below"), q))

    offered = max(q, 0)
    if steps is not None:
        steps.append(Step("offered", f"{q} is negative: 0" if q < 0 else str(offered), offered))
    return offered


def _location_text(record: LocationStock | None, location: str, kept: int) -> str:
    if record is None:
        return f"{location}: no stock record = 0"
    raw = record.on_hand - record.reserved - kept
    text = f"{location}: {record.on_hand} on hand − {record.reserved} reserved"
    if kept:
        text += f" − {kept} kept back"
    if raw < 0:
        return f"{text} = {raw}, counted as 0"
    return f"{text} = {raw}"


def _pool(stock: Mapping[str, LocationStock], channel: ChannelInput) -> tuple[int, str]:
    if not channel.sources:
        return 0, "no source locations = 0"
    records = [stock.get(location) for location in channel.sources]
    kept = [channel.rules.source_buffers.get(location, 0) for location in channel.sources]
    pool = channel_pool(((r.on_hand, r.reserved) if r is not None else None for r in records), kept)
    texts = (_location_text(r, loc, k) for r, loc, k in zip(records, channel.sources, kept, strict=True))
    return pool, "; ".join(texts)


def allocate_channel(
    stock: Mapping[str, LocationStock], channel: ChannelInput, held: Held | None = None
) -> Allocation:
    """The documented arithmetic for one channel, with one :class:`Step` per rule (and ``held``, a
    policy's own buffer after the configured ones, when given).

    ``stock`` maps location -> :class:`LocationStock` for this SKU; a source with no record counts 0.
    """
    rules, prov = channel.rules, channel.provenance
    pool, pool_detail = _pool(stock, channel)
    steps = [Step("pool", _sourced(pool_detail, prov, "pool"), pool)]
    offered = _after_pool(pool, rules, steps, prov, held)
    allocation = Allocation(channel.channel, offered, pool, tuple(steps))
    return _with_preorder(allocation, stock, channel) if rules.preorder_limit is not None else allocation


def _with_preorder(
    allocation: Allocation, stock: Mapping[str, LocationStock], channel: ChannelInput
) -> Allocation:
    """``allocation`` plus the units the channel offers on preorder, with the step that says why."""
    limit = channel.rules.preorder_limit
    records = [r for r in (stock.get(code) for code in channel.sources) if r is not None]
    units = preorder_units(((r.on_hand, r.reserved, r.incoming) for r in records), limit)
    incoming = sum(max(0, r.incoming) for r in records)
    ahead = sum(max(0, r.reserved - r.on_hand) for r in records)
    dates = [r.expected for r in records if r.incoming > 0 and r.expected is not None]
    expected = min(dates) if dates else None
    when = f", expected {expected.isoformat()}" if expected else ""
    detail = (
        f"{incoming} on order{when}; limit {limit}; {ahead} already sold ahead of stock: "
        f"min({incoming}, {limit}) − {ahead} = {units} on preorder"
    )
    total = allocation.offered + units
    step = Step("preorder", _sourced(detail, channel.provenance, "preorder"), total)
    return replace(
        _amend(allocation, step, offered=total),
        preorder=units,
        expected=expected if units else None,
    )


def _amend(
    allocation: Allocation, step: Step, offered: int | None = None, available: bool | None = None
) -> Allocation:
    """Insert ``step`` before the final "offered" step; optionally force a new offered value."""
    *body, last = allocation.steps
    new_offered = allocation.offered if offered is None else offered
    if new_offered != allocation.offered:
        last = Step("offered", str(new_offered), new_offered)
    preorder = min(allocation.preorder, new_offered)
    return replace(
        allocation,
        offered=new_offered,
        steps=(*body, step, last),
        available=allocation.available if available is None else available,
        preorder=preorder,
        expected=allocation.expected if preorder else None,
    )


# --------------------------------------------------------------------------- drops


def _when(instant: datetime) -> str:
    return instant.isoformat(timespec="minutes")


def _drop_blocks(channel: str, drop: DropState | None) -> bool:
    """True when ``drop`` forces ``channel`` to offer 0."""
    if drop is None:
        return False
    if channel == drop.channel:
        return not drop.open
    return drop.exclusive


def _apply_drop(allocation: Allocation, drop: DropState | None) -> Allocation:
    if drop is None:
        return allocation
    name = drop.channel
    if allocation.channel == name:
        if drop.open:
            until = f" until {_when(drop.window[1])}" if drop.window else ""
            kind = "exclusive drop" if drop.exclusive else "drop"
            step = Step("drop", f"{kind} on {name} open{until}", allocation.offered)
            return _amend(allocation, step, available=True)
        opens = f"next window opens {_when(drop.window[0])}" if drop.window else "no window scheduled"
        return _amend(allocation, Step("drop", f"drop closed; {opens}", 0), offered=0, available=False)
    if not drop.exclusive:
        return allocation
    if drop.open:
        until = f" until {_when(drop.window[1])}" if drop.window else ""
        return _amend(allocation, Step("drop", f"exclusive drop on {name}{until}", 0), offered=0)
    opens = f"next window opens {_when(drop.window[0])}" if drop.window else "no window scheduled"
    detail = f"sold only on {name} inside its drop window; {opens}"
    return _amend(allocation, Step("drop", detail, 0), offered=0)


# --------------------------------------------------------------------------- policies


@runtime_checkable
class AllocationPolicy(Protocol):
    """Decides what every channel may offer of one SKU."""

    name: str

    def allocate(
        self,
        stock: Mapping[str, LocationStock],
        channels: Sequence[ChannelInput],
        *,
        drop: DropState | None = None,
    ) -> dict[str, Allocation]: ...


def _unique(channels: Sequence[ChannelInput]) -> None:
    seen: set[str] = set()
    for channel in channels:
        if channel.channel in seen:
            raise ValueError(f"channel {channel.channel!r} appears twice")
        seen.add(channel.channel)


class BufferedPolicy:
    """The documented rule for every channel independently (the default)."""

    name: str = "buffered"

    def held(self, channel: ChannelInput) -> Held | None:
        """Units this policy holds back from ``channel`` after its configured buffers (none here)."""
        return None

    def allocate(
        self,
        stock: Mapping[str, LocationStock],
        channels: Sequence[ChannelInput],
        *,
        drop: DropState | None = None,
    ) -> dict[str, Allocation]:
        _unique(channels)
        return {c.channel: _apply_drop(allocate_channel(stock, c, self.held(c)), drop) for c in channels}


def validate_split(channels: Sequence[ChannelInput]) -> None:
    """Ring-fencing holds when, for every location, the shares of the channels drawing from it sum
    to at most 100: then Σ offered ≤ Σ per location of max(0, on_hand − reserved).

    Raises ValueError naming the location and the channels otherwise.
    """
    by_location: dict[str, list[ChannelInput]] = {}
    for channel in channels:
        for location in dict.fromkeys(channel.sources):
            by_location.setdefault(location, []).append(channel)
    for location, drawing in by_location.items():
        total = sum(c.rules.share for c in drawing)
        if total > 100:
            shares = ", ".join(f"{c.channel} {c.rules.share} %" for c in drawing)
            raise ValueError(
                f"split policy: the shares of the channels drawing from {location!r} sum to "
                f"{total} % ({shares}); they must sum to at most 100 %"
            )


class SplitPolicy(BufferedPolicy):
    """Ring-fenced split: each channel gets its share of the pool and shares never overlap."""

    name: str = "split"

    def allocate(
        self,
        stock: Mapping[str, LocationStock],
        channels: Sequence[ChannelInput],
        *,
        drop: DropState | None = None,
    ) -> dict[str, Allocation]:
        validate_split(channels)
        return super().allocate(stock, channels, drop=drop)


class LowStockPriorityPolicy:
    """Below ``threshold`` units in a channel's pool, only the highest-priority channel(s) among those
    drawing from any of the same locations keep offering; the others offer 0.

    A channel that a drop forces to 0 does not compete, so a drop's channel is never starved by a
    higher-priority channel that may not sell the SKU anyway.
    """

    name: str = "priority"

    def __init__(self, threshold: int) -> None:
        _non_negative("threshold", threshold)
        self.threshold = threshold

    def allocate(
        self,
        stock: Mapping[str, LocationStock],
        channels: Sequence[ChannelInput],
        *,
        drop: DropState | None = None,
    ) -> dict[str, Allocation]:
        _unique(channels)
        competing = [c for c in channels if not _drop_blocks(c.channel, drop)]
        result: dict[str, Allocation] = {}
        for channel in channels:
            allocation = allocate_channel(stock, channel)
            if not _drop_blocks(channel.channel, drop):
                allocation = self._rank(allocation, channel, competing)
            result[channel.channel] = _apply_drop(allocation, drop)
        return result

    def _rank(
        self, allocation: Allocation, channel: ChannelInput, competing: Sequence[ChannelInput]
    ) -> Allocation:
        if allocation.pool >= self.threshold:
            detail = f"pool {allocation.pool} is not below the low-stock threshold {self.threshold}"
            return _amend(allocation, Step("priority", detail, allocation.offered))
        rivals = [c for c in competing if set(c.sources) & set(channel.sources)]
        top = max(c.rules.priority for c in rivals)
        leaders = ", ".join(c.channel for c in rivals if c.rules.priority == top)
        mine = channel.rules.priority
        head = f"pool {allocation.pool} is below the low-stock threshold {self.threshold}"
        if mine >= top:
            detail = _sourced(
                f"{head}; priority {mine} is the highest: keeps offering", channel.provenance, "priority"
            )
            return _amend(allocation, Step("priority", detail, allocation.offered))
        detail = f"{head}; only {leaders} (priority {top}) offer; {channel.channel} has priority {mine}"
        return _amend(allocation, Step("priority", _sourced(detail, channel.provenance, "priority"), 0), 0)


# --------------------------------------------------------------------------- adaptive buffers


def _poisson_quantile(expected: float, risk: float, most: int) -> int:
    """The smallest b ≤ ``most`` with P(Poisson(expected) > b) ≤ ``risk`` (``most`` when none is)."""
    if expected <= 0:
        return 0
    pmf = cdf = math.exp(-expected)
    units = 0
    while 1.0 - cdf > risk and units < most:
        units += 1
        pmf *= expected / units
        cdf += pmf
    return units


@dataclass(frozen=True)
class Exposure:
    """How many units the other channels may sell of a channel's stock before it hears of it."""

    rates: tuple[tuple[str, float, float], ...]
    """(other channel, units per hour it sells from this channel's sources, seconds since its orders
    were last read), by name."""
    latency_s: float | None
    expected: float
    """Units the others sell unseen: Σ rate × (unseen + latency) / 3600."""
    units: int
    """The adaptive buffer: the Poisson quantile of ``expected`` at 1 − risk, capped."""
    own: float = 0.0
    """Units per hour this channel itself sells from its sources."""
    leader: bool = False
    """This channel sells the SKU fastest of those drawing on its sources: its last unit is never
    held (the last-unit rule), so a unit held everywhere cannot go unsold."""


def _sells_first(channel: str, own: float, others: Mapping[str, float], latency: Mapping[str, float]) -> bool:
    """True when ``channel`` sells from its sources at least as fast as each other channel does there
    (``own`` against ``others``, units per hour; ties to the shorter sync latency, then the name)."""
    if own <= 0:
        return False

    def rank(name: str) -> tuple[float, str]:
        return (latency.get(name, math.inf), name)

    return all(own > rate or (own == rate and rank(channel) < rank(name)) for name, rate in others.items())


def adaptive_units(
    pace: Pace | None, channel: str, sources: Sequence[str], risk: float, max_units: int
) -> Exposure:
    """The adaptive buffer of ``channel`` (drawing from ``sources``) for one SKU's ``pace``: the only
    place its arithmetic lives (the planner's numbers-only path reads ``.units`` and ``.leader``)."""
    if pace is None:
        return Exposure((), None, 0.0, 0)
    per_channel: dict[str, float] = {}
    own = 0.0
    for (other, location), per_hour in pace.sold_per_hour.items():
        if location in sources and per_hour > 0:
            if other == channel:
                own += per_hour
            else:
                per_channel[other] = per_channel.get(other, 0.0) + per_hour
    latency = pace.latency_s.get(channel)
    rates = tuple((name, rate, pace.unseen_s.get(name, 0.0)) for name, rate in sorted(per_channel.items()))
    leader = _sells_first(channel, own, per_channel, pace.latency_s)
    if latency is None:
        return Exposure(rates, None, 0.0, 0, own, leader)
    expected = sum(rate * (unseen + latency) for _, rate, unseen in rates) / 3600.0
    return Exposure(rates, latency, expected, _poisson_quantile(expected, risk, max_units), own, leader)


def _exposure_text(
    exposure: Exposure, channel: str, sources: Sequence[str], risk: float, max_units: int
) -> str:
    where = ", ".join(sources)
    if not exposure.rates:
        return f"nothing sold on the other channels from {where} lately: 0 held"
    if exposure.latency_s is None:
        return "this channel's sync latency is not measured: 0 held"
    latency = f"{exposure.latency_s:.0f} s"
    terms = " + ".join(
        f"{name} {rate:.2f}/h × ({unseen:.0f} s unseen + {latency})" for name, rate, unseen in exposure.rates
    )
    tail = f"more than {exposure.units} sold meanwhile with P ≤ {risk * 100:g} %"
    if exposure.units == max_units and max_units > 0:
        tail = f"at most max_units {max_units}"
    text = (
        f"sold elsewhere from {where}: {terms} = {exposure.expected:.3f} units expected before this "
        f"channel shows it; {exposure.units} held ({tail})"
    )
    if exposure.leader and exposure.units > 0:
        text += (
            f"; {channel} sells it fastest ({exposure.own:.2f}/h from {where}): its last unit is never held"
        )
    return text


class AdaptivePolicy(BufferedPolicy):
    """The documented rule for every channel, then an adaptive buffer per channel and SKU: the units
    the other channels may sell from the same locations during this channel's sync latency, held back
    while each is more likely than ``risk`` to be sold elsewhere already; the channel that sells the
    SKU fastest keeps its last unit (see the module text). Each channel on its own, as under
    ``buffered``, from the :class:`~omnisync.pace.Pace` in its :class:`ChannelInput`."""

    name: str = "adaptive"

    def __init__(self, risk: float = 0.5, max_units: int = 10) -> None:
        if isinstance(risk, bool) or not isinstance(risk, int | float) or not 0 < risk < 1:
            raise ValueError(f"adaptive risk must be between 0 and 1 (exclusive), got {risk!r}")
        _non_negative("max_units", max_units)
        self.risk = float(risk)
        self.max_units = max_units

    def exposure(self, pace: Pace | None, channel: str, sources: Sequence[str]) -> Exposure:
        return adaptive_units(pace, channel, sources, self.risk, self.max_units)

    def held(self, channel: ChannelInput) -> Held:
        exposure = self.exposure(channel.pace, channel.channel, channel.sources)
        text = _exposure_text(exposure, channel.channel, channel.sources, self.risk, self.max_units)
        return Held(exposure.units, text, 1 if exposure.leader else 0)


# --------------------------------------------------------------------------- registry

_BUILTIN: dict[str, Callable[..., AllocationPolicy]] = {
    "buffered": BufferedPolicy,
    "split": SplitPolicy,
    "priority": LowStockPriorityPolicy,
    "adaptive": AdaptivePolicy,
}


def available_policies() -> list[str]:
    """Built-in policy names and those installed under the ``omnisync.policies`` entry points."""
    installed = {ep.name for ep in entry_points(group=POLICY_ENTRY_POINT_GROUP)}
    return sorted(set(_BUILTIN) | installed)


def _load_plugin(name: str) -> Callable[..., AllocationPolicy]:
    for ep in entry_points(group=POLICY_ENTRY_POINT_GROUP):
        if ep.name == name:
            factory = ep.load()
            if not callable(factory):
                raise TypeError(f"allocation policy {name!r} ({ep.value}) is not a class or factory")
            return factory  # type: ignore[no-any-return]  # checked below once called
    known = ", ".join(available_policies())
    raise LookupError(f"unknown allocation policy {name!r} (known: {known})")


def get_policy(name: str, **options: Any) -> AllocationPolicy:
    """The policy called ``name``, built with ``options`` (``priority`` needs ``threshold``).

    Built-ins: ``buffered``, ``split``, ``priority``, ``adaptive`` (``risk``, ``max_units``). Other
    names load lazily from the ``omnisync.policies`` entry-point group; an unknown name raises
    LookupError naming the known ones.
    """
    factory = _BUILTIN.get(name) or _load_plugin(name)
    policy = factory(**options)
    if not isinstance(policy, AllocationPolicy):
        raise TypeError(f"allocation policy {name!r} built {type(policy).__name__}, not an AllocationPolicy")
    return policy
