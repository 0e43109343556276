"""Price push on Square: the item variation's ``price_money`` through ``BatchUpsertCatalogObjects``.

Square processes one catalog write at a time per seller account and answers any other concurrent
write with 429 ``RATE_LIMITED`` ("catalog locked"), so every connector instance in this process that
writes to the same account waits on one lock. An upsert replaces the whole object and must carry its
current ``version``: the variations are read first (BatchRetrieveCatalogObjects), changed only in
``price_money``, and written back, one object per batch so that a conflict stays alone (Square
applies each batch all-or-nothing). On ``VERSION_MISMATCH`` (someone edited the item in between)
the failed ones are read again and written again, ``settings.catalog_attempts`` times at most.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from omnisync.sdk import ConnectorContext, ItemResult, PriceUpdate, ProtocolError, RetryableError, chunked

from .client import (
    MAX_RETRIEVE_IDS,
    Json,
    SquareApi,
    SquareError,
    as_dict,
    describe,
    raise_for_square,
    square_errors,
)
from .inventory import VARIATION_ID
from .settings import SquareSettings

CONFLICT_CODES = frozenset({"VERSION_MISMATCH", "CONFLICT"})
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {**dict.fromkeys(_ZERO_DECIMALS.split(), 0), **dict.fromkeys(_THREE_DECIMALS.split(), 3)}
"""ISO 4217 minor units that are not 2."""

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def catalog_lock(settings: SquareSettings) -> asyncio.Lock:
    """One lock per Square account (base URL + token) in this event loop."""
    account = hashlib.sha256(
        f"{settings.api_base_url}\x1f{settings.access_token.get_secret_value()}".encode()
    )
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(account.hexdigest(), asyncio.Lock())


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal money -> Square's integer amount in the currency's smallest unit (12.34 USD -> 1234)."""
    exponent = _EXPONENTS.get(currency.upper(), 2)
    return int((amount * (Decimal(10) ** exponent)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount) / (Decimal(10) ** _EXPONENTS.get(currency.upper(), 2))


@dataclass
class _Price:
    index: int
    update: PriceUpdate
    variation_id: str
    amount: int


class PriceWriter:
    def __init__(self, api: SquareApi, settings: SquareSettings, context: ConnectorContext) -> None:
        self.api = api
        self.settings = settings
        self.context = context

    async def push(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        results: list[ItemResult | None] = [None] * len(updates)
        pending: dict[str, _Price] = {}
        for index, u in enumerate(updates):
            vid = u.ids.get(VARIATION_ID)
            if not vid:
                results[index] = ItemResult.rejected(
                    u.sku, "no Square item variation id (run read_listings first)"
                )
            elif u.price < 0:
                results[index] = ItemResult.rejected(u.sku, f"negative price {u.price}")
            elif vid in pending:
                results[index] = ItemResult.rejected(
                    u.sku, f"variation {vid} is also the target of another SKU"
                )
            else:
                pending[vid] = _Price(index, u, vid, to_minor(u.price, u.currency))
        async with catalog_lock(self.settings):
            for attempt in range(self.settings.catalog_attempts):
                if not pending:
                    break
                try:
                    pending = await self._attempt(pending, results)
                except (RetryableError, ProtocolError) as exc:
                    for p in pending.values():
                        results[p.index] = ItemResult.retry(p.update.sku, exc.message)
                    pending = {}
                if pending:
                    self.context.log.info(
                        "square.catalog_conflict", retrying=len(pending), attempt=attempt + 1
                    )
        for p in pending.values():
            results[p.index] = ItemResult.retry(
                p.update.sku, "catalog object kept changing (VERSION_MISMATCH)"
            )
        return [
            r if r is not None else ItemResult.retry(u.sku, "not sent")
            for r, u in zip(results, updates, strict=True)
        ]

    async def _attempt(
        self, pending: dict[str, _Price], results: list[ItemResult | None]
    ) -> dict[str, _Price]:
        """Read, change, write once; returns the prices that met a version conflict."""
        current: dict[str, Json] = {}
        for ids in chunked(list(pending), MAX_RETRIEVE_IDS):
            for obj in await self.api.retrieve_objects(ids, "push_prices"):
                if obj.get("type") == "ITEM_VARIATION" and not obj.get("is_deleted"):
                    current[str(obj.get("id"))] = obj
        writes: list[Json] = []
        for vid, p in pending.items():
            found = current.get(vid)
            if found is None:
                results[p.index] = ItemResult.rejected(p.update.sku, f"Square has no item variation {vid}")
                continue
            data = as_dict(found.get("item_variation_data"))
            money = as_dict(data.get("price_money"))
            if money.get("currency") and money.get("currency") != p.update.currency:
                results[p.index] = ItemResult.rejected(
                    p.update.sku, f"variation is priced in {money.get('currency')}, not {p.update.currency}"
                )
            elif money.get("amount") == p.amount and data.get("pricing_type") == "FIXED_PRICING":
                results[p.index] = ItemResult.accepted(p.update.sku, p.update.price)
            else:
                writes.append(_with_price(found, p.amount, p.update.currency))
        if not writes:
            return {}
        key = "omnisync-prc-" + hashlib.sha256(
            "\x1e".join(f"{pending[str(o['id'])].update.idempotency_key}\x1f{o['id']}\x1f{o.get('version')}\x1f"
                        f"{pending[str(o['id'])].amount}" for o in writes).encode()
        ).hexdigest()[:48]  # fmt: skip
        response = await self.api.upsert_objects(key, writes)
        if response.status_code in (401, 403, 429) or response.status_code >= 500:
            raise_for_square(response, self.context.channel, "BatchUpsertCatalogObjects")
        try:
            body = response.json()
        except ValueError:
            raise ProtocolError(
                "BatchUpsertCatalogObjects answer is not JSON", channel=self.context.channel
            ) from None
        written = {str(o.get("id")) for o in (body.get("objects") or []) if isinstance(o, dict)}
        errors = square_errors(body)
        conflicted: dict[str, _Price] = {}
        for obj in writes:
            p = pending[str(obj["id"])]
            if p.variation_id in written:
                results[p.index] = ItemResult.accepted(p.update.sku, p.update.price)
                continue
            mine = [e for e in errors if p.variation_id in e.detail] or errors
            if _is_conflict(mine):
                conflicted[p.variation_id] = p
            else:
                results[p.index] = ItemResult.rejected(p.update.sku, f"Square: {describe(mine)}")
        return conflicted


def _is_conflict(errors: Sequence[SquareError]) -> bool:
    return any(e.code in CONFLICT_CODES for e in errors)


def _with_price(obj: Json, amount: int, currency: str) -> Json:
    """The whole object as read (an upsert replaces it), with the new fixed price; read-only fields out."""
    out = copy.deepcopy(obj)
    out.pop("updated_at", None)
    out.pop("is_deleted", None)
    data = out.setdefault("item_variation_data", {})
    data.pop("ordinal", None)
    data["pricing_type"] = "FIXED_PRICING"
    data["price_money"] = {"amount": amount, "currency": currency}
    return out
