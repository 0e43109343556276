"""When the daemon has caught up with the shoppers: every order placed is in the ledger, nothing is
left to push, and every channel shows what the ledger offers. The demo lets the next wave of shoppers
in only then (see :mod:`.script`).

A channel can show more or fewer than the daemon believes once it has nothing left to push: a push
without compare-and-set (Meta, Amazon) overwrote a sale the daemon had not imported yet. The daemon
corrects that at its next reconcile; the demo asks for that reconcile at once (through the
scheduler, as the timetable would) and says so, so that no shopper meets the drift.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from omnisync import invariants
from omnisync.engine.runtime import Engine
from omnisync.ledger import queries

from .channels import DemoChannel


@dataclass(frozen=True)
class Backlog:
    """What is left, per channel (nothing: caught up)."""

    orders: dict[str, int] = field(default_factory=dict)
    """Orders placed on the channel that the ledger does not hold yet."""
    pushing: dict[str, int] = field(default_factory=dict)
    """Pairs in a push in flight or planned and not sent yet."""
    drift: dict[str, int] = field(default_factory=dict)
    """With nothing left to push: SKUs the channel shows another quantity for than the ledger offers."""
    marked: dict[str, int] = field(default_factory=dict)
    """With nothing left to push: pairs still marked as changed (marked after the last push run, whose
    next run finds them unchanged and clears them; ``status`` counts them as pending until then)."""

    @property
    def clear(self) -> bool:
        return not (self.orders or self.pushing or self.drift or self.marked)

    def __str__(self) -> str:
        parts = [f"{name}: {n} order(s) to import" for name, n in self.orders.items()]
        parts += [f"{name}: {n} SKU(s) to push" for name, n in self.pushing.items()]
        parts += [f"{name}: {n} SKU(s) drifted" for name, n in self.drift.items()]
        parts += [f"{name}: {n} SKU(s) marked as changed" for name, n in self.marked.items()]
        return "; ".join(parts) or "caught up"


def backlog(engine: Engine, channels: Sequence[DemoChannel], skus: Sequence[str]) -> Backlog:
    """The backlog now, the cheap questions first: the offers (a plan per SKU) are read only once the
    orders are in and nothing is left to push."""
    with engine.ledger.read() as conn:
        held = {
            ch.name: queries.known_orders(conn, engine.channels[ch.name].channel_id, ch.placed)
            for ch in channels
        }
    orders = {ch.name: len(set(ch.placed) - held[ch.name]) for ch in channels}
    orders = {name: n for name, n in orders.items() if n}
    pushing = {
        ch.name: len(engine.channels[ch.name].in_flight) + len(engine.plan(ch.name)) for ch in channels
    }
    pushing = {name: n for name, n in pushing.items() if n}
    if orders or pushing:
        return Backlog(orders, pushing)
    offers = invariants.offers(engine, skus, [ch.name for ch in channels])
    drift = invariants.convergence(offers, {ch.name: ch.quantity for ch in channels})
    drifted = {name: len(found) for name, found in drift.items() if found}
    if drifted:
        return Backlog(drift=drifted)
    with engine.ledger.read() as conn:
        marked = {ch.name: queries.channel_counts(conn, ch.name).pending for ch in channels}
    return Backlog(marked={name: n for name, n in marked.items() if n})


@dataclass
class Settled:
    backlog: Backlog
    """What was left at the end (clear: caught up)."""
    seconds: float
    reconciled: dict[str, int] = field(default_factory=dict)
    """Channel -> SKUs that had drifted, for the channels the demo had reconciled."""

    def __str__(self) -> str:
        if not self.backlog.clear:
            return f"still behind after {self.seconds:.1f} s: {self.backlog}"
        fixed = "".join(
            f"; {name}: {n} SKU(s) drifted (a sale overwritten by a push), reconciled"
            for name, n in self.reconciled.items()
        )
        return f"the daemon caught up in {self.seconds:.1f} s{fixed}"


async def caught_up(
    engine: Engine,
    channels: Sequence[DemoChannel],
    skus: Sequence[str],
    *,
    timeout_s: float,
    reconcile: Callable[[str], Awaitable[None]],
    push: Callable[[str], Awaitable[None]],
    poll_s: float = 0.2,
) -> Settled:
    """Wait (on the engine's clock) until the backlog is clear or ``timeout_s`` passed; a channel that
    drifted is reconciled once; one with pairs still marked and nothing to push gets its next push
    run at once (as its timetable would run it), which clears the marks."""
    began = engine.clock.monotonic()
    reconciled: dict[str, int] = {}
    while True:
        found = backlog(engine, channels, skus)
        elapsed = engine.clock.monotonic() - began
        if found.clear or elapsed >= timeout_s:
            return Settled(found, elapsed, reconciled)
        again = {name: n for name, n in found.drift.items() if name not in reconciled}
        if again:
            reconciled.update(again)
            for name in again:
                await reconcile(name)
            continue
        for name in found.marked:
            await push(name)
        await engine.clock.sleep(poll_s)
