"""Matching a channel's existing listings to the catalogue: by SKU, then by barcode. Pure.

A catalogue variant is found by its channel SKU when the channel has exactly one listing of that SKU.
A variant the channel has under another SKU is found by its barcode (GTIN, compared as 14 digits, so
a UPC-A and its EAN-13 with a leading zero are one code) when exactly one channel variant carries
it and that variant is not already another variant's by SKU. A barcode match is only usable once the
channel's SKU is an alias of the master SKU (``sku_aliases`` in the mapping): orders name the
channel's SKU. Anything else is reported: several listings for one SKU or one barcode (ambiguous),
a barcode match whose channel variant has no SKU, or whose SKU is another master SKU's name.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from omnisync.ledger.rows import CatalogueRow, VariantRow
from omnisync.sdk.listings import ChannelProduct, ChannelVariant


def gtin_key(barcode: str | None) -> str | None:
    """The barcode as compared: digits padded to 14 (GTIN-14), else the stripped text; None if empty."""
    text = (barcode or "").strip()
    if not text:
        return None
    return text.zfill(14) if text.isdigit() and len(text) <= 14 else text


@dataclass(frozen=True)
class BarcodeMatch:
    sku: str
    """Master SKU."""
    channel_sku: str
    """The channel's SKU for it (to become its alias)."""
    barcode: str
    ids: Mapping[str, str]


@dataclass
class LinkPlan:
    """What ``listings link`` found on one channel."""

    by_sku: dict[str, Mapping[str, str]] = field(default_factory=dict)
    """Master SKU -> the channel's ids (found under its own channel SKU)."""
    by_barcode: list[BarcodeMatch] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    """Products every variant of which was found (by SKU or barcode)."""
    partial: dict[str, list[str]] = field(default_factory=dict)
    """Product -> the channel SKUs of its variants not found."""
    unmatched: list[str] = field(default_factory=list)
    ambiguous: dict[str, int] = field(default_factory=dict)
    """Channel SKU or ``barcode <code>`` -> how many channel listings claim it."""
    refused: dict[str, str] = field(default_factory=dict)
    """Master SKU -> why its barcode match cannot be used."""
    unknown: list[str] = field(default_factory=list)
    """Channel products none of whose variants is in the catalogue (``catalog import`` adopts them)."""


def plan_links(
    catalogue: Sequence[CatalogueRow],
    channel_sku: Callable[[str], str],
    found: Mapping[str, Sequence[Mapping[str, str]]],
    channel_products: Sequence[ChannelProduct] | None,
    ledger_skus: Collection[str],
    *,
    aliasing: bool = False,
) -> LinkPlan:
    """``found``: channel SKU -> the ids of each listing the channel answered for it (``read_listings``);
    ``channel_products``: the channel's whole catalogue, or None where it cannot be read (no barcode
    matching then); ``ledger_skus``: every master SKU (a channel SKU equal to one cannot be an alias);
    ``aliasing``: the barcode matches become aliases now, so they count as linked."""
    plan = LinkPlan()
    plan.ambiguous = {sku: len(ids) for sku, ids in found.items() if len(ids) > 1}
    variants = [(p, v) for p in catalogue for v in p.variants]
    for _, v in variants:
        ids = found.get(channel_sku(v.sku), ())
        if len(ids) == 1:
            plan.by_sku[v.sku] = ids[0]
    if channel_products is not None:
        _match_barcodes(plan, variants, channel_sku, channel_products, ledger_skus)
    matched = set(plan.by_sku) | ({m.sku for m in plan.by_barcode} if aliasing else set())
    for p in catalogue:
        lacking = [channel_sku(v.sku) for v in p.variants if v.sku not in matched]
        if not lacking:
            plan.linked.append(p.handle)
        elif len(lacking) == len(p.variants):
            plan.unmatched.append(p.handle)
        else:
            plan.partial[p.handle] = lacking
    if channel_products is not None:
        known = {channel_sku(v.sku) for _, v in variants} | {m.channel_sku for m in plan.by_barcode}
        plan.unknown = [
            cp.key for cp in channel_products if not any(cv.channel_sku in known for cv in cp.variants)
        ]
    return plan


def _match_barcodes(
    plan: LinkPlan,
    variants: Sequence[tuple[CatalogueRow, VariantRow]],
    channel_sku: Callable[[str], str],
    channel_products: Sequence[ChannelProduct],
    ledger_skus: Collection[str],
) -> None:
    taken = {channel_sku(sku) for sku in plan.by_sku}
    by_code: dict[str, list[ChannelVariant]] = {}
    for cp in channel_products:
        for cv in cp.variants:
            code = gtin_key(cv.barcode)
            if code is not None and cv.channel_sku not in taken:
                by_code.setdefault(code, []).append(cv)
    wanting: dict[str, list[tuple[str, str]]] = {}
    for _, v in variants:
        code = gtin_key(v.barcode)
        if v.sku not in plan.by_sku and code is not None and code in by_code:
            wanting.setdefault(code, []).append((v.sku, str(v.barcode)))
    for code, masters in wanting.items():
        candidates = by_code[code]
        if len(candidates) > 1 or len(masters) > 1:
            plan.ambiguous[f"barcode {masters[0][1]}"] = max(len(candidates), len(masters))
            continue
        (sku, barcode), cv = masters[0], candidates[0]
        if not cv.channel_sku:
            plan.refused[sku] = f"barcode {barcode} found on a channel variant without a SKU: give it one"
        elif cv.channel_sku in ledger_skus:
            plan.refused[sku] = (
                f"barcode {barcode} found under SKU {cv.channel_sku}, which is another master SKU"
            )
        else:
            plan.by_barcode.append(BarcodeMatch(sku, cv.channel_sku, barcode, dict(cv.ids)))
