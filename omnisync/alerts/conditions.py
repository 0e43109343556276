"""What is wrong right now, from a snapshot of the ledger and the channels' states: a pure function.

The conditions (each named by its ``Kind``; the key says which channel or SKU it is about)::

    channel_failing  channel       omnisync.health judges the channel "failing" (an error newer than
                                   its last good pull or push, bad credentials, the breaker open)
    channel_behind   channel       omnisync.health judges it "behind" (orders not pulled, or changes
                                   waiting longer than a few push intervals)
    drift            channel       the channel's latest reconcile found listings differing from what
                                   the ledger says they hold (it corrected them; this says it happened)
    oversold         SKU           reservations exceed stock on hand over every location
    quarantined      channel, SKU  order lines naming a channel SKU the ledger does not know
    reorder_point    SKU           ``omnisync reorder`` says to order it now at one location or more
                                   (available + on order at or below the reorder point computed from
                                   its sales, lead time and service level); or, for a SKU given a fixed
                                   point in ``alerts.reorder_points``, units available over every
                                   location at or below it
    out_of_stock     channel, SKU  the channel shows 0 (its acknowledged quantity); cleared: back in stock

A channel's state is known only to the daemon that works it, and only once it has run there since
start-up: until then its ``channel_*`` conditions are *unjudged* and keep whatever they were
(a restart never "recovers" a failing channel it has not tried yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from omnisync.health import State, Verdict
from omnisync.replenishment import at_reorder_point


class Kind(StrEnum):
    CHANNEL_FAILING = "channel_failing"
    CHANNEL_BEHIND = "channel_behind"
    DRIFT = "drift"
    OVERSOLD = "oversold"
    QUARANTINED = "quarantined"
    REORDER_POINT = "reorder_point"
    OUT_OF_STOCK = "out_of_stock"
    TEST = "test"
    """Not a condition: the message ``omnisync alerts --send-test`` sends through each notifier."""


JUDGED_BY_THE_CHANNEL = frozenset({Kind.CHANNEL_FAILING, Kind.CHANNEL_BEHIND})
"""Conditions read from a channel's in-memory state (the others are read from the ledger)."""


def alert_key(kind: Kind, channel: str | None, sku: str | None) -> str:
    """``kind:channel:sku`` without the parts the kind has not (channel names hold no colon)."""
    if channel is None:
        return f"{kind.value}:{sku}" if sku is not None else kind.value
    return f"{kind.value}:{channel}:{sku}" if sku is not None else f"{kind.value}:{channel}"


@dataclass(frozen=True)
class Finding:
    kind: Kind
    channel: str | None
    sku: str | None
    summary: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    """Plain JSON values for the receivers (units, counts, reasons)."""
    key: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", alert_key(self.kind, self.channel, self.sku))


@dataclass(frozen=True)
class Quarantine:
    lines: int
    units: int
    reason: str | None


@dataclass(frozen=True)
class ReorderNeed:
    """One location where the reorder list says to order a SKU now."""

    location: str
    available: int
    incoming: int
    reorder_point: int
    quantity: int


@dataclass(frozen=True)
class Snapshot:
    """Plain values gathered at the edge (:mod:`omnisync.alerts.snapshot`)."""

    now: datetime
    channels: Mapping[str, Verdict | None]
    """Every configured channel; None: its state is not judged here yet."""
    drift: Mapping[str, int] = field(default_factory=dict)
    """Channel -> pairs its latest reconcile found differing (channels that have reconciled)."""
    oversold: Mapping[str, int] = field(default_factory=dict)
    """SKU -> units reserved beyond stock on hand."""
    quarantined: Mapping[tuple[str, str], Quarantine] = field(default_factory=dict)
    """(channel, channel SKU) -> the quarantined lines naming it."""
    to_order: Mapping[str, tuple[ReorderNeed, ...]] = field(default_factory=dict)
    """SKU -> the locations the reorder list says to order it at now."""
    available: Mapping[str, int] = field(default_factory=dict)
    """SKU -> on hand − reserved over every location (the SKUs with a fixed reorder point)."""
    reorder_points: Mapping[str, int] = field(default_factory=dict)
    """SKU -> a fixed reorder point (``alerts.reorder_points``), in place of the computed one."""
    shown_zero: frozenset[tuple[str, str]] = frozenset()
    """(channel, SKU) pairs whose acknowledged quantity on the channel is 0."""


@dataclass(frozen=True)
class Findings:
    found: Mapping[str, Finding]
    """Key -> what holds now."""
    unjudged: frozenset[tuple[Kind, str]] = frozenset()
    """(kind, channel) pairs this snapshot cannot judge: their alerts stay as they are."""
    watched: frozenset[Kind] = frozenset(Kind)
    """Kinds looked at (an alert of a kind no longer watched stays as it is, and is not sent)."""

    def judges(self, kind: Kind, channel: str | None) -> bool:
        return kind in self.watched and (channel is None or (kind, channel) not in self.unjudged)


def _channel_findings(name: str, verdict: Verdict) -> list[Finding]:
    if verdict.state is State.FAILING:
        return [Finding(Kind.CHANNEL_FAILING, name, None, f"{name} is failing: {verdict.why}")]
    if verdict.state is State.BEHIND:
        return [Finding(Kind.CHANNEL_BEHIND, name, None, f"{name} is behind: {verdict.why}")]
    return []


def findings(snap: Snapshot, watched: frozenset[Kind] | None = None) -> Findings:
    """Every condition that holds in ``snap`` among the ``watched`` kinds (default: all)."""
    watch = frozenset(Kind) - {Kind.TEST} if watched is None else watched
    found: list[Finding] = []
    unjudged: set[tuple[Kind, str]] = set()
    for name, verdict in snap.channels.items():
        if verdict is None:
            unjudged |= {(kind, name) for kind in JUDGED_BY_THE_CHANNEL}
        else:
            found += _channel_findings(name, verdict)
    for name, pairs in snap.drift.items():
        if pairs > 0:
            found.append(
                Finding(
                    Kind.DRIFT,
                    name,
                    None,
                    f"reconcile found {pairs} listing(s) on {name} differing from the ledger (corrected)",
                    {"pairs": pairs},
                )
            )
    for sku, units in snap.oversold.items():
        found.append(
            Finding(Kind.OVERSOLD, None, sku, f"{sku} is oversold by {units} unit(s)", {"units": units})
        )
    for (name, channel_sku), q in snap.quarantined.items():
        found.append(
            Finding(
                Kind.QUARANTINED,
                name,
                channel_sku,
                f"{q.lines} order line(s) on {name} name {channel_sku!r}, which the ledger does not know",
                {"lines": q.lines, "units": q.units, "reason": q.reason},
            )
        )
    for sku, needs in snap.to_order.items():
        if sku not in snap.reorder_points and needs:
            found.append(_reorder(sku, needs))
    for sku, point in snap.reorder_points.items():
        available = snap.available.get(sku)
        if available is not None and at_reorder_point(available, point):
            found.append(
                Finding(
                    Kind.REORDER_POINT,
                    None,
                    sku,
                    f"{sku} has reached its reorder point: {available} available ≤ {point}",
                    {"available": available, "reorder_point": point},
                )
            )
    for name, sku in snap.shown_zero:
        found.append(Finding(Kind.OUT_OF_STOCK, name, sku, f"{sku} is out of stock on {name}"))
    return Findings(
        {f.key: f for f in found if f.kind in watch},
        frozenset((k, c) for k, c in unjudged if k in watch),
        watch,
    )


def _reorder(sku: str, needs: tuple[ReorderNeed, ...]) -> Finding:
    where = "; ".join(
        f"{n.location}: {n.available} available + {n.incoming} on order ≤ {n.reorder_point},"
        f" order {n.quantity}"
        for n in needs
    )
    facts = {
        n.location: {
            "available": n.available,
            "incoming": n.incoming,
            "reorder_point": n.reorder_point,
            "quantity": n.quantity,
        }
        for n in needs
    }
    return Finding(Kind.REORDER_POINT, None, sku, f"{sku} has reached its reorder point ({where})", facts)


CLEARED = {
    Kind.CHANNEL_FAILING: "{channel} has recovered",
    Kind.CHANNEL_BEHIND: "{channel} has caught up",
    Kind.DRIFT: "reconcile found no drift on {channel} any more",
    Kind.OVERSOLD: "{sku} is no longer oversold",
    Kind.QUARANTINED: "no order line on {channel} is quarantined for {sku!r} any more",
    Kind.REORDER_POINT: "{sku} is above its reorder point again",
    Kind.OUT_OF_STOCK: "{sku} is back in stock on {channel}",
    Kind.TEST: "test message",
}
"""What the one message sent when a condition clears says."""


def cleared_summary(kind: Kind, channel: str | None, sku: str | None) -> str:
    return CLEARED[kind].format(channel=channel, sku=sku)


__all__ = [
    "Finding",
    "Findings",
    "Kind",
    "Quarantine",
    "ReorderNeed",
    "Snapshot",
    "alert_key",
    "cleared_summary",
    "findings",
]
