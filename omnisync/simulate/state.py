"""What a simulated run records: the orders as the channels accepted them (the truth the ledger is
checked against) and the figures per channel, handed to :mod:`.measures` and :mod:`.report`."""

from __future__ import annotations

from dataclasses import dataclass, field

from .arrivals import Product
from .scenario import Scenario


@dataclass
class SimOrder:
    """An order as the channel accepted it: the truth the ledger is checked against."""

    channel: str
    external_id: str
    sku: str
    units: int
    placed_at: float
    walk_in: bool = False
    fulfilled: int = 0
    cancelled: bool = False
    restocked: int = 0
    is_return: bool = False
    pickup: bool = False
    """Ordered ahead, collected at the store (click-and-collect)."""
    refunded: bool = False
    """Refunded without a restock (it came back damaged)."""


@dataclass
class ChannelFigures:
    kind: str = ""
    shoppers: int = 0
    orders: int = 0
    units_sold: int = 0
    turned_away: int = 0
    lost_sales: int = 0
    """Shoppers turned away while the units existed where the channel draws from."""
    lost_sales_units: int = 0
    accepted_over_ledger: int = 0
    """Units accepted while the ledger's offer for this channel was below the order."""
    lost_updates: int = 0
    """Pushes that overwrote a sale the channel had made and the ledger had not seen."""
    lost_update_units: int = 0
    oversold_units: int = 0
    preorder_units: int = 0
    """Units sold beyond the stock on hand the ledger offered, against stock on order (preorders)."""
    drift: int = 0
    api_calls: int = 0
    throttled: int = 0
    requests: int = 0
    refused_down: int = 0
    lost_answers: int = 0
    webhooks_sent: int = 0
    webhooks_lost: int = 0
    webhooks_duplicated: int = 0
    webhooks_reordered: int = 0
    webhooks_delivered: int = 0
    webhooks_refused: int = 0
    cycles_failed: int = 0


@dataclass
class RunState:
    """Everything measured during the run, handed to :mod:`.measures`."""

    scenario: Scenario
    seed: int
    products: list[Product]
    orders: dict[tuple[str, str], SimOrder] = field(default_factory=dict)
    figures: dict[str, ChannelFigures] = field(default_factory=dict)
    receipts: dict[tuple[str, str], int] = field(default_factory=dict)
    """(SKU, location) -> units the simulation received into the ledger."""
    on_order: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(purchase order, SKU, location) -> units still expected (ordered less received)."""
    damaged: dict[tuple[str, str], int] = field(default_factory=dict)
    """(SKU, location) -> returned units the merchant received as damaged."""
    returned_elsewhere: int = 0
    """Returns brought back to another location than where they were sold."""
    pickups: int = 0
    """Click-and-collect orders."""
    drift: dict[str, list[tuple[str, int | None, int]]] = field(default_factory=dict)
    kills: int = 0
    kills_mid_cycle: int = 0
    faults_injected: int = 0
    outages: list[tuple[str, float, float]] = field(default_factory=list)
    virtual_s: float = 0.0
    wall_s: float = 0.0
    listings: dict[str, list[str]] = field(default_factory=dict)
    """Per channel that may create listings: how it breaks the listing sync (empty: it holds)."""
