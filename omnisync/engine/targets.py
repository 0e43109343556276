"""What each channel should show for a SKU, with every number explained: the channels' rules
resolved through their mappings, the allocation policy and the price rules (``omnisync explain``).

Pure: no I/O. :mod:`omnisync.engine.planner` diffs these targets against what each channel holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from omnisync.allocation import (
    Allocation,
    AllocationPolicy,
    BufferedPolicy,
    ChannelInput,
    LocationStock,
    QuantityRules,
    Step,
    validate_split,
)
from omnisync.drops import DropState, drop_state
from omnisync.kits import KitStock
from omnisync.mapping import ChannelMapping
from omnisync.pace import Pace
from omnisync.pricing import PriceResult, PriceRules, price_for


@dataclass(frozen=True)
class ChannelRules:
    """A channel's configured rules before per-SKU resolution."""

    name: str
    sources: tuple[str, ...]
    quantity: QuantityRules
    price: PriceRules
    mapping: ChannelMapping
    push_prices: bool = True
    quantity_from: tuple[str, ...] = ()
    """Where the deployment config sets :attr:`quantity` (``omnisync.yaml channels.web.allocation:
    buffer_units=1``): explanations show these before the mapping's own rules."""
    price_from: tuple[str, ...] = ()
    """The same for :attr:`price`."""
    share_components: bool = True
    """Listings drawing on one component share its units here (``ChannelConfig.share_components``)."""

    @property
    def preorders(self) -> bool:
        """Whether this channel may sell ahead of the stock on order (its config or its mapping says
        ``preorder_limit``, channel-wide or for some SKUs or tags)."""
        file = self.mapping.mapping
        rule_sets = [*file.tags.values(), *file.skus.values()]
        layers = [file.quantity, *(r.quantity for r in rule_sets)]
        return self.quantity.preorder_limit is not None or any(
            q is not None and q.preorder_limit is not None for q in layers
        )


@dataclass(frozen=True)
class SkuState:
    sku: str
    tags: tuple[str, ...]
    price: Decimal
    currency: str
    active: bool
    stock: Mapping[str, LocationStock]
    """Location code -> numbers."""
    pace: Pace | None = None
    """Its sales velocities and the channels' latencies, read when the policy is adaptive."""
    kit: Mapping[str, KitStock] | None = None
    """For a kit explained in full: per location, its units and the component that limits them
    (``stock`` then holds those units, as :func:`omnisync.kits.kit_stock` computed them)."""
    drawn: Mapping[str, Mapping[str, KitStock]] | None = None
    """Channel -> per location, the units this listing may draw there when it shares a component with
    other listings on that channel (its share, :func:`omnisync.kits.sales_shares`): that channel's
    rules apply to these units instead of :attr:`stock`."""

    def stock_on(self, channel: str) -> Mapping[str, LocationStock]:
        """The stock the channel's rules apply to: :attr:`stock`, or its share of it (:attr:`drawn`)."""
        drawn = None if self.drawn is None else self.drawn.get(channel)
        if drawn is None:
            return self.stock
        out = {}
        for code, share in drawn.items():
            base = self.stock.get(code)
            if base is None:
                out[code] = LocationStock(code, share.kits, 0)
            elif base.reserved > base.on_hand:  # sold ahead of stock (preorders): nothing to share
                out[code] = replace(base, on_hand=0, reserved=base.reserved - base.on_hand)
            else:
                out[code] = replace(base, on_hand=share.kits, reserved=0)
        return out


@dataclass(frozen=True)
class Target:
    channel: str
    allocation: Allocation
    price: PriceResult | None
    excluded: bool = False
    quantity_provenance: tuple[str, ...] = ()
    price_provenance: tuple[str, ...] = ()


class TargetCalculator:
    """Computes every channel's target for a SKU with the deployment's policy."""

    def __init__(self, channels: Sequence[ChannelRules], policy: AllocationPolicy) -> None:
        self.channels = {c.name: c for c in channels}
        self.policy = policy
        # Buffered and split allocate each channel on its own (split's shares are checked once, here),
        # so planning one channel need not compute the others; priority compares channels.
        self.independent = isinstance(policy, BufferedPolicy)
        if policy.name == "split":
            validate_split([ChannelInput(c.name, c.sources, c.quantity) for c in channels])

    def drop_for(self, state: SkuState, now: datetime) -> DropState | None:
        for channel in self.channels.values():
            schedule = channel.mapping.drop_for(state.sku, state.tags)
            if schedule is not None:
                return drop_state(schedule, now)
        return None

    def targets(self, state: SkuState, now: datetime, only: str | None = None) -> dict[str, Target]:
        """Every channel's target for the SKU, or just ``only``'s when the policy allows."""
        inputs: list[ChannelInput] = []
        excluded: list[str] = []
        provenance: dict[str, tuple[str, ...]] = {}
        wanted = [self.channels[only]] if only is not None and self.independent else self.channels.values()
        for channel in wanted:
            if channel.mapping.excluded(state.sku, state.tags):
                excluded.append(channel.name)
                continue
            rules, prov = channel.mapping.quantity_rules(state.sku, state.tags, channel.quantity)
            prov = channel.quantity_from + prov
            provenance[channel.name] = prov
            inputs.append(ChannelInput(channel.name, channel.sources, rules, prov, state.pace))
        stock = state.stock if state.active else {}
        drop = self.drop_for(state, now)
        drawn = {i.channel for i in inputs if state.drawn and i.channel in state.drawn and state.active}
        # a channel where the SKU shares a component with other listings has its own stock (its share)
        joint = inputs if not self.independent else [i for i in inputs if i.channel not in drawn]
        allocations = self.policy.allocate(stock, joint, drop=drop) if joint else {}
        for i in inputs:
            if i.channel in drawn:
                alone = self.policy.allocate(state.stock_on(i.channel), [i], drop=drop)[i.channel]
                before = allocations.get(i.channel)
                # a policy comparing channels: the smaller of its answer and the share's
                if before is None or alone.offered < before.offered:
                    allocations[i.channel] = alone
        out: dict[str, Target] = {}
        for name, allocation in allocations.items():
            if only is not None and name != only:
                continue
            if not state.active:
                allocation = Allocation(
                    name,
                    0,
                    0,
                    (Step("inactive", "the product is inactive in the ledger", 0),),
                    allocation.available,
                )
            channel = self.channels[name]
            share = None if state.drawn is None else state.drawn.get(name)
            if share is not None and name in drawn:
                steps = shared_steps(share, channel.sources, name, state.kit is not None) + allocation.steps
                allocation = replace(allocation, steps=steps)
            elif state.kit is not None:
                steps = kit_steps(state.kit, channel.sources) + allocation.steps
                allocation = replace(allocation, steps=steps)
            price_rules, price_prov = channel.mapping.price_rules(state.sku, state.tags, channel.price)
            price_prov = channel.price_from + price_prov
            price = price_for(state.price, state.currency, price_rules) if channel.push_prices else None
            out[name] = Target(name, allocation, price, False, provenance.get(name, ()), price_prov)
        for name in excluded:
            zero = Allocation(name, 0, 0, (Step("excluded", "excluded by the channel's mapping", 0),), False)
            out[name] = Target(name, zero, None, True)
        return out


def kit_steps(kit: Mapping[str, KitStock], sources: Sequence[str]) -> tuple[Step, ...]:
    """The kit's units at each of the channel's sources and the component that limits them."""
    return tuple(
        Step(
            "kit",
            f"{code}: min({kit[code].detail}) = {kit[code].kits} kit{'' if kit[code].kits == 1 else 's'}, "
            f"limited by {kit[code].limiting}",
            kit[code].kits,
        )
        for code in sources
        if code in kit
    )


def shared_steps(
    share: Mapping[str, KitStock], sources: Sequence[str], channel: str, kit: bool
) -> tuple[Step, ...]:
    """The listing's share, at each of the channel's sources, of the components it shares with other
    listings on the channel (:func:`omnisync.kits.sales_shares`)."""
    out = []
    for code in sources:
        if code not in share:
            continue
        s = share[code]
        noun = ("kit" if s.kits == 1 else "kits") if kit else ("unit" if s.kits == 1 else "units")
        detail = (f"min({s.detail}) = " if kit else f"{s.detail} = ") if s.detail else ""
        limited = f", limited by {s.limiting}" if kit and s.limiting else ""
        out.append(Step("shared component", f"{code} on {channel}: {detail}{s.kits} {noun}{limited}", s.kits))
    return tuple(out)
