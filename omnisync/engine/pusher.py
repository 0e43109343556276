"""Sending planned changes: id discovery, batches within limits, per-item acknowledgements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog

from omnisync.catalogue.template import ListingMode
from omnisync.clock import Clock
from omnisync.ledger.repository import Ledger
from omnisync.ledger.rows import OutboxItem
from omnisync.sdk.helpers import chunked, idempotency_key
from omnisync.sdk.models import (
    Capability,
    InventoryUpdate,
    ItemResult,
    ItemStatus,
    Preorder,
    PriceUpdate,
    preorder_key,
)

from . import listing_state
from .channel import ChannelRuntime
from .planner import PlannedItem, inventory_batches, price_batches

log = structlog.get_logger("omnisync.push")


@dataclass
class PushReport:
    planned: int = 0
    pushed: int = 0
    accepted: int = 0
    rejected: int = 0
    retry: int = 0
    stale: list[PlannedItem] = field(default_factory=list)
    missing: int = 0
    held: int = 0
    """Quantity increases kept back (left dirty) because the channel's orders are not pulled yet."""
    deferred: int = 0
    """Changes left dirty because an earlier push of the same products is in flight."""
    again: bool = False
    """A later push deferred products of this one: push the channel again now."""
    wants_pull: bool = False
    """A live read holds sales the ledger may not have: pull the channel now (increases wait for it)."""

    def merge(self, other: PushReport) -> None:
        self.planned += other.planned
        self.pushed += other.pushed
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.retry += other.retry
        self.stale.extend(other.stale)
        self.missing += other.missing
        self.held += other.held
        self.deferred += other.deferred
        self.again = self.again or other.again
        self.wants_pull = self.wants_pull or other.wants_pull


def hold_increases(items: Sequence[PlannedItem], held: int) -> tuple[list[PlannedItem], int]:
    """Keep back the items that would raise the channel's quantity (their pairs stay dirty).

    For a channel whose order pull has not succeeded yet (start-up, or a failed pull): an increase
    could raise the channel over sales the ledger has not imported, and compare-and-set would not
    stop it when a live read already put those sales in the acknowledged value. Decreases go on; a
    price change on a held item waits with it. Returns (items to push, held so far).
    """
    kept: list[PlannedItem] = []
    for item in items:
        if item.quantity is not None and (item.previous is None or item.quantity > item.previous):
            held += 1
        else:
            kept.append(item)
    return kept, held


async def discover(
    rt: ChannelRuntime, ledger: Ledger, items: Sequence[PlannedItem], clock: Clock
) -> list[PlannedItem]:
    """Find the channel's ids for pairs that have none; pairs the channel lacks are reported, not pushed."""
    if not rt.connector.supports(Capability.READ_LISTINGS):
        return list(items)
    unknown = [i for i in items if not i.ids]
    if not unknown:
        return list(items)
    size = max(1, rt.connector.limits.read_listings.max_batch)
    found: dict[str, dict[str, str]] = {}
    for chunk in chunked([i.channel_sku for i in unknown], size):
        for listing in await rt.connector.read_listings(list(chunk)):
            found[listing.channel_sku] = dict(listing.ids)
    ready: list[PlannedItem] = []
    with ledger.tx() as tx:
        lacking = [i.product_id for i in unknown if i.channel_sku not in found]
        awaited = (
            ledger.awaiting_listing(tx.conn, rt.channel_id, lacking)
            if lacking and rt.rules.mapping.mapping.listings is ListingMode.CREATE
            else set()
        )
        for item in items:
            if item.ids:
                ready.append(item)
                continue
            ids = found.get(item.channel_sku)
            tx.set_listing_ids(rt.channel_id, item.product_id, ids, mark=item.mark)
            if ids is None:
                if item.product_id in awaited:  # the listing job creates it, then gives the pair its ids
                    log.info("listing.awaits_creation", channel=rt.name, sku=item.sku)
                else:
                    log.warning(
                        "listing.missing", channel=rt.name, sku=item.sku, channel_sku=item.channel_sku
                    )
                continue
            ready.append(_with_ids(item, ids))
    return ready


def _with_ids(item: PlannedItem, ids: dict[str, str]) -> PlannedItem:
    return replace(item, ids=ids)


def inventory_update(
    rt: ChannelRuntime, item: PlannedItem, acked_at: datetime | None = None
) -> InventoryUpdate:
    """The update for one planned item; its idempotency key names the ledger version and when the
    channel last acknowledged the pair (``acked_at``), so a re-plan of an unacknowledged push is the
    same request and a later push of the same values is a new one."""
    assert item.quantity is not None
    return InventoryUpdate(
        sku=item.sku,
        channel_sku=item.channel_sku,
        quantity=item.quantity,
        previous=item.previous,
        version=item.version,
        idempotency_key=idempotency_key(rt.name, item.sku, item.version, after=acked_at),
        ids=item.ids,
        location=rt.rules.sources[0],
        available=item.available,
        preorder=item.preorder,
        preorder_changed=item.preorder_changed,
    )


def price_update(rt: ChannelRuntime, item: PlannedItem) -> PriceUpdate:
    assert item.price is not None
    assert item.currency is not None
    compare_at = item.target.price.compare_at if item.target.price is not None else None
    return PriceUpdate(
        sku=item.sku,
        channel_sku=item.channel_sku,
        price=item.price,
        currency=item.currency,
        version=item.version,
        idempotency_key=idempotency_key(rt.name, item.sku, item.version, "price"),
        compare_at=compare_at,
        ids=item.ids,
    )


async def push_items(
    rt: ChannelRuntime, ledger: Ledger, items: Sequence[PlannedItem], clock: Clock
) -> PushReport:
    report = PushReport(planned=len(items))
    items = await discover(rt, ledger, items, clock)
    report.missing = report.planned - len(items)
    connector = rt.connector
    if connector.supports(Capability.PUSH_INVENTORY):
        for batch in inventory_batches(items, max(1, connector.limits.push_inventory.max_batch)):
            with ledger.tx() as tx:  # written before sending: see replay_outbox
                acked = tx.acked_at(rt.channel_id, [i.product_id for i in batch])
                updates = [inventory_update(rt, i, acked.get(i.product_id)) for i in batch]
                outbox_id = tx.outbox_add(
                    rt.channel_id,
                    [_encode(u, i.product_id) for u, i in zip(updates, batch, strict=True)],
                    clock.now(),
                )
            results = await connector.push_inventory(updates)
            _record(rt, ledger, batch, results, clock, report, kind="quantity", outbox_id=outbox_id)
    if connector.supports(Capability.PUSH_PRICES):
        for batch in price_batches(items, max(1, connector.limits.push_prices.max_batch)):
            results = await connector.push_prices([price_update(rt, i) for i in batch])
            _record(rt, ledger, batch, results, clock, report, kind="price")
    return report


def _record(
    rt: ChannelRuntime,
    ledger: Ledger,
    batch: Sequence[PlannedItem],
    results: Sequence[ItemResult],
    clock: Clock,
    report: PushReport,
    *,
    kind: str,
    outbox_id: int | None = None,
) -> None:
    """Acknowledge exactly the items the channel accepted; a missing result counts as retry."""
    by_sku = {r.sku: r for r in results}
    now = clock.now()
    verified = rt.connector.supports(Capability.VERIFIED_PUSH)
    report.pushed += len(batch)
    with ledger.tx() as tx:
        if outbox_id is not None:
            tx.outbox_done(outbox_id)
        for item in batch:
            result = by_sku.get(item.sku) or ItemResult.retry(
                item.sku, "the channel returned no result for this item"
            )
            if result.status is ItemStatus.ACCEPTED:
                report.accepted += 1
                change = (
                    listing_state.pushed(item, result, verified=verified, at=now)
                    if kind == "quantity"
                    else listing_state.price_pushed(item, at=now)
                )
                tx.acknowledge(rt.channel_id, item.product_id, change)
            elif result.status is ItemStatus.STALE:
                report.stale.append(item)
                tx.listing_error(
                    rt.channel_id, item.product_id, f"stale: {result.reason or ''}", at=now, keep_dirty=True
                )
            elif result.status is ItemStatus.REJECTED:
                report.rejected += 1
                tx.listing_error(
                    rt.channel_id,
                    item.product_id,
                    f"rejected: {result.reason}",
                    at=now,
                    keep_dirty=False,
                    mark=item.mark,
                )
                log.warning("push.rejected", channel=rt.name, sku=item.sku, kind=kind, reason=result.reason)
            else:
                report.retry += 1
                tx.listing_error(
                    rt.channel_id, item.product_id, f"retry: {result.reason}", at=now, keep_dirty=True
                )


def _encode(update: InventoryUpdate, product_id: int) -> OutboxItem:
    return {
        "product_id": product_id,
        "sku": update.sku,
        "channel_sku": update.channel_sku,
        "quantity": update.quantity,
        "previous": update.previous,
        "version": update.version,
        "key": update.idempotency_key,
        "ids": dict(update.ids),
        "location": update.location,
        "available": update.available,
        "preorder": preorder_key(update.preorder),
        "preorder_changed": update.preorder_changed,
    }


def _decode(item: OutboxItem) -> InventoryUpdate:
    return InventoryUpdate(
        sku=item["sku"],
        channel_sku=item["channel_sku"],
        quantity=item["quantity"],
        previous=item["previous"],
        version=item["version"],
        idempotency_key=item["key"],
        ids=item["ids"],
        location=item["location"],
        available=item["available"],
        preorder=Preorder.from_key(item.get("preorder")),
        preorder_changed=bool(item.get("preorder_changed")),
    )


async def replay_outbox(rt: ChannelRuntime, ledger: Ledger, clock: Clock) -> int:
    """Batches whose outcome was never recorded (the process died mid-push). Returns batches handled.

    On a channel that honours idempotency keys the batch is re-sent verbatim, so the platform answers
    its first result instead of applying the change twice, and that result is acknowledged (the pair
    stays dirty and is re-planned). Elsewhere the batch is dropped: those channels take absolute or
    compare-and-set values, so the fresh plan that follows is authoritative, but what the channel
    holds is unknown (the batch may have landed), so each pair's compare value is forgotten: were the
    offer back at the value acknowledged before the batch, the plan would otherwise find nothing to
    send while the channel shows what the batch sent.
    """
    with ledger.tx() as tx:
        pending = tx.outbox_pending(rt.channel_id)
    if not pending:
        return 0
    replay = rt.connector.supports(Capability.IDEMPOTENT_PUSH)
    for outbox_id, items in pending:
        if not replay:
            now = clock.now()
            with ledger.tx() as tx:
                tx.outbox_done(outbox_id)
                for item in items:
                    tx.forget_acknowledged(
                        rt.channel_id, item["product_id"], "push outcome unknown after a restart", at=now
                    )
            continue
        log.info("push.replay", channel=rt.name, items=len(items))
        results = {r.sku: r for r in await rt.connector.push_inventory([_decode(i) for i in items])}
        now = clock.now()
        with ledger.tx() as tx:
            tx.outbox_done(outbox_id)
            for item in items:
                result = results.get(item["sku"])
                if result is not None and result.status is ItemStatus.ACCEPTED and result.value is not None:
                    change = listing_state.replayed(int(result.value), at=now)
                    tx.acknowledge(rt.channel_id, item["product_id"], change)
                else:
                    reason = "replayed after a restart: " + (
                        result.reason or result.status.value if result else "no result"
                    )
                    tx.listing_error(rt.channel_id, item["product_id"], reason, at=now, keep_dirty=True)
    return len(pending)
