"""A wanted listing checked against its channel's rules, before any call. Pure.

Each problem names the product, the field and the channel's rule, so ``omnisync listings validate``
tells the merchant what to fix instead of the channel refusing a push.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnisync.sdk.listings import ListingContent, ListingRules

from .clean import has_html


@dataclass(frozen=True)
class Problem:
    product: str
    field: str
    rule: str

    def text(self) -> str:
        return f"{self.field}: {self.rule}"


def gtin_valid(code: str) -> bool:
    """Whether ``code`` is a GTIN-8/12/13/14 with a correct check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _too_long(value: str, limit: int | None) -> bool:
    return limit is not None and len(value) > limit


def validate_listing(listing: ListingContent, rules: ListingRules) -> list[Problem]:
    """Everything in ``listing`` that ``rules`` refuse (an empty list: the channel should accept it)."""
    kind = rules.channel_kind
    found: list[Problem] = []

    def problem(field: str, rule: str) -> None:
        found.append(Problem(listing.key, field, rule))

    texts = {
        "title": listing.title,
        "description": listing.description,
        "brand": listing.brand,
        "link": listing.link,
        "category": listing.category,
    }
    for name in rules.required:
        if name in texts and not texts[name].strip():
            problem(name, f"required by {kind}")
    if "images" in rules.required or rules.min_images:
        least = max(rules.min_images, 1 if "images" in rules.required else 0)
        if len(listing.images) < least:
            problem("images", f"{kind} needs at least {least} image URL (the images column)")
    if rules.max_images is not None and len(listing.images) > rules.max_images:
        problem("images", f"{len(listing.images)} images, {kind} allows {rules.max_images}")
    if _too_long(listing.title, rules.title_max):
        problem("title", f"{len(listing.title)} characters, {kind} allows {rules.title_max}")
    if _too_long(listing.description, rules.description_max):
        problem(
            "description", f"{len(listing.description)} characters, {kind} allows {rules.description_max}"
        )
    if not rules.html and has_html(listing.description):
        problem("description", f"{kind} takes no HTML")
    if listing.link and not listing.link.startswith(("https://", "http://")):
        problem("link", f"{listing.link!r} is not an http(s) URL")
    if listing.condition not in rules.conditions:
        problem("condition", f"{listing.condition!r}: {kind} takes {', '.join(rules.conditions)}")
    if not listing.variants:
        problem("variants", "no SKU of this product is listed on this channel")
    if rules.max_options is not None and len(listing.options) > rules.max_options:
        problem("options", f"{len(listing.options)} options, {kind} allows {rules.max_options}")
    if rules.max_variants is not None and len(listing.variants) > rules.max_variants:
        problem("variants", f"{len(listing.variants)} variants, {kind} allows {rules.max_variants}")
    for v in listing.variants:
        if _too_long(v.title, rules.variant_title_max):
            problem(
                f"variant {v.sku} title",
                f"{len(v.title)} characters, {kind} allows {rules.variant_title_max}",
            )
        if "barcode" in rules.required and not v.barcode:
            problem(f"variant {v.sku} barcode", f"{kind} requires a GTIN (the barcode column)")
        elif v.barcode and rules.gtin_checked and not gtin_valid(v.barcode):
            problem(f"variant {v.sku} barcode", f"{v.barcode!r} is not a valid GTIN (8, 12, 13 or 14 digits)")
        if v.price <= 0:
            problem(f"variant {v.sku} price", f"{kind} needs a price above zero")
    return found
