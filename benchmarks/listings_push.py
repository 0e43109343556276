"""Listing pushes per channel against the emulators, on the virtual clock.

    python benchmarks/listings_push.py --products 1000 --json

For each of the four channels: create ``--products`` products of 3 variants each through the
connector's ``upsert_listings`` (in batches of its ``limits.push_listings.max_batch``, as the engine
hands them), then update 10 % of them (a new title), then unpublish another 10 % (discontinued:
``unpublish_listings``, the same batches), then plan the unchanged catalogue again with the pure core
(``omnisync.catalogue``): equal digests, nothing to send.

Prints one JSON object per channel: products, variants, create {calls, polls, virtual_s, accepted,
by_api}, update {the same}, unpublish {the same}, unchanged_sends (listings an unchanged catalogue
would send: 0), and
calls_by_operation for the create. Calls are HTTP requests (status polls included, and counted apart
as ``polls``: getFeed, the bulk operation's node, check_batch_request_status); ``by_api`` counts what
the emulator answered, by API operation (Shopify: GraphQL operation names, the staged upload and the
result download). Virtual seconds are the connector's rate budgets and the emulators' processing on
the virtual clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from omnisync.catalogue.plan import ListingAction, decide
from omnisync.catalogue.template import ListingMode, ListingTemplate, ResolvedTemplate
from omnisync.catalogue.wanted import Wanted, wanted_listing
from omnisync.clock import VirtualClock
from omnisync.ledger.rows import CatalogueRow, ListingContentRow, VariantRow
from omnisync.logging import configure
from omnisync.sdk import Connector, ItemStatus, ListingContent, ListingRef, ListingResult, ListingRules
from omnisync.testing.doubles import build_double, connected

CHANNELS = {
    # channel name -> (emulator double, currency, template)
    "webstore": ("shopify", "USD", ListingTemplate(category="Apparel")),
    "amazon": ("amazon", "EUR", ListingTemplate(category="PRODUCT")),
    "pos": ("square", "EUR", ListingTemplate()),
    "instagram": ("instagram", "USD", ListingTemplate(link="https://shop.example/products/{product}")),
}
SIZES = ("S", "M", "L")
POLLS = frozenset(
    {"getFeed", "OmnisyncBulkOperation", "OmnisyncCurrentBulkMutation", "check_batch_request_status"}
)
"""Status polls of an asynchronous write (Amazon feeds, Shopify bulk operations, Meta batches)."""


def api_calls(emulator: Any) -> Counter[str]:
    """What the emulator answered so far, by API operation."""
    calls = getattr(emulator, "calls", None)
    if isinstance(calls, Counter):
        return Counter(calls)
    found = Counter(re.search(r"(?:query|mutation) (\w+)", r["query"]).group(1) for r in emulator.requests)  # type: ignore[union-attr]
    found["stagedUpload"] += emulator.bulk.uploads
    found["bulkResultDownload"] += emulator.bulk.downloads
    return +found


def gtin(n: int) -> str:
    body = f"40{n:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def catalogue(products: int, currency: str, title: str = "Tee") -> list[CatalogueRow]:
    rows = []
    for p in range(products):
        variants = tuple(
            VariantRow(
                p * 3 + n,
                f"P{p:06d}-{size}",
                f"{title} {p} {size}",
                gtin(p * 3 + n),
                {"Size": size},
                Decimal("19.90"),
                currency,
                (),
            )
            for n, size in enumerate(SIZES)
        )
        rows.append(
            CatalogueRow(
                p,
                f"P{p:06d}",
                f"{title} {p}",
                "A plain tee.",
                "Acme",
                "new",
                "active",
                (f"https://img.example/{p}-1.jpg", f"https://img.example/{p}-2.jpg"),
                {},
                ("Size",),
                1,
                variants,
            )
        )
    return rows


def wanted(rows: Sequence[CatalogueRow], template: ListingTemplate, rules: ListingRules) -> list[Wanted]:
    resolved = ResolvedTemplate(ListingMode.CREATE, template)
    return [wanted_listing(row, resolved, rules, channel_sku=str) for row in rows]


def with_ids(content: ListingContent, result: ListingResult) -> ListingContent:
    """The content as the engine hands it after the create: the channel's ids, and published as the
    channel's answer left it (what the ledger records)."""
    variants = tuple(replace(v, ids=result.variant_ids.get(v.channel_sku, {})) for v in content.variants)
    shown = content.publish if result.published is None else result.published
    return replace(content, ids=result.ids, variants=variants, published=shown)


def ref(content: ListingContent) -> ListingRef:
    """The listing to unpublish, as the engine hands it (``ListingPusher._ref``)."""
    variants = {v.channel_sku: dict(v.ids) for v in content.variants if v.ids}
    return ListingRef(
        content.key, dict(content.ids), tuple(v.channel_sku for v in content.variants), variants
    )


async def send(
    conn: Connector,
    emulator: Any,
    listings: list[ListingContent],
    clock: VirtualClock,
    *,
    unpublish: bool = False,
) -> dict[str, Any]:
    size = max(1, conn.limits.push_listings.max_batch)
    calls0, began, api0 = conn.context.stats.total_calls, clock.monotonic(), api_calls(emulator)
    results: list[ListingResult] = []
    for start in range(0, len(listings), size):
        chunk = listings[start : start + size]
        if unpublish:
            results += await conn.unpublish_listings([ref(x) for x in chunk])
        else:
            results += await conn.upsert_listings(chunk)
    by_api = api_calls(emulator) - api0
    return {
        "calls": conn.context.stats.total_calls - calls0,
        "polls": sum(n for name, n in by_api.items() if name in POLLS),
        "virtual_s": round(clock.monotonic() - began, 1),
        "accepted": sum(r.status is ItemStatus.ACCEPTED for r in results),
        "by_api": dict(sorted(by_api.items())),
        "results": results,
    }


async def channel(name: str, products: int) -> dict[str, Any]:
    kind, currency, template = CHANNELS[name]
    clock = VirtualClock()
    double = build_double(kind, clock)
    conn = connected(double, name)
    rules = type(conn).listing_rules
    assert rules is not None
    rows = catalogue(products, currency)
    first = wanted(rows, template, rules)
    wall = time.perf_counter()
    created = await send(conn, double.emulator, [w.content for w in first], clock)
    by_calls = dict(conn.context.stats.calls)
    results: list[ListingResult] = created.pop("results")
    states = {
        w.content.key: ListingContentRow(
            1, 1, dict(r.ids), w.content.digest, dict(w.fields), True, False, (), "create", None
        )
        for w, r in zip(first, results, strict=True)
        if r.status is ItemStatus.ACCEPTED
    }
    tenth = max(1, products // 10)
    renamed = [replace(row, title=f"{row.title} (new)") for row in rows[:tenth]]
    edits = [
        with_ids(w.content, r) for w, r in zip(wanted(renamed, template, rules), results[:tenth], strict=True)
    ]
    updated = await send(conn, double.emulator, edits, clock)
    updated.pop("results")
    made = [
        with_ids(w.content, r)
        for w, r in zip(first[tenth : 2 * tenth], results[tenth : 2 * tenth], strict=True)
    ]
    hidden = await send(conn, double.emulator, made, clock, unpublish=True)
    hidden.pop("results")
    again = wanted(rows, template, rules)
    unchanged = [
        w
        for w in again
        if decide(w, states.get(w.content.key), ListingMode.CREATE, on_channel=w.content.key in states).action
        is not ListingAction.KEEP
    ]
    await conn.aclose()
    return {
        "channel": name,
        "connector": kind,
        "products": products,
        "variants": products * len(SIZES),
        "create": created,
        "update": {**updated, "products": tenth},
        "unpublish": {**hidden, "products": len(made)},
        "unchanged_sends": len(unchanged) - (products - len(states)),
        "calls_by_operation": by_calls,
        "wall_s": round(time.perf_counter() - wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--channel", choices=sorted(CHANNELS), action="append")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    configure("warning", True)
    rows = [asyncio.run(channel(name, args.products)) for name in args.channel or CHANNELS]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            c, u, h = r["create"], r["update"], r["unpublish"]
            print(
                f"{r['channel']:<10} create {r['products']}: {c['calls']} calls ({c['polls']} polls), "
                f"{c['virtual_s']} s; update {u['products']}: {u['calls']} calls ({u['polls']} polls), "
                f"{u['virtual_s']} s; unpublish {h['products']}: {h['calls']} calls ({h['polls']} polls), "
                f"{h['virtual_s']} s; unchanged sends {r['unchanged_sends']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
