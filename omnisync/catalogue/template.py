"""A channel's listing template (the ``listing:`` section of its mapping file) and per-SKU overrides.

Text templates use ``{name}`` fields, checked when the mapping file is loaded (an unknown field is an
error naming it, never an empty string at push time):

- product: ``{title}`` ``{brand}`` ``{product}`` (the handle) ``{condition}`` ``{attributes[NAME]}``
- variant titles and links also: ``{sku}`` ``{variant}`` (the variant's own title) ``{options}``
  (``Red / M``) ``{option[NAME]}``

An attribute or option a product lacks renders empty, and the spaces and separators it leaves are
tidied (``"Acme  tee - "`` -> ``"Acme tee"``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

PRODUCT_FIELDS = frozenset({"title", "brand", "product", "condition"})
VARIANT_FIELDS = PRODUCT_FIELDS | {"sku", "variant", "options"}
_INDEXED = re.compile(r"^(attributes|option)\[([^\[\]{}]+)\]$")


class ListingMode(StrEnum):
    CREATE = "create"
    """omnisync creates the listings the channel lacks, and keeps them."""
    UPDATE = "update"
    """omnisync keeps the listings that exist on the channel; it never creates one (the default)."""
    OFF = "off"
    """omnisync leaves this channel's listing content alone."""


def template_fields(template: str, *, variant: bool) -> list[str]:
    """The fields ``template`` uses; ValueError naming a field that does not exist or a bad brace."""
    allowed = VARIANT_FIELDS if variant else PRODUCT_FIELDS
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{template!r}: {exc} (write a literal brace as {{{{ or }}}})") from None
    names: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        match = _INDEXED.match(name)
        known = name in allowed or (match is not None and (match.group(1) == "attributes" or variant))
        if not known or spec or conversion:
            fields = ", ".join(sorted(allowed)) + ", attributes[NAME]" + (", option[NAME]" if variant else "")
            raise ValueError(f"{template!r}: unknown field {{{name}}} (fields: {fields})")
        names.append(name)
    return names


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


_SPACES = re.compile(r"\s{2,}")
_DANGLING = re.compile(r"(\s*[-–|/,:]\s*)+$|^(\s*[-–|/,:]\s*)+")


def render(
    template: str, values: Mapping[str, str], attributes: Mapping[str, str], options: Mapping[str, str]
) -> str:
    """``template`` with its fields filled (fields checked by :func:`template_fields` beforehand)."""
    text = template.format_map({**values, "attributes": _Missing(attributes), "option": _Missing(options)})
    return _DANGLING.sub("", _SPACES.sub(" ", text)).strip()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListingOverride(_Model):
    """Listing content for one product (keyed by its handle) or one variant (keyed by its SKU) under
    ``skus:``; what it sets replaces the template's."""

    title: str | None = None
    """A product's title (template fields allowed)."""
    variant_title: str | None = None
    description: str | None = None
    """Replaces the catalogue description on this channel (cleaned like it)."""
    category: str | None = None
    images: tuple[str, ...] | None = None
    attributes: dict[str, str] | None = None
    """The channel's attribute name -> a fixed value."""

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        if value is not None:
            template_fields(value, variant=False)
        return value

    @field_validator("variant_title")
    @classmethod
    def _variant_title(cls, value: str | None) -> str | None:
        if value is not None:
            template_fields(value, variant=True)
        return value

    @field_validator("images")
    @classmethod
    def _urls(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for url in value or ():
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return value


class ListingTemplate(_Model):
    """How one channel's listings come from the catalogue (every key optional)."""

    title: str = "{title}"
    variant_title: str | None = None
    """Title of a variant on channels that list each variant as an item (Amazon, Meta); default
    ``"{title} - {options}"`` for a product with options, else the product title."""
    description: Literal["html", "text"] = "html"
    """``text`` turns the description's HTML into plain text; a channel that takes no HTML (Amazon,
    Meta, Square) always gets text."""
    category: str = ""
    """The channel's category or product type."""
    link: str = ""
    """The product page URL (Meta requires one), e.g. ``https://shop.example/products/{product}``."""
    attributes: dict[str, str] = {}
    """Catalogue attribute name -> the channel's attribute name (unlisted attributes are not sent)."""
    fixed_attributes: dict[str, str] = {}
    """The channel's attribute name -> a value every listing carries."""
    max_images: int | None = None
    """Send at most this many images (the channel's own limit applies anyway)."""
    brand: str = ""
    """The brand when the catalogue gives none."""

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        template_fields(value, variant=False)
        return value

    @field_validator("variant_title", "link")
    @classmethod
    def _variant(cls, value: str | None) -> str | None:
        if value:
            template_fields(value, variant=True)
        return value

    @field_validator("max_images")
    @classmethod
    def _images(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError("must be ≥ 0")
        return value


@dataclass(frozen=True)
class ResolvedTemplate:
    """The template for one product on one channel, with its overrides applied."""

    mode: ListingMode
    template: ListingTemplate
    product: ListingOverride = field(default_factory=ListingOverride)
    variants: Mapping[str, ListingOverride] = field(default_factory=dict)
    """Master SKU -> that variant's override."""
    excluded: frozenset[str] = frozenset()
    """Master SKUs kept off this channel (``exclude``): not listed as variants."""
    provenance: tuple[str, ...] = ()
