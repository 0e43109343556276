"""Inventory push and live read on Square (``BatchChangeInventory``, ``BatchRetrieveInventoryCounts``).

The race-safe form, and why
---------------------------
Square's POS lowers its own count at every floor sale, at any moment. A PHYSICAL_COUNT ("the shelf
holds 7") would erase a sale the ledger has not pulled yet, so pushes never use it. Each item is sent
as an ADJUSTMENT of ``target - previous`` units (NONE -> IN_STOCK to add, IN_STOCK -> SOLD or WASTE to
remove, the transitions the Inventory API documents), so a concurrent floor sale stays applied.

* ``previous`` is the count Square reported when it last acknowledged; when it is None (never pushed)
  the live count is read first (BatchRetrieveInventoryCounts) and the delta taken from it.
* One ``idempotency_key`` per call, derived from the items' keys (channel, SKU, ledger version) and
  their (location, previous, target): re-sending the same batch is a no-op at Square, which answers
  with the first result. Square's key covers a request, not an item: if the engine re-sends an item
  in a differently composed batch after a lost answer, the adjustment lands twice, Square's count
  then differs from the target and the item comes back STALE with the real count (below), so the
  next plan corrects it; no floor sale is lost either way. ``occurred_at`` is remembered per batch
  key so that the re-sent body is byte-identical (Square refuses a reused key with another body:
  IDEMPOTENCY_KEY_REUSED). Should that still happen (a restart lost the memory), the items are read
  live and answered STALE.
* The accepted value is the IN_STOCK count Square reports after the change (``counts``). When it is
  not the target, Square moved on its own since the last acknowledgement (a floor sale, a return, a
  count on the device): the item is answered STALE with that count, so the engine pulls the POS
  orders, re-plans from the real count and pushes the remaining difference. No sale is ever
  overwritten: every write is a delta applied on top of whatever Square holds.
* At most 100 changes a call, and up to ``CALLS_IN_FLIGHT`` calls of one push awaiting their answers
  at once: the rate budget (every request takes a token) sets the pace, and the round trips overlap.
  Each call is a separate batch with its own key; the split of a push is deterministic, so a re-sent
  push re-sends the same calls. A 400 naming some changes (``changes[i]`` or the variation id) rejects
  those items and re-sends the rest under a new key (Square applies a batch all-or-nothing).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from omnisync.sdk import (
    ConnectorContext,
    InventoryRef,
    InventoryUpdate,
    ItemResult,
    ProtocolError,
    RetryableError,
    chunked,
    in_flight,
)

from .client import (
    MAX_COUNT_IDS,
    SquareApi,
    SquareError,
    describe,
    quantity_of,
    raise_for_square,
    square_errors,
)
from .settings import SquareSettings
from .timefmt import rfc3339

VARIATION_ID = "variation_id"
"""Key of the Square item variation id in the listing ids (``read_listings``)."""
ITEM_ID = "item_id"
OCCURRED_AT_TTL_S = 23 * 3600
"""Square refuses an ``occurred_at`` older than 24 hours, so a remembered one is used for 23 at most."""
OCCURRED_AT_MEMORY = 20_000
MAX_CHANGES = 100
"""Changes one BatchChangeInventory call may carry."""
CALLS_IN_FLIGHT = 8
"""BatchChangeInventory calls of one push in flight at once: at the connector's 8 requests a second,
enough to keep the budget busy up to a 1 s round trip."""

Pair = tuple[str, str]
"""(variation id, Square location id)."""


@dataclass
class _Change:
    index: int
    update: InventoryUpdate
    variation_id: str
    location_id: str
    base: int | None = None

    @property
    def pair(self) -> Pair:
        return (self.variation_id, self.location_id)

    @property
    def delta(self) -> int:
        return self.update.quantity - (self.base or 0)


class InventoryWriter:
    def __init__(self, api: SquareApi, settings: SquareSettings, context: ConnectorContext) -> None:
        self.api = api
        self.settings = settings
        self.context = context
        self._occurred: OrderedDict[str, tuple[str, float]] = OrderedDict()

    # -- live read -----------------------------------------------------------------------------
    async def live_counts(self, pairs: Iterable[Pair], operation: str) -> dict[Pair, int]:
        """IN_STOCK counts for these pairs; a pair Square has no record of counts 0."""
        wanted = set(pairs)
        out: dict[Pair, int] = dict.fromkeys(wanted, 0)
        locations = sorted({loc for _, loc in wanted})
        for ids in chunked(sorted({vid for vid, _ in wanted}), MAX_COUNT_IDS):
            cursor: str | None = None
            seen: set[str] = set()
            while True:
                counts, cursor = await self.api.retrieve_counts(ids, locations, cursor, operation)
                for count in counts:
                    pair = (str(count.get("catalog_object_id")), str(count.get("location_id")))
                    if count.get("state") == "IN_STOCK" and pair in wanted:
                        out[pair] = quantity_of(count.get("quantity", "0"))
                if cursor is None:
                    break
                if cursor in seen:
                    raise ProtocolError("BatchRetrieveInventoryCounts returned a cursor twice")
                seen.add(cursor)
        return out

    async def read(self, refs: Sequence[InventoryRef]) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        pairs: dict[str, Pair] = {}
        for ref in refs:
            vid = ref.ids.get(VARIATION_ID)
            loc = self.settings.square_location(ref.location)
            if vid and loc:
                pairs[ref.sku] = (vid, loc)
            else:
                out[ref.sku] = None
        if pairs:
            live = await self.live_counts(pairs.values(), "read_inventory")
            out.update({sku: live[pair] for sku, pair in pairs.items()})
        return out

    # -- push ----------------------------------------------------------------------------------
    async def push(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        results: list[ItemResult | None] = [None] * len(updates)
        changes: list[_Change] = []
        for index, update in enumerate(updates):
            problem, change = self._prepare(index, update)
            if change is None:
                results[index] = ItemResult.rejected(update.sku, problem)
            else:
                changes.append(change)
        unknown = [c for c in changes if c.base is None]
        if unknown:
            try:
                live = await self.live_counts([c.pair for c in unknown], "push_inventory")
            except (RetryableError, ProtocolError) as exc:
                for c in unknown:
                    results[c.index] = ItemResult.retry(c.update.sku, f"live count unreadable: {exc.message}")
                changes = [c for c in changes if c.base is not None]
            else:
                for c in unknown:
                    c.base = live[c.pair]
        # Items with a known ``previous`` and items based on a fresh live read go in separate calls: the
        # first kind re-sends a byte-identical request (same key) when the engine retries the batch.
        known = [c for c in changes if c.delta != 0 and c.update.previous is not None]
        fresh = [c for c in changes if c.delta != 0 and c.update.previous is None]
        for c in changes:
            if c.delta == 0:
                results[c.index] = ItemResult.accepted(c.update.sku, c.base)
        for group in (known, fresh):  # the known first: a re-sent push repeats them byte for byte
            await in_flight(
                (self._until_sent(list(c), results) for c in chunked(group, MAX_CHANGES)), CALLS_IN_FLIGHT
            )
        return [
            r if r is not None else ItemResult.retry(u.sku, "not sent")
            for r, u in zip(results, updates, strict=True)
        ]

    def _prepare(self, index: int, update: InventoryUpdate) -> tuple[str, _Change | None]:
        vid = update.ids.get(VARIATION_ID)
        if not vid:
            return "no Square item variation id for this SKU (discover it with read_listings first)", None
        loc = self.settings.square_location(update.location)
        if loc is None:
            where = update.location or "(none given)"
            return f"ledger location {where} has no Square location in settings.locations", None
        if update.quantity < 0:
            return f"negative target quantity {update.quantity}", None
        return "", _Change(index, update, vid, loc, update.previous)

    async def _until_sent(self, batch: list[_Change], results: list[ItemResult | None]) -> None:
        """One call's changes, sent again without those Square named as wrong until none are left."""
        while batch:
            batch = await self._send(batch, results)

    async def _send(self, batch: list[_Change], results: list[ItemResult | None]) -> list[_Change]:
        """Send one call; fill results; return the changes to send again (after per-change errors)."""
        key = batch_key(batch)
        occurred_at = self._occurred_at(key)
        body = [self._adjustment(c, occurred_at) for c in batch]
        try:
            response = await self.api.change_inventory(key, body)
        except (RetryableError, ProtocolError) as exc:
            return self._all(batch, results, _retry(exc.message))
        if response.is_success:
            answer = self.api.parse(response, "BatchChangeInventory")
            self._acknowledge(batch, answer.get("counts"), results)
            return []
        try:
            errors = square_errors(response.json())
        except ValueError:
            errors = []
        if response.status_code in (401, 403) or response.status_code == 429 or response.status_code >= 500:
            try:
                raise_for_square(response, self.context.channel, "BatchChangeInventory")
            except RetryableError as exc:
                return self._all(batch, results, _retry(exc.message))
        if any(e.code == "IDEMPOTENCY_KEY_REUSED" for e in errors):
            await self._resolve_reused_key(batch, results)
            return []
        named = _errors_by_change(batch, errors)
        if not named:
            reason = f"Square refused the batch: {describe(errors)}"
            return self._all(batch, results, lambda c: ItemResult.rejected(c.update.sku, reason))
        for index, errs in named.items():
            change = batch[index]
            results[change.index] = ItemResult.rejected(change.update.sku, f"Square: {describe(errs)}")
        self._occurred.pop(key, None)
        return [c for i, c in enumerate(batch) if i not in named]

    def _acknowledge(
        self, batch: Sequence[_Change], counts: object, results: list[ItemResult | None]
    ) -> None:
        after: dict[Pair, int] = {}
        for count in counts if isinstance(counts, list) else []:
            if isinstance(count, dict) and count.get("state") == "IN_STOCK":
                pair = (str(count.get("catalog_object_id")), str(count.get("location_id")))
                after[pair] = quantity_of(count.get("quantity", "0"))
        for c in batch:
            now = after.get(c.pair)
            if now is None or now == c.update.quantity:
                results[c.index] = ItemResult.accepted(
                    c.update.sku, c.update.quantity if now is None else now
                )
            else:
                results[c.index] = ItemResult.stale(
                    c.update.sku,
                    f"Square holds {now}, not {c.update.quantity}: it moved by itself since the last "
                    "acknowledgement (floor sale, return, count); pull orders and re-plan",
                    value=now,
                )

    async def _resolve_reused_key(self, batch: Sequence[_Change], results: list[ItemResult | None]) -> None:
        """The same batch was sent before with another body: applied or not, read what Square holds."""
        try:
            live = await self.live_counts([c.pair for c in batch], "push_inventory")
        except (RetryableError, ProtocolError) as exc:
            self._all(batch, results, _retry(exc.message))
            return
        for c in batch:
            results[c.index] = ItemResult.stale(
                c.update.sku,
                "this batch was already sent (idempotency key reused); live count read",
                live[c.pair],
            )

    def _adjustment(self, change: _Change, occurred_at: str) -> dict[str, object]:
        increase = change.delta > 0
        return {
            "type": "ADJUSTMENT",
            "adjustment": {
                "reference_id": change.update.idempotency_key[:255],
                "catalog_object_id": change.variation_id,
                "location_id": change.location_id,
                "from_state": "NONE" if increase else "IN_STOCK",
                "to_state": "IN_STOCK" if increase else self.settings.decrease_to_state,
                "quantity": str(abs(change.delta)),
                "occurred_at": occurred_at,
            },
        }

    def _occurred_at(self, key: str) -> str:
        now = self.context.clock.monotonic()
        remembered = self._occurred.get(key)
        if remembered is not None and now - remembered[1] < OCCURRED_AT_TTL_S:
            self._occurred.move_to_end(key)
            return remembered[0]
        stamp = rfc3339(self.context.clock.now())
        self._occurred[key] = (stamp, now)
        while len(self._occurred) > OCCURRED_AT_MEMORY:
            self._occurred.popitem(last=False)
        return stamp

    @staticmethod
    def _all(
        batch: Sequence[_Change], results: list[ItemResult | None], make: Callable[[_Change], ItemResult]
    ) -> list[_Change]:
        for c in batch:
            results[c.index] = make(c)
        return []


def _retry(reason: str) -> Callable[[_Change], ItemResult]:
    return lambda c: ItemResult.retry(c.update.sku, reason)


def batch_key(batch: Sequence[_Change]) -> str:
    """Deterministic per batch content: the same items at the same versions and numbers, the same key."""
    digest = hashlib.sha256()
    for c in batch:
        digest.update(
            f"{c.update.idempotency_key}\x1f{c.location_id}\x1f{c.base}\x1f{c.update.quantity}\x1e".encode()
        )
    return f"omnisync-inv-{digest.hexdigest()[:48]}"


def _errors_by_change(
    batch: Sequence[_Change], errors: Sequence[SquareError]
) -> dict[int, list[SquareError]]:
    named: dict[int, list[SquareError]] = {}
    for error in errors:
        index = error.change_index
        if index is None or not 0 <= index < len(batch):
            index = next((i for i, c in enumerate(batch) if c.variation_id in error.detail), None)
        if index is not None:
            named.setdefault(index, []).append(error)
    return named
