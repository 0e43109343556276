"""The measures and invariants of a finished run, read from the ledger and the emulators.

* orders: every order an emulator accepted is in the ledger exactly once by (channel, external id),
  and its effect is applied exactly once (reservation = open units, sale movements = fulfilled units,
  return movements = restocked units); nothing else is in the ledger;
* conservation: at every (SKU, location) the journal sums to ``on_hand`` (receipts − sales +
  adjustments + returns ± transfers), reservations sum to ``reserved``, and receipts are exactly what
  the simulation received;
* convergence: after the faults stopped and one reconcile ran, every channel shows what the ledger
  offers it;
* oversold units: per (SKU, location), reservations + sales beyond receipts + returns
  (``reserved − on_hand`` when positive) and beyond the stock still on order there (what preorders
  are sold against), attributed to the channels whose orders took the last units;
* non-sellable stock and stock on order: each bucket (damaged returns) sums to what the merchant put
  in it, and each purchase order's units still expected are its units less those received.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from omnisync import invariants
from omnisync.engine.runtime import Engine
from omnisync.ledger import queries
from omnisync.ledger.repository import Ledger
from omnisync.returns import DAMAGED

from .channels import SimChannel
from .state import RunState, SimOrder


@dataclass
class Measures:
    orders_missing: list[tuple[str, str]] = field(default_factory=list)
    orders_unexpected: list[tuple[str, str]] = field(default_factory=list)
    orders_misapplied: list[str] = field(default_factory=list)
    conservation: list[str] = field(default_factory=list)
    oversold: dict[tuple[str, str], int] = field(default_factory=dict)
    """(SKU, location) -> units."""
    preordered: dict[tuple[str, str], int] = field(default_factory=dict)
    """(SKU, location) -> units sold ahead of stock and still waiting for the stock on order there."""
    violations: list[str] = field(default_factory=list)


def measure_drift(
    engine: Engine, channels: Mapping[str, SimChannel], skus: Sequence[str]
) -> dict[str, list[tuple[str, int | None, int]]]:
    """(SKU, shown, offered) per channel wherever the channel shows another number than the ledger's."""
    offers = invariants.offers(engine, skus, channels, excluded_as_zero=False)
    drift = invariants.convergence(
        offers, {name: ch.quantity for name, ch in channels.items()}, absent_as_zero=False
    )
    return {name: [(m.sku, m.shown, m.offered) for m in found] for name, found in drift.items()}


def _lines(ledger: Ledger) -> list[Any]:
    with ledger.read() as conn:
        return queries.order_line_report(conn)


def check_orders(ledger: Ledger, state: RunState, m: Measures) -> list[Any]:
    with ledger.read() as conn:
        stored = queries.stored_orders(conn)
        moved = queries.order_movements(conn)
    orders = invariants.check_orders(state.orders, stored)
    m.orders_missing, m.orders_unexpected = orders.missing, orders.unexpected
    lines = _lines(ledger)
    by_order: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for ln in lines:
        by_order[(str(ln.channel), str(ln.external_id))].append(ln)
    for key, order in sorted(state.orders.items()):
        if key not in stored:
            continue
        got = by_order.get(key, [])
        problem = _misapplied(order, got, moved)
        if problem:
            m.orders_misapplied.append(f"{key[0]} order {key[1]} ({order.sku}): {problem}")
    return lines


def _misapplied(order: SimOrder, lines: list[Any], moved: Mapping[tuple[str, str, str], int]) -> str | None:
    if any(ln.quarantined for ln in lines):
        return "a line is quarantined"
    reserved = sum(int(ln.reserved) for ln in lines)
    fulfilled = sum(int(ln.applied_fulfilled) for ln in lines)
    restocked = sum(int(ln.applied_restocked) for ln in lines)
    expect_open = 0 if order.cancelled or order.is_return else order.units - order.fulfilled
    sold = -moved.get((order.channel, order.external_id, "sale"), 0)
    back = moved.get((order.channel, order.external_id, "return"), 0)
    found = (reserved, fulfilled, sold, restocked, back)
    expected = (expect_open, order.fulfilled, order.fulfilled, order.restocked, order.restocked)
    if found != expected:
        return (
            "(reserved, fulfilled, sale units, restocked, return units) in the ledger are "
            f"{found}, the channel says {expected}"
        )
    return None


def check_conservation(
    ledger: Ledger, state: RunState, m: Measures
) -> tuple[dict[tuple[str, str], tuple[int, int]], dict[tuple[str, str], int]]:
    """Returns (SKU, location) -> (on_hand, reserved), and (SKU, location) -> units still on order."""
    with ledger.read() as conn:
        books = queries.stock_books(conn)
    stock, received = books.stock, books.received
    m.conservation.extend(
        invariants.conservation_problems(
            stock, books.journal, books.held, lambda key: f"{key[0]} at {key[1]}"
        )
    )
    for key in sorted(set(received) | set(state.receipts)):
        if received.get(key, 0) != state.receipts.get(key, 0):
            m.conservation.append(
                f"{key[0]} at {key[1]}: {received.get(key, 0)} units received in the journal, "
                f"{state.receipts.get(key, 0)} delivered"
            )
    damaged = {(sku, loc): units for (sku, loc, bucket), units in books.buckets.items() if bucket == DAMAGED}
    for key in sorted(set(damaged) | set(state.damaged)):
        if damaged.get(key, 0) != state.damaged.get(key, 0):
            m.conservation.append(
                f"{key[0]} at {key[1]}: {damaged.get(key, 0)} units in the damaged bucket, "
                f"{state.damaged.get(key, 0)} received damaged"
            )
    on_order: dict[tuple[str, str], int] = {}
    for po in sorted(set(books.on_order) | set(state.on_order)):
        ref, sku, loc = po
        expected, undelivered = books.on_order.get(po, 0), state.on_order.get(po, 0)
        if expected != undelivered:
            m.conservation.append(
                f"{sku} at {loc}: {expected} units still expected under {ref}, "
                f"{undelivered} not yet delivered"
            )
        on_order[(sku, loc)] = on_order.get((sku, loc), 0) + expected
    return stock, on_order


def attribute_oversold(
    stock: Mapping[tuple[str, str], tuple[int, int]],
    lines: list[Any],
    state: RunState,
    m: Measures,
    on_order: Mapping[tuple[str, str], int] | None = None,
) -> None:
    """Deficits per (SKU, location) beyond the stock on order there (the rest are preorders), charged
    to the orders that took the last units there."""
    for key, (on_hand, reserved) in stock.items():
        ahead = reserved - on_hand
        covered = min(max(0, ahead), (on_order or {}).get(key, 0))
        if covered:
            m.preordered[key] = covered
        deficit = ahead - covered
        if deficit <= 0:
            continue
        m.oversold[key] = deficit
        takers = [
            ln
            for ln in lines
            if ln.sku == key[0] and ln.location == key[1] and int(ln.reserved) + int(ln.applied_fulfilled) > 0
        ]
        takers.sort(
            key=lambda ln: (
                state.orders[(ln.channel, ln.external_id)].placed_at
                if (ln.channel, ln.external_id) in state.orders
                else 0.0
            ),
            reverse=True,
        )
        for ln in takers:
            if deficit <= 0:
                break
            units = min(deficit, int(ln.reserved) + int(ln.applied_fulfilled))
            state.figures[str(ln.channel)].oversold_units += units
            deficit -= units


def measure(ledger: Ledger, state: RunState) -> Measures:
    m = Measures()
    lines = check_orders(ledger, state, m)
    stock, on_order = check_conservation(ledger, state, m)
    attribute_oversold(stock, lines, state, m, on_order)
    for name, rows in state.drift.items():
        state.figures[name].drift = len(rows)
    seed = f"(seed {state.seed}, scenario {state.scenario.name})"
    for ch, oid in m.orders_missing:
        m.violations.append(f"order lost: {ch} accepted {oid}, the ledger does not have it {seed}")
    for ch, oid in m.orders_unexpected:
        m.violations.append(f"order unknown: the ledger has {ch} {oid}, the channel never accepted it {seed}")
    for text in m.orders_misapplied:
        m.violations.append(f"order applied wrongly: {text} {seed}")
    for text in m.conservation:
        m.violations.append(f"conservation: {text} {seed}")
    for name, rows in sorted(state.drift.items()):
        for sku, shown, offered in rows:
            m.violations.append(
                f"no convergence: {name} shows {shown} of {sku} after the reconcile, the ledger offers "
                f"{offered} {seed}"
            )
    for name, problems in sorted(state.listings.items()):
        for problem in problems:
            m.violations.append(f"listing sync: {name}: {problem} {seed}")
    return m
