"""What a channel charges: master price + the channel's rule chain -> channel price, with its steps.

Decimal only; a float anywhere raises TypeError. The chain, in order:

1. ``override`` (a per-SKU fixed price in the target currency) ends the chain: no markup, add,
   rounding, floor or ceiling. It is the merchant's explicit price for that SKU.
2. ``markup_percent``: ``price × (100 + markup) / 100`` (negative for a discount, ≥ −100).
3. ``fixed_add``: added in the *master* currency.
4. currency conversion with ``rate`` (target units per one master unit), then rounded half-up to the
   target currency's minor units (JPY and KRW 0 decimals, most 2; :data:`MINOR_UNITS`).
5. ``rounding`` (see below).
6. ``floor`` / ``ceiling`` in the target currency, after rounding. When rounding pushed the price
   over the ceiling, the ceiling wins and the step says the ending was lost.

Rounding has two forms, told apart by how they are written:

* an **ending** (``".99"``, ``".95"``, ``".00"``, ``"whole"`` = ``".00"``): the *smallest* price that
  is ≥ the computed one and ends that way (10.20 → 10.99, 10.99 → 10.99, 11.00 → 11.99). Rounding up
  never erodes the markup, and it is how Shopify Markets applies a price ending.
* a **step** (``"100"``, ``"10"``, ``"1"``, ``"0.05"``): the *nearest* multiple, halves up
  (13,049 KRW → 13,000; 13,050 → 13,100), as merchants price in KRW or JPY.

``compare_at_percent`` (optional) gives a compare-at ("was") price that much above the final price,
rounded the same way, for channels that show a strike-through price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any, Literal

__all__ = [
    "MINOR_UNITS",
    "PriceResult",
    "PriceRules",
    "PriceStep",
    "Rounding",
    "minor_units",
    "parse_rounding",
    "price_for",
]

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV"], 0
    ),
    **dict.fromkeys(["XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}
"""ISO 4217 minor units that differ from the usual 2."""

_CONTEXT = Context(prec=34)
_CURRENCY = re.compile(r"[A-Z]{3}")
_DECIMAL_FIELDS = (
    "markup_percent",
    "fixed_add",
    "rate",
    "floor",
    "ceiling",
    "override",
    "compare_at_percent",
)


def minor_units(currency: str) -> int:
    """Decimals the currency is priced in (ISO 4217)."""
    return MINOR_UNITS.get(currency, 2)


def _currency(code: str, what: str) -> str:
    if not isinstance(code, str) or not _CURRENCY.fullmatch(code):
        raise ValueError(f"{what} must be an ISO 4217 code such as 'EUR', got {code!r}")
    return code


def _decimal(value: object, what: str) -> Decimal:
    """``value`` as a finite Decimal; ints are accepted, floats and everything else are not."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"{what} must be a Decimal (never a float for money), got {type(value).__name__}")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value}")
    return result


@dataclass(frozen=True)
class Rounding:
    """A parsed rounding rule: an ending (round up to it) or a step (round to the nearest)."""

    kind: Literal["ending", "step"]
    amount: Decimal
    spec: str

    @property
    def decimals(self) -> int:
        """Decimals the rule needs the currency to have."""
        exponent = self.amount.normalize().as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else 0

    def apply(self, price: Decimal) -> Decimal:
        if self.kind == "ending":
            candidate = price.to_integral_value(rounding=ROUND_FLOOR) + self.amount
            return candidate if candidate >= price else candidate + 1
        multiples = (price / self.amount).to_integral_value(rounding=ROUND_HALF_UP)
        return multiples * self.amount


def parse_rounding(spec: str) -> Rounding:
    """Parse ``".99"``, ``".00"``, ``"whole"`` (endings) or ``"100"``, ``"0.05"`` (steps)."""
    text = spec.strip() if isinstance(spec, str) else ""
    if text.lower() == "whole":
        return Rounding("ending", Decimal(0), spec)
    if re.fullmatch(r"\.\d{1,3}", text):
        return Rounding("ending", Decimal("0" + text), spec)
    if re.fullmatch(r"\d+(\.\d+)?", text) and Decimal(text) > 0:
        return Rounding("step", Decimal(text), spec)
    raise ValueError(
        f"rounding {spec!r} is not understood: use an ending such as '.99', '.00' or 'whole', "
        f"or a step such as '100' or '0.05'"
    )


@dataclass(frozen=True)
class PriceRules:
    """One channel's price rules for one SKU (after mapping overrides)."""

    markup_percent: Decimal = Decimal(0)
    fixed_add: Decimal = Decimal(0)
    currency: str | None = None
    rate: Decimal | None = None
    rounding: str | None = None
    floor: Decimal | None = None
    ceiling: Decimal | None = None
    override: Decimal | None = None
    compare_at_percent: Decimal | None = None

    def __post_init__(self) -> None:
        for name in _DECIMAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _decimal(value, name))
        if self.currency is not None:
            _currency(self.currency, "currency")
        if self.markup_percent < -100:
            raise ValueError(f"markup_percent must be ≥ −100, got {self.markup_percent}")
        if self.rate is not None and self.rate <= 0:
            raise ValueError(f"rate must be > 0, got {self.rate}")
        if self.rate is not None and self.currency is None:
            raise ValueError("rate is set but no target currency is")
        for name in ("floor", "ceiling", "override", "compare_at_percent"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be ≥ 0, got {value}")
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            raise ValueError(f"floor {self.floor} is above ceiling {self.ceiling}")
        if self.rounding is not None:
            parse_rounding(self.rounding)

    def merged(self, **overrides: Any) -> PriceRules:
        """A copy with ``overrides`` applied; None means "not set here" and keeps the current value."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"unknown price rule(s): {', '.join(unknown)}")
        return replace(self, **{name: value for name, value in overrides.items() if value is not None})


@dataclass(frozen=True)
class PriceStep:
    """One line of the explanation: the rule, what it did, and the running price after it."""

    rule: str
    detail: str
    value: Decimal


@dataclass(frozen=True)
class PriceResult:
    price: Decimal
    currency: str
    steps: tuple[PriceStep, ...]
    compare_at: Decimal | None = None


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def _exact(value: Decimal, currency: str, what: str) -> Decimal:
    """``value`` in the currency's minor units; ValueError when it has more decimals than that."""
    quantized = value.quantize(_quantum(currency))
    if quantized != value:
        raise ValueError(f"{what} {value} has more decimals than {currency} allows ({minor_units(currency)})")
    return quantized


def shown_amount(value: Decimal, currency: str) -> Decimal:
    """``value`` as a person reads it: with the currency's decimals when it has no more (the ledger
    keeps four: 12.0000 EUR reads 12.00), else every decimal it has."""
    quantized = value.quantize(_quantum(currency))
    return quantized if quantized == value else value.normalize()


def price_for(master_price: Decimal, master_currency: str, rules: PriceRules) -> PriceResult:
    """The channel price of a SKU whose master price is ``master_price`` in ``master_currency``."""
    price = _decimal(master_price, "master_price")
    if price < 0:
        raise ValueError(f"master_price must be ≥ 0, got {price}")
    source = _currency(master_currency, "master_currency")
    target = rules.currency or source
    with localcontext(_CONTEXT):
        if rules.override is not None:
            return _overridden(rules.override, target, rules)
        steps = [PriceStep("master", f"{shown_amount(price, source)} {source}", price)]
        price = _chain_before_rounding(price, source, target, rules, steps)
        rounding = parse_rounding(rules.rounding) if rules.rounding is not None else None
        if rounding is not None:
            price = _round(price, target, rounding, steps)
        price = _bounds(price, target, rules, rounding, steps)
        if price < 0:
            raise ValueError(f"the computed price {price} {target} is negative; check markup and fixed_add")
        compare_at = _compare_at(price, target, rules, rounding, steps)
    return PriceResult(price, target, tuple(steps), compare_at)


def _overridden(override: Decimal, currency: str, rules: PriceRules) -> PriceResult:
    price = _exact(override, currency, "override")
    step = PriceStep("override", f"fixed price {price} {currency} for this SKU (rule chain skipped)", price)
    steps = [step]
    return PriceResult(price, currency, tuple(steps), _compare_at(price, currency, rules, None, steps))


def _chain_before_rounding(
    price: Decimal, source: str, target: str, rules: PriceRules, steps: list[PriceStep]
) -> Decimal:
    if rules.markup_percent:
        price = price * (100 + rules.markup_percent) / 100
        steps.append(PriceStep("markup", f"{rules.markup_percent:+} %", price))
    if rules.fixed_add:
        price += rules.fixed_add
        steps.append(PriceStep("fixed_add", f"{rules.fixed_add:+} {source}", price))
    if target != source:
        if rules.rate is None:
            raise ValueError(f"converting {source} to {target} needs a rate")
        price *= rules.rate
        steps.append(PriceStep("currency", f"× {rules.rate} {target} per {source}", price))
    quantized = price.quantize(_quantum(target), rounding=ROUND_HALF_UP)
    if quantized != price:
        steps.append(PriceStep("minor_units", f"to {minor_units(target)} decimals in {target}", quantized))
    return quantized


def _round(price: Decimal, currency: str, rounding: Rounding, steps: list[PriceStep]) -> Decimal:
    if rounding.decimals > minor_units(currency):
        raise ValueError(
            f"rounding {rounding.spec!r} needs {rounding.decimals} decimals but {currency} has "
            f"{minor_units(currency)}"
        )
    rounded = rounding.apply(price).quantize(_quantum(currency))
    how = "up to the ending" if rounding.kind == "ending" else "to the nearest"
    steps.append(PriceStep("rounding", f"{how} {rounding.spec}", rounded))
    return rounded


def _bounds(
    price: Decimal, currency: str, rules: PriceRules, rounding: Rounding | None, steps: list[PriceStep]
) -> Decimal:
    if rules.floor is not None and price < rules.floor:
        price = _exact(rules.floor, currency, "floor")
        steps.append(PriceStep("floor", f"raised to the floor {price}", price))
    if rules.ceiling is not None and price > rules.ceiling:
        ceiling = _exact(rules.ceiling, currency, "ceiling")
        lost = f"; the {rounding.spec} rounding is lost" if rounding is not None else ""
        steps.append(PriceStep("ceiling", f"{price} clamped to the ceiling {ceiling}{lost}", ceiling))
        price = ceiling
    return price


def _compare_at(
    price: Decimal, currency: str, rules: PriceRules, rounding: Rounding | None, steps: list[PriceStep]
) -> Decimal | None:
    percent = rules.compare_at_percent
    if percent is None or percent == 0:
        return None
    value = (price * (100 + percent) / 100).quantize(_quantum(currency), rounding=ROUND_CEILING)
    if rounding is not None:
        value = rounding.apply(value).quantize(_quantum(currency))
    if value <= price:
        steps.append(
            PriceStep("compare_at", f"{percent} % above {price} rounds to {value}: none shown", price)
        )
        return None
    steps.append(PriceStep("compare_at", f"{percent} % above {price}", value))
    return value
