"""The conformance kit's listing checks, for connectors with ``Capability.MANAGE_LISTINGS``.

One listing with two variants is created, updated and unpublished through the connector against the
harness's API; a second listing the channel must refuse (no title) is sent in the same batch. The
kit asserts one result per listing, the channel's ids on acceptance (the same ids after an update:
no duplicate), the channel's words on refusal, an unpublished listing still there, and that the
connector's declared ``listing_rules`` foresee the refusal (so ``listings validate`` catches it
before any call).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from omnisync.catalogue.validate import validate_listing
from omnisync.sdk.connector import Connector
from omnisync.sdk.listings import ListingContent, ListingRef, ListingVariant
from omnisync.sdk.models import Capability, ItemStatus

from .harness import ConnectorHarness


def gtin(n: int) -> str:
    """A valid GTIN-13 for kit variant ``n``."""
    body = f"400{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def kit_listing(key: str, title: str, skus: list[str], category: str) -> ListingContent:
    variants = tuple(
        ListingVariant(sku, sku, f"{title} - {size}", {"Size": size}, gtin(i), Decimal("19.90"), "EUR")
        for i, (sku, size) in enumerate(zip(skus, ("S", "M", "L", "XL"), strict=False))
    )
    return ListingContent(
        key=key,
        title=title,
        description="A plain tee for the conformance kit.",
        brand="Kit",
        condition="new",
        category=category,
        link=f"https://shop.example/products/{key.lower()}",
        images=("https://img.example/kit-1.jpg",),
        attributes={},
        options=("Size",),
        variants=variants,
        publish=True,
        digest=f"kit-{title}",
    )


async def check_listing_lifecycle(h: ConnectorHarness, conn: Connector, skus: list[str]) -> None:
    cls = type(conn)
    rules = cls.listing_rules
    assert rules is not None, "a connector with MANAGE_LISTINGS declares its listing_rules"
    assert cls.limits.push_listings.max_batch >= 1
    category = getattr(h, "conformance_listing_category", "")
    good = kit_listing("CONF-L1", "Kit tee", skus[:2], category)
    bad = kit_listing("CONF-L2", "", skus[2:3], category)
    assert validate_listing(good, rules) == [], "the kit's listing passes the connector's own rules"
    assert any(p.field == "title" for p in validate_listing(bad, rules)), "listing_rules foresee the refusal"

    results = await conn.upsert_listings([good, bad])
    assert sorted(r.key for r in results) == ["CONF-L1", "CONF-L2"], "one result per listing"
    by = {r.key: r for r in results}
    made = by["CONF-L1"]
    assert made.status is ItemStatus.ACCEPTED, made.issues
    assert made.ids, "an accepted listing carries the channel's ids"
    assert set(made.variant_ids) == set(skus[:2]), "and its variants' ids"
    assert by["CONF-L2"].status in (ItemStatus.REJECTED, ItemStatus.RETRY)
    assert by["CONF-L2"].issues, "a refused listing carries the channel's reason"
    shown = h.listing("CONF-L1")
    assert shown is not None
    assert shown["title"] == "Kit tee"
    assert shown["published"] is True
    if conn.supports(Capability.READ_LISTINGS):
        found = {li.channel_sku for li in await conn.read_listings(skus[:2])}
        assert found == set(skus[:2]), "created variants are found by discovery, so stock follows them"

    variants = tuple(replace(v, ids=made.variant_ids[v.channel_sku]) for v in good.variants)
    edited = replace(good, title="Kit tee v2", ids=made.ids, variants=variants, digest="kit-2")
    [again] = await conn.upsert_listings([edited])
    assert again.status is ItemStatus.ACCEPTED, again.issues
    assert dict(again.ids) == dict(made.ids), "an update keeps the listing (no duplicate)"
    shown = h.listing("CONF-L1")
    assert shown is not None
    assert shown["title"] == "Kit tee v2"

    ref = ListingRef("CONF-L1", made.ids, tuple(skus[:2]), made.variant_ids)
    [off] = await conn.unpublish_listings([ref])
    assert off.status is ItemStatus.ACCEPTED, off.issues
    shown = h.listing("CONF-L1")
    assert shown is not None, "unpublished, never deleted"
    assert shown["published"] is False
