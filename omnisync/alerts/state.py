"""Deduplication: one alert per condition until it clears, then one "cleared" message. Pure.

Each condition key has a record, kept in the ledger (so a restart neither forgets nor re-sends)::

    quiet ──found──▶ pending ──held for its threshold──▶ firing ──not found──▶ resolved
      ▲                 │                                                         │
      └──not found──────┘                         found again: pending (next episode)

``firing`` is entered once per episode (``raised``), ``resolved`` once (``cleared``); nothing else
is sent. A threshold of 0 raises at once. A key the snapshot cannot judge keeps its record.

What each notifier has been told is kept per (key, notifier) as (episode, status): :func:`owed`
compares it with the record, so a notifier that was down is told later, once, what it missed, and a
"cleared" goes only to a notifier that was told of that episode's "raised".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from .conditions import Findings, Kind, cleared_summary


class Status(StrEnum):
    QUIET = "quiet"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertRecord:
    key: str
    kind: Kind
    channel: str | None
    sku: str | None
    status: Status
    since: datetime | None = None
    """When the condition was first found in the current streak."""
    episode: int = 0
    """How many times it has fired."""
    summary: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)
    raised_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Transition:
    record: AlertRecord
    change: Literal["raised", "cleared"]


def advance(
    records: Mapping[str, AlertRecord],
    found: Findings,
    now: datetime,
    thresholds: Mapping[str, float],
) -> tuple[dict[str, AlertRecord], list[Transition]]:
    """The records that change with this evaluation (by key), and the raises and clears among them."""
    changed: dict[str, AlertRecord] = {}
    moves: list[Transition] = []
    for key, f in found.found.items():
        rec = records.get(key)
        fresh = rec is None or rec.status in (Status.QUIET, Status.RESOLVED)
        if rec is not None and rec.status is Status.FIRING:
            if rec.facts != f.facts:  # else, the common case thousands of times an evaluation: nothing
                changed[key] = replace(rec, facts=dict(f.facts))
            continue
        since = now if fresh or rec is None else (rec.since or now)
        episode = 0 if rec is None else rec.episode
        if (now - since).total_seconds() >= thresholds.get(f.kind, 0.0):
            new = AlertRecord(
                key,
                f.kind,
                f.channel,
                f.sku,
                Status.FIRING,
                since,
                episode + 1,
                f.summary,
                dict(f.facts),
                now,
            )
            moves.append(Transition(new, "raised"))
        elif not fresh and rec is not None and rec.summary == f.summary and rec.facts == f.facts:
            continue  # pending, unchanged
        else:
            new = AlertRecord(
                key, f.kind, f.channel, f.sku, Status.PENDING, since, episode, f.summary, dict(f.facts)
            )
        changed[key] = new
    for key, rec in records.items():
        if key in found.found or not found.judges(rec.kind, rec.channel):
            continue
        if rec.status is Status.FIRING:
            new = replace(rec, status=Status.RESOLVED, resolved_at=now, since=None)
            changed[key] = new
            moves.append(Transition(new, "cleared"))
        elif rec.status is Status.PENDING:
            changed[key] = replace(rec, status=Status.QUIET, since=None)
    return changed, moves


@dataclass(frozen=True)
class Told:
    """What a notifier was last told about a key."""

    episode: int
    status: Status


@dataclass(frozen=True)
class Notice:
    """One alert in a message: the record and whether it is raised (firing) or cleared (resolved)."""

    record: AlertRecord
    status: Status

    @property
    def summary(self) -> str:
        r = self.record
        if self.status is Status.RESOLVED:
            return cleared_summary(r.kind, r.channel, r.sku)
        return r.summary

    @property
    def told(self) -> Told:
        return Told(self.record.episode, self.status)


def owed(
    records: Iterable[AlertRecord], told: Mapping[str, Told], accepts: Callable[[Kind], bool]
) -> list[Notice]:
    """What a notifier has not been told yet, oldest change first."""
    out: list[Notice] = []
    for rec in records:
        if not accepts(rec.kind):
            continue
        last = told.get(rec.key)
        if rec.status is Status.FIRING and last != Told(rec.episode, Status.FIRING):
            out.append(Notice(rec, Status.FIRING))
        elif rec.status is Status.RESOLVED and last == Told(rec.episode, Status.FIRING):
            out.append(Notice(rec, Status.RESOLVED))
    return sorted(out, key=lambda n: (_changed_at(n), n.record.key))


def _changed_at(n: Notice) -> datetime:
    at = n.record.resolved_at if n.status is Status.RESOLVED else n.record.raised_at
    return at or datetime.min.replace(tzinfo=UTC)


__all__ = ["AlertRecord", "Notice", "Status", "Told", "Transition", "advance", "owed"]
