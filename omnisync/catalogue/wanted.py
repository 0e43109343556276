"""The wanted listing: a catalogue product through a channel's template, and its content digest. Pure.

:func:`wanted_listing` is the only place a channel's listing content is computed: the planner, the
validator, ``explain`` and the pushes all read what it returns. The digest covers every field the
channel shows except prices and quantities (those travel through the price and stock pushes), so
equal digests mean there is nothing to send; a short hash per field says what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omnisync.ledger.rows import CatalogueRow, VariantRow
from omnisync.sdk.listings import ListingContent, ListingRules, ListingVariant

from .clean import html_to_text
from .template import ListingTemplate, ResolvedTemplate, render

HASHED_FIELDS = (
    "title",
    "description",
    "brand",
    "condition",
    "category",
    "link",
    "images",
    "attributes",
    "options",
    "variants",
    "publish",
)
"""The fields the digest covers, in order; ``acked_fields`` keeps one short hash for each."""


@dataclass(frozen=True)
class Wanted:
    content: ListingContent
    fields: Mapping[str, str]
    """Field -> short hash of its value (see :data:`HASHED_FIELDS`)."""
    notes: tuple[str, ...]
    """How the template shaped the content (for ``explain``): provenance and trims."""


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _variant_text(variant: VariantRow, product: CatalogueRow) -> str:
    return " / ".join(variant.options.get(name, "") for name in product.options if variant.options.get(name))


def wanted_listing(
    product: CatalogueRow,
    resolved: ResolvedTemplate,
    rules: ListingRules,
    *,
    channel_sku: Callable[[str], str],
    price: Callable[[VariantRow], tuple[Decimal, str]] | None = None,
    ids: Mapping[str, str] | None = None,
    variant_ids: Mapping[str, Mapping[str, str]] | None = None,
    published: bool | None = None,
) -> Wanted:
    """What ``product`` should look like on a channel with template ``resolved`` and ``rules``.

    ``channel_sku`` maps a master SKU to the channel's; ``price`` gives a variant's channel price
    (default: the ledger price); ``ids``/``variant_ids`` (by master SKU) are the channel's ids known;
    ``published`` whether the channel shows it now (the ledger's record; not part of the digest).
    """
    template: ListingTemplate = resolved.template
    own = resolved.product
    notes = list(resolved.provenance)
    brand = product.brand or template.brand
    values = {
        "title": product.title,
        "brand": brand,
        "product": product.handle,
        "condition": product.condition,
    }
    title = render(own.title or template.title, values, product.attributes, {})
    raw_description = own.description if own.description is not None else product.description
    text_only = not rules.html or template.description == "text"
    description = html_to_text(raw_description) if text_only else raw_description.strip()
    if text_only and description != raw_description.strip():
        why = f"{rules.channel_kind} takes none" if not rules.html else "template: description=text"
        notes.append(f"description: HTML turned into text ({why})")
    images = list(own.images if own.images is not None else product.images)
    limit = min((n for n in (template.max_images, rules.max_images) if n is not None), default=None)
    if limit is not None and len(images) > limit:
        notes.append(f"images: {len(images)} -> {limit} (limit of {rules.channel_kind} or the template)")
        images = images[:limit]
    attributes = {
        channel_name: product.attributes[name]
        for name, channel_name in template.attributes.items()
        if product.attributes.get(name)
    }
    attributes.update(template.fixed_attributes)
    attributes.update(own.attributes or {})
    variant_title = (
        own.variant_title
        or template.variant_title
        or ("{title} - {options}" if product.options else "{title}")
    )
    variants: list[ListingVariant] = []
    for v in product.variants:
        if v.sku in resolved.excluded:
            continue
        override = resolved.variants.get(v.sku)
        vvalues = {
            **values,
            "title": title,
            "sku": v.sku,
            "variant": v.title,
            "options": _variant_text(v, product),
        }
        own_title = (override.variant_title or override.title) if override is not None else None
        vtitle = render(own_title or variant_title, vvalues, product.attributes, v.options)
        amount, currency = price(v) if price is not None else (v.price, v.currency)
        variants.append(
            ListingVariant(
                sku=v.sku,
                channel_sku=channel_sku(v.sku),
                title=vtitle,
                options={name: v.options[name] for name in product.options if name in v.options},
                barcode=v.barcode or None,
                price=amount,
                currency=currency,
                attributes={**attributes, **((override.attributes or {}) if override else {})},
                ids=dict((variant_ids or {}).get(v.sku, {})),
            )
        )
    link = render(
        template.link,
        {**values, "title": title, "sku": "", "variant": "", "options": ""},
        product.attributes,
        {},
    )
    content = {
        "title": title,
        "description": description,
        "brand": brand,
        "condition": product.condition,
        "category": own.category if own.category is not None else template.category,
        "link": link,
        "images": images,
        "attributes": attributes,
        "options": list(product.options),
        "variants": [
            [v.sku, v.channel_sku, v.title, dict(v.options), v.barcode, dict(v.attributes)] for v in variants
        ],
        "publish": product.status == "active",
    }
    fields = {name: _hash(content[name])[:12] for name in HASHED_FIELDS}
    digest = _hash([content[name] for name in HASHED_FIELDS])
    listing = ListingContent(
        key=product.handle,
        title=title,
        description=description,
        brand=brand,
        condition=product.condition,
        category=str(content["category"]),
        link=link,
        images=tuple(images),
        attributes=attributes,
        options=tuple(product.options),
        variants=tuple(variants),
        publish=bool(content["publish"]),
        digest=digest,
        ids=dict(ids or {}),
        published=published,
    )
    return Wanted(listing, fields, tuple(notes))
