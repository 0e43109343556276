"""``omnisync reorder``: per SKU and location that sold lately, its demand, cover and what to order now.

The ledger's facts (:func:`omnisync.ledger.supply.supply_facts`: daily units sold in the history
window, stock, units on order, supplier terms) go through the pure rules of
:mod:`omnisync.replenishment`, with each SKU's own terms where its catalogue row names them and the
config's ``replenishment`` defaults where not. The stock a suggestion starts from is what is
*available* (on hand less reserved: units sold and not yet shipped are gone already); days of cover
are counted on it too.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TextIO

from omnisync.config import ReplenishmentConfig
from omnisync.ledger.repository import Ledger
from omnisync.ledger.supply import Terms, supply_facts
from omnisync.replenishment import (
    Policy,
    Suggestion,
    SupplierTerms,
    day_weight,
    demand_from_sums,
    suggest_for,
)


@dataclass(frozen=True, slots=True)
class ReorderRow:
    sku: str
    title: str
    location: str
    available: int
    on_hand: int
    expected: datetime | None
    """When the earliest open purchase order of the SKU at the location is expected."""
    suggestion: Suggestion
    """Velocity, days of cover, safety stock, reorder point, what to order now and why."""

    @property
    def quantity(self) -> int:
        return self.suggestion.quantity

    @property
    def days_of_cover(self) -> float | None:
        return self.suggestion.days_of_cover


def terms_for(own: Terms, defaults: ReplenishmentConfig) -> tuple[SupplierTerms, float]:
    """A SKU's supplier terms and service level: its own where set, else the config's."""
    lead = own["lead_time_days"]
    terms = _terms(
        defaults.lead_time_days if lead is None else lead,
        own["moq"] or defaults.moq,
        own["pack"] or defaults.pack,
    )
    return terms, own["service_level"] or defaults.service_level


@lru_cache(maxsize=1024)
def _terms(lead_time_days: float, moq: int, pack: int) -> SupplierTerms:
    """One value per distinct set of terms (a catalogue of 100k SKUs has a handful)."""
    return SupplierTerms(lead_time_days, moq, pack)


def reorder_list(ledger: Ledger, config: ReplenishmentConfig, now: datetime) -> list[ReorderRow]:
    """Every (SKU, location) that sold in the last ``history_days`` days (today included), the most
    urgent first: those to order now by days of cover, then the others."""
    today = now.astimezone(UTC).date()
    weights = {
        (today - timedelta(days=age)).isoformat(): day_weight(age, config.half_life_days)
        for age in range(config.history_days)
    }
    with ledger.read() as conn:
        facts = supply_facts(conn, weights)
        codes = {lid: str(row.code) for lid, row in ledger.locations(conn).items()}
    policies: dict[float, Policy] = {}
    rows: list[ReorderRow] = []
    for (pid, lid), (first, second) in facts.sold.items():
        product = facts.products.get(pid)
        if product is None:  # inactive
            continue
        sku, title, own = product
        supplier, level = terms_for(own, config)
        policy = policies.get(level)
        if policy is None:
            policy = policies[level] = Policy(level, config.half_life_days, config.review_days)
        on_hand, reserved = facts.stock.get((pid, lid), (0, 0))
        incoming, expected = facts.incoming.get((pid, lid), (0, None))
        available = on_hand - reserved
        seen = demand_from_sums(first, second, config.history_days, config.half_life_days)
        s = suggest_for(seen, available, incoming, supplier, policy)
        rows.append(
            ReorderRow(
                sku=sku,
                title=title,
                location=codes.get(lid, str(lid)),
                available=available,
                on_hand=on_hand,
                expected=expected,
                suggestion=s,
            )
        )
    rows.sort(
        key=lambda r: (r.quantity <= 0, r.days_of_cover if r.days_of_cover is not None else 1e18, r.sku)
    )
    return rows


def row_dict(row: ReorderRow) -> dict[str, Any]:
    s = row.suggestion
    return {
        "sku": row.sku,
        "title": row.title,
        "location": row.location,
        "velocity": round(s.velocity, 3),
        "days_of_cover": None if s.days_of_cover is None else round(s.days_of_cover, 1),
        "available": row.available,
        "on_hand": row.on_hand,
        "incoming": s.incoming,
        "expected": None if row.expected is None else row.expected.date().isoformat(),
        "safety_stock": s.safety_stock,
        "reorder_point": s.reorder_point,
        "quantity": s.quantity,
        "lead_time_days": s.terms.lead_time_days,
        "moq": s.terms.moq,
        "pack": s.terms.pack,
        "service_level": s.policy.service_level,
        "why": [f"{step.rule}: {step.detail}" for step in s.steps],
    }


PURCHASE_COLUMNS = ("sku", "title", "location", "quantity", "moq", "pack", "lead_time_days", "days_of_cover")


def write_purchase_list(rows: list[ReorderRow], out: TextIO) -> int:
    """The purchase list as CSV: one line per SKU and location to order now."""
    writer = csv.DictWriter(out, PURCHASE_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        if row.quantity > 0:
            writer.writerow({k: "" if v is None else v for k, v in row_dict(row).items()})
            n += 1
    return n
