"""Listing content that crosses the boundary between the engine and a connector.

A connector with :attr:`~omnisync.sdk.models.Capability.MANAGE_LISTINGS` creates and updates a
product's listing from a :class:`ListingContent` (the catalogue product through the channel's
template: already cleaned, trimmed to the channel's image limit, its attributes named as the channel
names them) and unpublishes one from a :class:`ListingRef`. It never deletes: a discontinued product
is unpublished. It answers one :class:`ListingResult` per listing, with the channel's ids for the
listing and its variants on success and the channel's own words (Amazon issues, Meta item errors,
Shopify user errors) otherwise.

:class:`ListingRules` is what the channel refuses, as data: the engine checks every wanted listing
against it before any call (``omnisync listings validate``), so the merchant reads the field and the
rule instead of a rejected push.

:class:`ChannelProduct` goes the other way: what a channel lists today, read by ``read_catalogue``
(``Capability.READ_CATALOGUE``), so ``omnisync catalog import --from CHANNEL`` can build the master
catalogue from it and ``omnisync listings link`` can match its variants by barcode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from .models import ItemStatus

CONDITIONS = ("new", "used", "refurbished")
"""The catalogue's conditions; a channel's rules may allow fewer."""


@dataclass(frozen=True, slots=True)
class ListingVariant:
    """One variant (one ledger SKU) of a listing."""

    sku: str
    """Master SKU."""
    channel_sku: str
    """The SKU as the channel knows it (after mapping aliases)."""
    title: str
    """The variant's own title on channels that list variants as items (Amazon, Meta)."""
    options: Mapping[str, str]
    """Option name -> value (``{"Size": "M", "Colour": "Red"}``), in the product's option order."""
    barcode: str | None
    """GTIN (EAN/UPC) or None."""
    price: Decimal
    """The channel price at the time the listing is written (creation needs one; later price
    changes travel through ``push_prices`` as before)."""
    currency: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    """The product's attributes merged with the variant's overrides, named as the channel names them."""
    ids: Mapping[str, str] = field(default_factory=dict)
    """The channel's ids for this variant, when it has it already."""


@dataclass(frozen=True, slots=True)
class ListingContent:
    """What a channel should show for one catalogue product."""

    key: str
    """The catalogue product (its ``product`` handle); one listing per key and channel."""
    title: str
    description: str
    """Cleaned for the channel (plain text where the channel takes no HTML)."""
    brand: str
    condition: str
    category: str
    """The channel's category / product type (a Shopify product type, an Amazon product type such as
    ``SHIRT``, a Meta Google product category, a Square category name); empty when not set."""
    link: str
    """The product page (Meta requires one); empty when not set."""
    images: tuple[str, ...]
    """Ordered image URLs, at most the channel's limit."""
    attributes: Mapping[str, str]
    """Product-level attributes, named as the channel names them."""
    options: tuple[str, ...]
    """Option names in order (``("Colour", "Size")``); empty for a product without variants."""
    variants: tuple[ListingVariant, ...]
    publish: bool
    """Whether the listing should be visible (active); False keeps a created listing unpublished."""
    digest: str
    """Content digest: equal digests mean nothing worth sending changed (prices excluded)."""
    ids: Mapping[str, str] = field(default_factory=dict)
    """The channel's ids for the listing (a Shopify product GID, a Square item id), when known."""
    published: bool | None = None
    """Whether the channel shows the listing now, as the ledger last recorded its answer: True
    published, False unpublished, None not known (never written by omnisync, or found by SKU). A
    channel whose publishing is a step of its own (Shopify's sales channel publications) skips it
    for a listing already published."""


@dataclass(frozen=True, slots=True)
class ListingRef:
    """A listing to unpublish: its key, the channel's ids and its variants' channel SKUs."""

    key: str
    ids: Mapping[str, str]
    channel_skus: tuple[str, ...]
    variant_ids: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """channel SKU -> the channel's ids for that variant."""


@dataclass(frozen=True, slots=True)
class ListingResult:
    """The channel's answer for one listing."""

    key: str
    status: ItemStatus
    ids: Mapping[str, str] = field(default_factory=dict)
    """The channel's ids for the listing (on acceptance)."""
    variant_ids: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """channel SKU -> the channel's ids for that variant (on acceptance)."""
    issues: tuple[str, ...] = ()
    """The channel's own words: why it refused, or the warnings it gave with an acceptance."""
    published: bool | None = None
    """Whether the accepted listing is shown, when that is not what was asked (content written but
    the publishing step refused); None: as asked. Recorded, so the next push publishes it again."""

    @classmethod
    def accepted(
        cls,
        key: str,
        ids: Mapping[str, str],
        variant_ids: Mapping[str, Mapping[str, str]] | None = None,
        issues: tuple[str, ...] = (),
        published: bool | None = None,
    ) -> ListingResult:
        return cls(key, ItemStatus.ACCEPTED, dict(ids), dict(variant_ids or {}), issues, published)

    @classmethod
    def rejected(cls, key: str, *issues: str) -> ListingResult:
        return cls(key, ItemStatus.REJECTED, issues=issues or ("rejected without a reason",))

    @classmethod
    def retry(cls, key: str, reason: str) -> ListingResult:
        return cls(key, ItemStatus.RETRY, issues=(reason,))


@dataclass(frozen=True, slots=True)
class ListingRules:
    """What a channel refuses in a listing, checked before any call. Limits are inclusive; None
    means the channel sets none."""

    channel_kind: str
    """The platform's name as the merchant knows it, for messages ("Shopify allows 255")."""
    title_max: int | None = None
    description_max: int | None = None
    html: bool = False
    """Whether the description may carry HTML (else the template's cleaning turns it to text)."""
    max_images: int | None = None
    min_images: int = 0
    required: tuple[str, ...] = ()
    """Listing fields that must not be empty: ``title``, ``description``, ``brand``, ``link``,
    ``category``, ``barcode`` (every variant), ``images`` (at least one)."""
    conditions: tuple[str, ...] = CONDITIONS
    max_options: int | None = None
    max_variants: int | None = None
    variant_title_max: int | None = None
    gtin_checked: bool = False
    """Whether a barcode must be a valid GTIN (8, 12, 13 or 14 digits with a correct check digit)."""


@dataclass(frozen=True, slots=True)
class ChannelVariant:
    """One variant of a product as the channel lists it."""

    channel_sku: str
    """The channel's SKU ("" when the channel's variant has none)."""
    title: str
    options: Mapping[str, str]
    """Option name -> value, in the product's option order (empty for a product without options)."""
    barcode: str | None
    price: Decimal | None
    ids: Mapping[str, str] = field(default_factory=dict)
    """The channel's ids for the variant, as ``read_listings`` gives them."""


@dataclass(frozen=True, slots=True)
class ChannelProduct:
    """One product as the channel lists it, in the catalogue's terms."""

    key: str
    """The channel's handle for the product (a catalogue handle when adopted)."""
    title: str
    description: str
    """As the channel holds it (HTML on Shopify)."""
    brand: str
    category: str
    status: str
    """``active``, ``draft`` or ``discontinued`` (the channel's archived)."""
    images: tuple[str, ...]
    options: tuple[str, ...]
    variants: tuple[ChannelVariant, ...]
    ids: Mapping[str, str] = field(default_factory=dict)
    """The channel's ids for the listing (as ``ListingResult.ids`` carries them)."""
    currency: str | None = None
    """The currency of the variants' prices, when the channel says it."""


@dataclass(frozen=True, slots=True)
class CataloguePage:
    """A page of ``read_catalogue``: the products and the cursor of the next page (None: the last)."""

    products: list[ChannelProduct]
    next_cursor: str | None = None
