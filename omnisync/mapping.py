"""Per-channel mapping files: the model of ``mappings/<channel>.yaml`` and its pure resolution.

Loading the YAML is the config loader's job; this module validates the parsed data
(:class:`MappingFile`, pydantic v2, unknown keys rejected) and answers, for one channel, what a
master SKU is called there and which quantity and price rules, exclusion and drop apply to it.

Precedence, lowest to highest (later wins, a value replaces rather than compounds):

1. the ``base`` rules handed in (the config's channel allocation / price settings),
2. the file's channel-wide ``quantity`` / ``price``,
3. ``tags`` rules whose tag the product has, in the order the *file* lists them,
4. ``skus`` rules for the master SKU.

Every value taken from the file is reported as a provenance line (``"tag clearance:
out_of_stock_below=2"``) for ``omnisync explain``. ``skus``, ``drops.skus`` and the keys of
``sku_aliases`` are master SKUs. ``source_buffers`` merges per location.

Example::

    sku_aliases: {TSHIRT-RED-M: TS-R-M}
    quantity: {buffer_units: 1}
    price: {markup_percent: "10", rounding: ".99"}
    tags:
      clearance: {quantity: {out_of_stock_below: 2}, price: {markup_percent: "-20"}}
    skus:
      MUG-BLUE: {quantity: {max_quantity: 5}, price: {override: "9.99"}, exclude: false}
    drops:
      - skus: [DROP-1]
        monthly: {day: 1, start: "18:00", hours: 24, timezone: Europe/Paris}
    listings: create                    # create | update (default) | off
    listing:                            # how this channel's listings come from the catalogue
      title: "{brand} {title}"
      category: SHIRT
      attributes: {material: material}  # catalogue attribute -> the channel's attribute name
      max_images: 6
    skus:
      TEE: {listing: {title: "The classic tee"}}   # a product (its handle) or a variant SKU

The listing template's model and resolution live in :mod:`omnisync.catalogue.template`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from omnisync.allocation import QuantityRules
from omnisync.catalogue.template import ListingMode, ListingOverride, ListingTemplate, ResolvedTemplate
from omnisync.drops import MAX_WINDOW_HOURS, DropSchedule, MonthlyRule, Window, zone
from omnisync.pricing import PriceRules, parse_rounding

__all__ = [
    "ChannelMapping",
    "DropRule",
    "MappingFile",
    "MonthlySpec",
    "PriceOverride",
    "QuantityOverride",
    "RuleSet",
    "WindowSpec",
    "drop_across",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def set_values(self) -> dict[str, Any]:
        """The fields this file sets (not None), in declaration order."""
        return {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name in self.model_fields_set and getattr(self, name) is not None
        }


class QuantityOverride(_Model):
    """Quantity rules a mapping sets; every field optional (unset = inherited)."""

    share: int | None = None
    buffer_units: int | None = None
    buffer_percent: Decimal | None = None
    max_quantity: int | None = None
    out_of_stock_below: int | None = None
    source_buffers: dict[str, int] | None = None
    priority: int | None = None
    preorder_limit: int | None = None

    @field_validator("buffer_units", "buffer_percent", "max_quantity", "out_of_stock_below", "preorder_limit")
    @classmethod
    def _non_negative(cls, value: int | Decimal | None) -> int | Decimal | None:
        if value is not None and value < 0:
            raise ValueError("must be ≥ 0")
        return value

    @field_validator("share")
    @classmethod
    def _percentage(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 100:
            raise ValueError("must be between 0 and 100")
        return value

    @field_validator("source_buffers")
    @classmethod
    def _buffers(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for location, units in (value or {}).items():
            if units < 0:
                raise ValueError(f"{location}: must be ≥ 0")
        return value


class PriceOverride(_Model):
    """Price rules a mapping sets; every field optional. Money is written as a quoted string."""

    markup_percent: Decimal | None = None
    fixed_add: Decimal | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    rate: Decimal | None = None
    rounding: str | None = None
    floor: Decimal | None = None
    ceiling: Decimal | None = None
    override: Decimal | None = None
    compare_at_percent: Decimal | None = None

    @field_validator(
        "markup_percent",
        "fixed_add",
        "rate",
        "floor",
        "ceiling",
        "override",
        "compare_at_percent",
        mode="before",
    )
    @classmethod
    def _no_floats(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError(
                f'write it as a quoted string such as "{value}": money never goes through floats'
            )
        return value

    @field_validator("rate")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("must be > 0")
        return value

    @field_validator("floor", "ceiling", "override", "compare_at_percent")
    @classmethod
    def _non_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("must be ≥ 0")
        return value

    @field_validator("markup_percent")
    @classmethod
    def _markup(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < -100:
            raise ValueError("must be ≥ -100")
        return value

    @field_validator("rounding")
    @classmethod
    def _rounding(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rounding(value)
        return value


class RuleSet(_Model):
    """The rules of one tag or one SKU."""

    quantity: QuantityOverride | None = None
    price: PriceOverride | None = None
    exclude: bool | None = None
    listing: ListingOverride | None = None
    """Listing content for this product (keyed by its handle) or variant (keyed by its SKU)."""


class MonthlySpec(_Model):
    day: int
    start: time
    hours: int = 24
    timezone: str

    @field_validator("start", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        if isinstance(value, int):
            raise ValueError('write the time quoted, such as "18:00" (YAML reads 18:00 unquoted as a number)')
        return value

    @field_validator("day")
    @classmethod
    def _day(cls, value: int) -> int:
        if not 1 <= value <= 31:
            raise ValueError("must be between 1 and 31 (a day a month lacks falls on its last day)")
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: int) -> int:
        if not 1 <= value <= MAX_WINDOW_HOURS:
            raise ValueError(f"must be between 1 and {MAX_WINDOW_HOURS}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    def rule(self) -> MonthlyRule:
        return MonthlyRule(day=self.day, start=self.start, timezone=self.timezone, hours=self.hours)


class WindowSpec(_Model):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> WindowSpec:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class DropRule(_Model):
    """A drop: the SKUs (listed or by tag) sold on this channel only, only inside the windows."""

    skus: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    exclusive: bool = True
    monthly: MonthlySpec | None = None
    windows: tuple[WindowSpec, ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> DropRule:
        if not self.skus and not self.tags:
            raise ValueError("a drop needs skus or tags")
        if self.monthly is None and not self.windows:
            raise ValueError("a drop needs a monthly rule or windows")
        return self

    def matches(self, sku: str, tags: Collection[str]) -> bool:
        return sku in self.skus or any(tag in tags for tag in self.tags)

    def schedule(self, channel: str) -> DropSchedule:
        windows = tuple(Window(w.start, w.end) for w in self.windows)
        monthly = self.monthly.rule() if self.monthly is not None else None
        return DropSchedule(channel, windows, monthly, self.exclusive)


def _reverse_aliases(aliases: Mapping[str, str]) -> dict[str, str]:
    """channel SKU -> master SKU; ValueError naming both masters when two share a channel SKU."""
    reverse: dict[str, str] = {}
    for master, channel_sku in aliases.items():
        if channel_sku in reverse:
            raise ValueError(
                f"sku_aliases: {reverse[channel_sku]!r} and {master!r} are both mapped to {channel_sku!r}"
            )
        reverse[channel_sku] = master
    return reverse


class MappingFile(_Model):
    """One channel's mapping file."""

    sku_aliases: dict[str, str] = Field(default_factory=dict)
    quantity: QuantityOverride | None = None
    price: PriceOverride | None = None
    tags: dict[str, RuleSet] = Field(default_factory=dict)
    skus: dict[str, RuleSet] = Field(default_factory=dict)
    drops: tuple[DropRule, ...] = ()
    listings: ListingMode = ListingMode.UPDATE
    """Whether omnisync may create listings on this channel (create), only keep the ones that exist
    (update, the default: nothing appears that the merchant did not ask for), or leave them (off)."""
    listing: ListingTemplate = Field(default_factory=ListingTemplate)

    @model_validator(mode="after")
    def _listing_overrides_per_sku(self) -> MappingFile:
        for tag, rules in self.tags.items():
            if rules.listing is not None:
                raise ValueError(f"tags.{tag}.listing: listing overrides go under skus (a product or a SKU)")
        return self

    @field_validator("sku_aliases")
    @classmethod
    def _aliases(cls, value: dict[str, str]) -> dict[str, str]:
        _reverse_aliases(value)
        return value

    @model_validator(mode="after")
    def _one_drop_per_sku(self) -> MappingFile:
        owner: dict[str, int] = {}
        for index, rule in enumerate(self.drops):
            for sku in rule.skus:
                if owner.setdefault(sku, index) != index:
                    raise ValueError(f"drops: {sku!r} is in drops[{owner[sku]}] and drops[{index}]")
        return self


@dataclass(frozen=True)
class _Layer:
    label: str
    quantity: QuantityOverride | None
    price: PriceOverride | None
    exclude: bool | None


def _set(model: BaseModel) -> dict[str, Any]:
    """The fields a file sets on ``model`` (not None), in declaration order."""
    return {n: getattr(model, n) for n in type(model).model_fields if n in model.model_fields_set}


def _provenance(label: str, values: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for name, value in values.items():
        if isinstance(value, Mapping):
            lines.extend(f"{label}: {name}[{key}]={item}" for key, item in value.items())
        else:
            lines.append(f"{label}: {name}={value}")
    return lines


class ChannelMapping:
    """One channel's mapping, resolved per SKU."""

    def __init__(self, channel: str, mapping: MappingFile, source: str | None = None) -> None:
        self.channel = channel
        self.mapping = mapping
        self.source = source or f"{channel}.yaml"
        self.default_label = (
            "default" if source is not None else f"default (channel {channel} has no mapping file)"
        )
        """How explanations name a rule no file sets."""
        self._reverse = _reverse_aliases(mapping.sku_aliases)

    def channel_sku(self, sku: str) -> str:
        """What the channel calls master SKU ``sku``."""
        return self.mapping.sku_aliases.get(sku, sku)

    def master_sku(self, channel_sku: str) -> str | None:
        """The master SKU behind ``channel_sku``; None when it is an aliased master's own name,
        which this channel does not use."""
        if channel_sku in self._reverse:
            return self._reverse[channel_sku]
        if channel_sku in self.mapping.sku_aliases:
            return None
        return channel_sku

    def check_catalog(self, master_skus: Iterable[str]) -> None:
        """ValueError when an alias equals another, unaliased master SKU (both would be that name)."""
        for sku in master_skus:
            if sku in self._reverse and sku not in self.mapping.sku_aliases and self._reverse[sku] != sku:
                raise ValueError(
                    f"{self.source}: sku_aliases maps {self._reverse[sku]!r} to {sku!r}, "
                    f"which is also a master SKU on this channel"
                )

    def _layers(self, sku: str, tags: Collection[str]) -> list[_Layer]:
        file = self.mapping
        layers = [_Layer(f"mapping {self.source}", file.quantity, file.price, None)]
        for tag, rules in file.tags.items():
            if tag in tags:
                layers.append(_Layer(f"tag {tag}", rules.quantity, rules.price, rules.exclude))
        own = file.skus.get(sku)
        if own is not None:
            layers.append(_Layer(f"sku {sku}", own.quantity, own.price, own.exclude))
        return layers

    def quantity_rules(
        self, sku: str, tags: Collection[str], base: QuantityRules
    ) -> tuple[QuantityRules, tuple[str, ...]]:
        """``base`` with this mapping's quantity rules for ``sku`` applied, and where each came from."""
        rules, provenance = base, []
        for layer in self._layers(sku, tags):
            if layer.quantity is not None:
                values = layer.quantity.set_values()
                with self._about(sku):
                    rules = rules.merged(**values)
                provenance += _provenance(layer.label, values)
        return rules, tuple(provenance)

    def price_rules(
        self, sku: str, tags: Collection[str], base: PriceRules
    ) -> tuple[PriceRules, tuple[str, ...]]:
        """``base`` with this mapping's price rules for ``sku`` applied, and where each came from."""
        rules, provenance = base, []
        for layer in self._layers(sku, tags):
            if layer.price is not None:
                values = layer.price.set_values()
                with self._about(sku):
                    rules = rules.merged(**values)
                provenance += _provenance(layer.label, values)
        return rules, tuple(provenance)

    @contextmanager
    def _about(self, sku: str) -> Iterator[None]:
        try:
            yield
        except ValueError as exc:
            raise ValueError(f"{self.source}: rules for {sku}: {exc}") from exc

    def excluded(self, sku: str, tags: Collection[str]) -> bool:
        """Whether ``sku`` is kept off this channel (tag rules in file order, then the SKU's own)."""
        excluded = False
        for layer in self._layers(sku, tags):
            if layer.exclude is not None:
                excluded = layer.exclude
        return excluded

    def listing_template(
        self, handle: str, variants: Iterable[tuple[str, Collection[str]]]
    ) -> ResolvedTemplate:
        """The listing template for catalogue product ``handle`` with variants (master SKU, tags):
        the file's ``listing``, the product's override (``skus.<handle>.listing``) and each variant's
        (``skus.<SKU>.listing``); variants this channel excludes are left out."""
        file = self.mapping
        origin = f"mapping {self.source}" if "listings" in file.model_fields_set else self.default_label
        provenance = [f"{origin}: listings={file.listings.value}"]
        provenance += _provenance(f"mapping {self.source}: listing", _set(file.listing))
        own = file.skus.get(handle)
        product = own.listing if own is not None and own.listing is not None else ListingOverride()
        provenance += _provenance(f"sku {handle}: listing", _set(product))
        overrides: dict[str, ListingOverride] = {}
        excluded: set[str] = set()
        for sku, tags in variants:
            if self.excluded(sku, tags):
                excluded.add(sku)
                provenance.append(f"sku {sku}: excluded from this channel")
            rules = file.skus.get(sku) if sku != handle else None
            if rules is not None and rules.listing is not None:
                overrides[sku] = rules.listing
                provenance += _provenance(f"sku {sku}: listing", _set(rules.listing))
        return ResolvedTemplate(
            file.listings, file.listing, product, overrides, frozenset(excluded), tuple(provenance)
        )

    def drop_for(self, sku: str, tags: Collection[str]) -> DropSchedule | None:
        """The drop ``sku`` belongs to on this channel; ValueError when two drop rules claim it."""
        matching = [index for index, rule in enumerate(self.mapping.drops) if rule.matches(sku, tags)]
        if len(matching) > 1:
            rules = " and ".join(f"drops[{index}]" for index in matching)
            raise ValueError(f"{self.source}: {sku} is in more than one drop ({rules})")
        return self.mapping.drops[matching[0]].schedule(self.channel) if matching else None


def drop_across(mappings: Iterable[ChannelMapping], sku: str, tags: Collection[str]) -> DropSchedule | None:
    """The one drop ``sku`` belongs to across all channels; ValueError when two channels claim it."""
    found: list[tuple[ChannelMapping, DropSchedule]] = []
    for mapping in mappings:
        schedule = mapping.drop_for(sku, tags)
        if schedule is not None:
            found.append((mapping, schedule))
    if len(found) > 1:
        claims = " and ".join(mapping.source for mapping, _ in found)
        raise ValueError(f"{sku} is in a drop on more than one channel ({claims})")
    return found[0][1] if found else None
