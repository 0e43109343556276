"""A channel's state as the merchant reads it, derived from its last pull *and* its last push.

Pure: plain values in, a state and the reason out. The engine's own ``ChannelHealth.state`` says how
the most recent run ended, whichever it was; a channel whose order pulls fail every 10 s while its
pushes succeed would read "ok" beside a red error. Here the error counts until both a pull and a
push (when one is due) have succeeded after it.

States, the worst first::

    failing    an error newer than the last good pull or push, a configuration problem, or paused
               by the breaker after repeated errors
    throttled  the channel asked us to slow down and an operation is parked right now
    behind     orders not pulled since start-up or since a failed pull (increases wait), or changes
               waiting longer than a few push intervals
    ok         pulls and pushes succeed and nothing waits
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

BEHIND_AFTER_PUSHES = 3
"""Pending changes older than this many push intervals make a channel "behind"."""


class State(StrEnum):
    FAILING = "failing"
    THROTTLED = "throttled"
    BEHIND = "behind"
    OK = "ok"


@dataclass(frozen=True)
class ChannelFacts:
    """What the engine knows about one channel, as plain values."""

    now: datetime
    engine_state: str
    """ChannelHealth.state: idle | ok | failing | configuration | open."""
    last_pull_at: datetime | None
    """The last successful order pull."""
    last_push_at: datetime | None
    """The last successful push run."""
    last_error_at: datetime | None
    last_error: str | None = None
    paused_until: datetime | None = None
    orders_behind: bool = False
    pending: int | None = 0
    throttled_for_s: float = 0.0
    """Seconds until the channel's parked operations may call again (0: none parked)."""
    push_every_s: float = 60.0
    consecutive_failures: int = 0


@dataclass(frozen=True)
class Verdict:
    state: State
    why: str


def _after(success: datetime | None, error: datetime) -> bool:
    return success is not None and success > error


def channel_state(f: ChannelFacts) -> Verdict:
    """The channel's state and why, from its last pull and push (see the module's table)."""
    if f.engine_state == "configuration":
        return Verdict(State.FAILING, "configuration problem: fix the config or the credentials")
    if f.engine_state == "open" and f.paused_until is not None and f.paused_until > f.now:
        return Verdict(
            State.FAILING,
            f"paused after {f.consecutive_failures} errors in a row until {f.paused_until:%H:%M:%S}",
        )
    if f.last_error_at is not None:
        pull_recovered = _after(f.last_pull_at, f.last_error_at)
        push_recovered = _after(f.last_push_at, f.last_error_at) or not f.pending
        if not pull_recovered:
            return Verdict(State.FAILING, "no order pull has succeeded since the last error")
        if not push_recovered:
            return Verdict(State.FAILING, "no push has succeeded since the last error")
    if f.throttled_for_s > 0:
        return Verdict(
            State.THROTTLED, f"the channel asked to slow down: calls resume in {f.throttled_for_s:.0f} s"
        )
    if f.orders_behind:
        return Verdict(State.BEHIND, "orders not pulled yet: stock increases wait for the pull")
    if f.pending:
        waited = None if f.last_push_at is None else (f.now - f.last_push_at).total_seconds()
        if waited is None or waited > BEHIND_AFTER_PUSHES * f.push_every_s:
            return Verdict(State.BEHIND, f"{f.pending} change(s) waiting for a push")
    return Verdict(State.OK, "pulls and pushes succeed")
