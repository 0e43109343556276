"""The scenario model: what a simulated trading period contains. Loaded from YAML, validated by pydantic.

Every figure of a run comes from a scenario and a seed; the same pair always gives the same run.
Durations take the configuration's forms ('90s', '5m', '2h') or seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnisync.config import AdaptiveConfig, Duration
from omnisync.yamlsource import ConfigFileError, load_yaml, validate

Kind = Literal["fake", "square", "shopify", "amazon", "instagram"]


LocationKind = Literal["warehouse", "store", "fba"]


def _default_locations() -> dict[str, LocationKind]:
    return {"WH": "warehouse", "STORE": "store"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelSpec(_Model):
    """One channel of the simulated merchant."""

    kind: Kind
    sources: list[str] = Field(min_length=1)
    source_buffers: dict[str, int] = Field(default_factory=dict)
    buffer_units: int = Field(0, ge=0)
    share: int | None = Field(None, ge=0, le=100)
    """Ring-fenced share under the split policy (default: derived from the channels' weights)."""
    priority: int = 0
    weight: float = Field(1.0, ge=0)
    """Shoppers on this channel relative to the base arrival rates."""
    walk_in: bool = False
    """Shoppers are walk-in customers at the store (Square: completed sales at the counter)."""
    pull_every: Duration = 60.0
    push_every: Duration = 60.0
    reconcile_every: Duration | None = 3600.0
    preorder_limit: int | None = Field(None, ge=0)
    """Units the channel may sell ahead of the stock on order (``purchase_orders``), with the platform's
    preorder signal (Shopify, Amazon, Instagram, the fake; not Square)."""
    pickup: float = Field(0.0, ge=0, le=1)
    """Click-and-collect: the share of a walk-in POS's shoppers who order ahead online and collect at the
    store (a Square PICKUP order, reserved at the store until collected or cancelled)."""
    share_components: bool = True
    """Listings drawing on one component share its units on this channel (the configuration's
    ``share_components``)."""
    webhooks: bool = True
    """Deliver the channel's webhooks (where it has them) to the engine; for Amazon, its notifications
    (the queue's messages, with the same faults: lost, duplicated, reordered, delayed)."""


class CatalogueSpec(_Model):
    skus: int = Field(20, ge=1)
    popular_fraction: float = Field(0.2, ge=0, le=1)
    popular_per_hour: float = Field(1.0, ge=0)
    """Shoppers per hour per popular SKU on a channel of weight 1."""
    slow_per_hour: float = Field(0.1, ge=0)
    stock: dict[str, tuple[int, int]] = Field(default_factory=lambda: {"WH": (0, 12), "STORE": (0, 6)})
    """Location -> (min, max) units seeded per SKU."""
    max_units_per_order: int = Field(2, ge=1)


class LifecycleSpec(_Model):
    fulfil_after: tuple[Duration, Duration] = (1800.0, 4 * 3600.0)
    cancel_probability: float = Field(0.05, ge=0, le=1)
    cancel_after: tuple[Duration, Duration] = (300.0, 3600.0)
    return_probability: float = Field(0.05, ge=0, le=1)
    return_after: tuple[Duration, Duration] = (1800.0, 6 * 3600.0)
    restock_every: Duration = 4 * 3600.0
    restock_below: int = Field(3, ge=0)
    restock_units: tuple[int, int] = (5, 15)
    restock_location: str = "WH"
    return_elsewhere: float = Field(0.0, ge=0, le=1)
    """The share of web returns brought back to ``return_location`` instead of where they were sold
    (a Shopify refund at that location)."""
    return_location: str | None = None
    damaged_returns: float = Field(0.0, ge=0, le=1)
    """The share of web returns that come back damaged: refunded without a restock (Shopify
    ``NO_RESTOCK``), then received by the merchant into the damaged bucket where they came back."""


class FaultSpec(_Model):
    """Fault injection. Rates are per channel per hour; probabilities per webhook."""

    server_errors_per_hour: float = Field(0.0, ge=0)
    timeouts_per_hour: float = Field(0.0, ge=0)
    throttle_bursts_per_hour: float = Field(0.0, ge=0)
    throttle_burst: tuple[int, int] = (3, 8)
    webhook_lost: float = Field(0.0, ge=0, le=1)
    webhook_duplicated: float = Field(0.0, ge=0, le=1)
    webhook_reordered: float = Field(0.0, ge=0, le=1)
    outage: tuple[str, Duration, Duration] | None = None
    """(channel, start, duration): the channel's API answers 503 for that long."""
    outage_random: bool = False
    """One outage of ``outage_length`` on a channel and at a time drawn from the seed."""
    outage_length: Duration = 3600.0
    kills: int = Field(0, ge=0)
    """Times the engine is killed mid-cycle and a new one is built on the same ledger."""

    @property
    def any(self) -> bool:
        return bool(
            self.server_errors_per_hour
            or self.timeouts_per_hour
            or self.throttle_bursts_per_hour
            or self.webhook_lost
            or self.webhook_duplicated
            or self.webhook_reordered
            or self.outage
            or self.outage_random
            or self.kills
        )


class ListingSyncSpec(_Model):
    """A listing sync during trading (:mod:`omnisync.testing.catalogue_sync`): every channel may create
    listings; a tote is in the catalogue from the start, and at ``at`` a scarf is added (with stock)
    and the tote discontinued. The daemon's own listing job sends them; after settling, every channel
    must list the scarf with its variants and show the tote unpublished (an invariant)."""

    at: Duration = 1800.0


class DropSpec(_Model):
    """A drop: ``skus`` sold on ``channel`` only (``exclusive``), only between ``start`` and ``end``
    after the run's start; written into the channel's mapping file as a window."""

    channel: str
    skus: list[str] = Field(min_length=1)
    start: Duration
    end: Duration
    exclusive: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> DropSpec:
        if self.end <= self.start:
            raise ValueError(f"drop on {self.channel}: end must be after start")
        return self


class PackSpec(_Model):
    """A pack listing: ``units`` of one catalogue SKU sold as one (a kit of that SKU alone)."""

    sku: str
    units: int = Field(ge=1)


class PurchaseOrderSpec(_Model):
    """Stock on order: ``units`` of each of ``skus`` expected at ``location`` under ``reference``,
    recorded at the start and due ``expected`` after it (the date the channels are told); received
    ``arrives`` after the start (None: not during the run)."""

    reference: str = Field(min_length=1)
    skus: list[str] = Field(min_length=1)
    location: str
    units: int = Field(ge=1)
    expected: Duration
    arrives: Duration | None = None


class Scenario(_Model):
    name: str = "scenario"
    duration: Duration = 8 * 3600.0
    settle: Duration = 1200.0
    """After trading stops (and the faults with it): the schedule keeps running this long, then one
    reconcile per channel, then the measures."""
    policy: Literal["buffered", "split", "priority", "adaptive"] = "buffered"
    low_stock_threshold: int = Field(5, ge=0)
    adaptive: AdaptiveConfig = AdaptiveConfig()
    """The adaptive policy's settings (``allocation.adaptive`` in the configuration)."""
    locations: dict[str, LocationKind] = Field(default_factory=_default_locations)
    channels: dict[str, ChannelSpec]
    catalogue: CatalogueSpec = CatalogueSpec()
    lifecycle: LifecycleSpec = LifecycleSpec()
    faults: FaultSpec = FaultSpec()
    latency: tuple[Duration, Duration] = (0.0, 0.0)
    """API latency per request, uniform between the two bounds (virtual seconds)."""
    webhook_delay: tuple[Duration, Duration] = (1.0, 5.0)
    pos_lag: Duration = 0.0
    """Extra delay before a walk-in sale's notification leaves the POS (its reporting lag)."""
    drops: list[DropSpec] = Field(default_factory=list)
    kits: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Kit SKU -> its components (catalogue SKUs ``SKU-0001``...) and units of each per kit: listed on
    every channel, shoppers come for it as for a popular SKU, it holds no stock of its own."""
    packs: dict[str, PackSpec] = Field(default_factory=dict)
    """Pack listing SKU -> the SKU and how many of it one pack holds (``{sku: SKU-0001, units: 6}``)."""

    def kit_components(self) -> dict[str, dict[str, int]]:
        """Every kit and pack of the scenario as its components (a pack is a kit of one SKU)."""
        return {**self.kits, **{name: {p.sku: p.units} for name, p in self.packs.items()}}

    @model_validator(mode="after")
    def _kits(self) -> Scenario:
        known = {f"SKU-{n + 1:04d}" for n in range(self.catalogue.skus)}
        if set(self.kits) & set(self.packs):
            raise ValueError(f"kits and packs both name {sorted(set(self.kits) & set(self.packs))[0]!r}")
        for name, components in self.kit_components().items():
            if name in known:
                raise ValueError(f"kits: {name!r} is a catalogue SKU; name the kit otherwise")
            if not components:
                raise ValueError(f"kits: {name} has no component")
            for sku, units in components.items():
                if sku not in known:
                    kind = (
                        "a kit (kits cannot be nested)"
                        if sku in self.kit_components()
                        else "not in the catalogue"
                    )
                    raise ValueError(f"kits: {name}: component {sku!r} is {kind}")
                if units < 1:
                    raise ValueError(f"kits: {name}: {sku} units must be ≥ 1")
        return self

    purchase_orders: list[PurchaseOrderSpec] = Field(default_factory=list)
    listing_sync: ListingSyncSpec | None = None

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        for name, ch in self.channels.items():
            for loc in (*ch.sources, *ch.source_buffers):
                if loc not in self.locations:
                    raise ValueError(f"channel {name}: {loc!r} is not one of the scenario's locations")
            if ch.walk_in and ch.kind not in ("square", "fake"):
                raise ValueError(f"channel {name}: walk-in customers need a POS (kind square)")
            if ch.pickup and not (ch.walk_in and ch.kind == "square"):
                raise ValueError(f"channel {name}: click-and-collect is a walk-in POS's (kind square)")
            if ch.preorder_limit is not None and ch.kind == "square":
                raise ValueError(f"channel {name}: Square has no preorder signal")
        life = self.lifecycle
        if life.return_elsewhere and life.return_location not in self.locations:
            raise ValueError(
                "lifecycle.return_location: one of the scenario's locations, for return_elsewhere"
            )
        skus = {f"SKU-{n + 1:04d}" for n in range(self.catalogue.skus)}
        for po in self.purchase_orders:
            if po.location not in self.locations:
                raise ValueError(f"purchase_orders {po.reference}: {po.location!r} is not a location")
            unknown = sorted(set(po.skus) - skus)
            if unknown:
                raise ValueError(f"purchase_orders {po.reference}: {unknown[0]} is not in the catalogue")
        for loc in self.catalogue.stock:
            if loc not in self.locations:
                raise ValueError(f"catalogue.stock: {loc!r} is not one of the scenario's locations")
        for drop in self.drops:
            if drop.channel not in self.channels:
                raise ValueError(f"drops: no channel {drop.channel!r}")
        if self.faults.outage and self.faults.outage[0] not in self.channels:
            raise ValueError(f"faults.outage: no channel {self.faults.outage[0]!r}")
        return self

    def with_changes(self, **changes: Any) -> Scenario:
        return self.model_validate({**self.model_dump(), **changes})


def load_scenario(path: str | Path) -> Scenario:
    """The scenario file, each problem as ``file:line: key.path: message`` (ConfigFileError)."""
    doc = load_yaml(Path(path), {})
    if not isinstance(doc.data, dict):
        raise ConfigFileError(str(path), 1, "", "a scenario is a mapping of keys")
    return validate(doc, Scenario)


def small_scenario(channels: dict[str, ChannelSpec] | None = None) -> Scenario:
    """Two hours, a dozen SKUs, the fake web store and the Square POS, every fault on: the test suite's."""
    return Scenario(
        name="small",
        duration=2 * 3600.0,
        settle=900.0,
        channels=channels
        or {
            "web": ChannelSpec(
                kind="fake",
                sources=["WH", "STORE"],
                source_buffers={"STORE": 1},
                weight=2.0,
                pull_every=60.0,
                push_every=60.0,
            ),
            "pos": ChannelSpec(
                kind="square", sources=["STORE"], walk_in=True, pull_every=60.0, push_every=60.0
            ),
        },
        catalogue=CatalogueSpec(skus=12, popular_per_hour=1.5, slow_per_hour=0.2),
        lifecycle=LifecycleSpec(restock_every=3600.0),
        faults=FaultSpec(
            server_errors_per_hour=2,
            timeouts_per_hour=2,
            throttle_bursts_per_hour=1,
            webhook_lost=0.1,
            webhook_duplicated=0.1,
            webhook_reordered=0.1,
            outage=(next(iter(channels)) if channels else "web", 1800.0, 1200.0),
            kills=1,
        ),
        latency=(0.05, 0.3),
        listing_sync=ListingSyncSpec(at=1800.0),
    )
