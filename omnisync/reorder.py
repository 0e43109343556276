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
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TextIO

from omnisync.config import ReplenishmentConfig
from omnisync.ledger.repository import Ledger
from omnisync.ledger.supply import Terms, supply_facts
from omnisync.replenishment import Policy, Step, SupplierTerms, demand, suggest_for


@dataclass(frozen=True, slots=True)
class ReorderRow:
    sku: str
    title: str
    location: str
    velocity: float
    """Units a day, recent days weighted more."""
    days_of_cover: float | None
    available: int
    on_hand: int
    incoming: int
    expected: datetime | None
    """When the earliest open purchase order of the SKU at the location is expected."""
    safety_stock: int
    reorder_point: int
    quantity: int
    """What to order now (0: nothing)."""
    lead_time_days: float
    moq: int
    pack: int
    service_level: float
    steps: tuple[Step, ...]


def terms_for(own: Terms, defaults: ReplenishmentConfig) -> tuple[SupplierTerms, float]:
    """A SKU's supplier terms and service level: its own where set, else the config's."""
    lead = own["lead_time_days"]
    terms = SupplierTerms(
        lead_time_days=defaults.lead_time_days if lead is None else lead,
        moq=own["moq"] or defaults.moq,
        pack=own["pack"] or defaults.pack,
    )
    return terms, own["service_level"] or defaults.service_level


def reorder_list(ledger: Ledger, config: ReplenishmentConfig, now: datetime) -> list[ReorderRow]:
    """Every (SKU, location) that sold in the last ``history_days`` days (today included), the most
    urgent first: those to order now by days of cover, then the others."""
    today = now.astimezone(UTC).date()
    since = datetime.combine(today - timedelta(days=config.history_days - 1), time(), UTC)
    with ledger.read() as conn:
        facts = supply_facts(conn, since)
        codes = {lid: str(row.code) for lid, row in ledger.locations(conn).items()}
    policies: dict[float, Policy] = {}
    rows: list[ReorderRow] = []
    for (pid, lid), by_day in facts.sold.items():
        product = facts.products.get(pid)
        if product is None:  # inactive
            continue
        sku, title, own = product
        terms, level = terms_for(own, config)
        policy = policies.get(level)
        if policy is None:
            policy = policies[level] = Policy(level, config.half_life_days, config.review_days)
        ages = {(today - date.fromisoformat(day)).days: units for day, units in by_day.items()}
        on_hand, reserved = facts.stock.get((pid, lid), (0, 0))
        incoming, expected = facts.incoming.get((pid, lid), (0, None))
        available = on_hand - reserved
        s = suggest_for(
            demand(ages, config.history_days, config.half_life_days), available, incoming, terms, policy
        )
        rows.append(
            ReorderRow(
                sku=sku,
                title=title,
                location=codes.get(lid, str(lid)),
                velocity=s.velocity,
                days_of_cover=s.days_of_cover,
                available=available,
                on_hand=on_hand,
                incoming=incoming,
                expected=expected,
                safety_stock=s.safety_stock,
                reorder_point=s.reorder_point,
                quantity=s.quantity,
                lead_time_days=terms.lead_time_days,
                moq=terms.moq,
                pack=terms.pack,
                service_level=level,
                steps=s.steps,
            )
        )
    rows.sort(
        key=lambda r: (r.quantity <= 0, r.days_of_cover if r.days_of_cover is not None else 1e18, r.sku)
    )
    return rows


def row_dict(row: ReorderRow) -> dict[str, Any]:
    return {
        "sku": row.sku,
        "title": row.title,
        "location": row.location,
        "velocity": round(row.velocity, 3),
        "days_of_cover": None if row.days_of_cover is None else round(row.days_of_cover, 1),
        "available": row.available,
        "on_hand": row.on_hand,
        "incoming": row.incoming,
        "expected": None if row.expected is None else row.expected.date().isoformat(),
        "safety_stock": row.safety_stock,
        "reorder_point": row.reorder_point,
        "quantity": row.quantity,
        "lead_time_days": row.lead_time_days,
        "moq": row.moq,
        "pack": row.pack,
        "service_level": row.service_level,
        "why": [f"{s.rule}: {s.detail}" for s in row.steps],
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
