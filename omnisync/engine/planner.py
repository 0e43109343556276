"""Pure planning: ledger numbers + rules -> what each channel should show -> what to push.

No I/O here: callers hand in ledger rows; the allocation and pricing arithmetic stays in
:mod:`omnisync.allocation` and :mod:`omnisync.pricing`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from omnisync.allocation import Allocation, AllocationPolicy, ChannelInput, LocationStock, QuantityRules, Step
from omnisync.drops import DropState, drop_state
from omnisync.ledger.repository import ListingRow
from omnisync.mapping import ChannelMapping
from omnisync.pricing import PriceResult, PriceRules, price_for
from omnisync.sdk.helpers import chunked


@dataclass(frozen=True)
class ChannelRules:
    """A channel's configured rules before per-SKU resolution."""

    name: str
    sources: tuple[str, ...]
    quantity: QuantityRules
    price: PriceRules
    mapping: ChannelMapping
    push_prices: bool = True


@dataclass(frozen=True)
class SkuState:
    sku: str
    tags: tuple[str, ...]
    price: Decimal
    currency: str
    active: bool
    stock: Mapping[str, LocationStock]
    """Location code -> numbers."""


@dataclass(frozen=True)
class Target:
    channel: str
    allocation: Allocation
    price: PriceResult | None
    excluded: bool = False
    quantity_provenance: tuple[str, ...] = ()
    price_provenance: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedItem:
    channel: str
    sku: str
    product_id: int
    channel_sku: str
    ids: Mapping[str, str]
    version: int
    quantity: int | None
    """Target quantity when it differs from the last acknowledged one, else None."""
    previous: int | None
    price: Decimal | None
    """Target price when it differs, else None."""
    currency: str | None
    available: bool | None
    target: Target = field(compare=False, repr=False)

    @property
    def decrease(self) -> bool:
        return self.quantity is not None and (self.previous is None or self.quantity < self.previous)


class TargetCalculator:
    """Computes every channel's target for a SKU with the deployment's policy."""

    def __init__(self, channels: Sequence[ChannelRules], policy: AllocationPolicy) -> None:
        self.channels = {c.name: c for c in channels}
        self.policy = policy

    def drop_for(self, state: SkuState, now: datetime) -> DropState | None:
        for channel in self.channels.values():
            schedule = channel.mapping.drop_for(state.sku, state.tags)
            if schedule is not None:
                return drop_state(schedule, now)
        return None

    def targets(self, state: SkuState, now: datetime) -> dict[str, Target]:
        inputs: list[ChannelInput] = []
        excluded: list[str] = []
        provenance: dict[str, tuple[str, ...]] = {}
        for channel in self.channels.values():
            if channel.mapping.excluded(state.sku, state.tags):
                excluded.append(channel.name)
                continue
            rules, prov = channel.mapping.quantity_rules(state.sku, state.tags, channel.quantity)
            provenance[channel.name] = prov
            inputs.append(ChannelInput(channel.name, channel.sources, rules, prov))
        stock = state.stock if state.active else {}
        allocations = self.policy.allocate(stock, inputs, drop=self.drop_for(state, now)) if inputs else {}
        out: dict[str, Target] = {}
        for name, allocation in allocations.items():
            if not state.active:
                allocation = Allocation(
                    name,
                    0,
                    0,
                    (Step("inactive", "the product is inactive in the ledger", 0),),
                    allocation.available,
                )
            channel = self.channels[name]
            price_rules, price_prov = channel.mapping.price_rules(state.sku, state.tags, channel.price)
            price = price_for(state.price, state.currency, price_rules) if channel.push_prices else None
            out[name] = Target(name, allocation, price, False, provenance.get(name, ()), price_prov)
        for name in excluded:
            zero = Allocation(name, 0, 0, (Step("excluded", "excluded by the channel's mapping", 0),), False)
            out[name] = Target(name, zero, None, True)
        return out


def diff(listing: ListingRow, target: Target) -> PlannedItem | None:
    """What must change on the channel for this pair; None when it already shows the target."""
    offered = target.allocation.offered
    quantity = offered if listing.acked_quantity != offered else None
    available = target.allocation.available
    visibility_change = available is not None and listing.acked_available != available
    price = None
    currency = None
    if target.price is not None and listing.acked_price != target.price.price:
        price, currency = target.price.price, target.price.currency
    if quantity is None and price is None and not visibility_change:
        return None
    if quantity is None and visibility_change:
        quantity = offered
    return PlannedItem(
        channel=target.channel,
        sku=listing.sku,
        product_id=listing.product_id,
        channel_sku=listing.channel_sku,
        ids=listing.ids,
        version=listing.version,
        quantity=quantity,
        previous=listing.acked_quantity,
        price=price,
        currency=currency,
        available=available,
        target=target,
    )


def inventory_batches(items: Sequence[PlannedItem], max_batch: int) -> list[Sequence[PlannedItem]]:
    """Quantity changes in batches within the channel's limit, every decrease before any increase."""
    changes = [i for i in items if i.quantity is not None]
    ordered = sorted(changes, key=lambda i: (not i.decrease, i.sku))
    return list(chunked(ordered, max_batch))


def price_batches(items: Sequence[PlannedItem], max_batch: int) -> list[Sequence[PlannedItem]]:
    return list(chunked([i for i in items if i.price is not None], max_batch))
