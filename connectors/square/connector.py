"""The Square connector: the shop floor (POS) as an omnisync channel.

One channel is one pooled quantity per SKU: a POS channel normally has one source, its store, and a
merchant with several stores configures one channel per store (``settings.locations`` may still map
several, ``InventoryUpdate.location`` then picks the Square location). Orders are pulled from every
mapped location, at most 10 location ids per SearchOrders call. See :mod:`.inventory` for the
race-safe push, :mod:`.prices`, :mod:`.orders` and :mod:`.webhooks` for the rest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from omnisync.sdk import (
    Capability,
    CataloguePage,
    ChannelListing,
    ConfigurationError,
    Connector,
    Decrements,
    HttpOptions,
    InventoryRef,
    InventoryUpdate,
    ItemResult,
    Limits,
    ListingContent,
    ListingRef,
    ListingResult,
    ListingRules,
    OperationLimits,
    OrderCursor,
    OrderPage,
    PriceUpdate,
    WebhookEvent,
    bearer_token,
    chunked,
)

from . import webhooks
from .catalogue import CatalogueReader
from .client import MAX_COUNT_IDS, MAX_ORDER_LOCATIONS, MAX_RETRIEVE_IDS, MAX_SKU_SET, Json, SquareApi
from .inventory import CALLS_IN_FLIGHT, ITEM_ID, MAX_CHANGES, VARIATION_ID, InventoryWriter
from .listings import ListingWriter
from .orders import Disposed, disposed_by_refund, normalize, refund_ids, variation_ids
from .prices import PriceWriter, from_minor
from .settings import SquareSettings
from .timefmt import parse_rfc3339, rfc3339

ADJUSTMENTS_BEFORE = timedelta(minutes=1)
"""How far before the page's first return its refunds' adjustments are asked for."""
SKU_MEMORY = 50_000


class SquareConnector(Connector[SquareSettings]):
    name: ClassVar[str] = "square"
    capabilities = frozenset(
        {
            Capability.PUSH_INVENTORY,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.ORDERED_PULL,  # SearchOrders sort UPDATED_AT ASC
            Capability.READ_INVENTORY,
            Capability.READ_LISTINGS,
            Capability.WEBHOOKS,
            Capability.IDEMPOTENT_PUSH,
            Capability.MANAGE_LISTINGS,
            Capability.READ_CATALOGUE,
            Capability.VERIFIED_PUSH,  # a delta, answered STALE unless Square then holds the target
        }
    )
    Settings = SquareSettings
    operations = frozenset({"prepare"})  # start-up reads, budgeted apart from the engine's calls
    # Square publishes no fixed rates; it answers 429 RATE_LIMITED past its limits. These budgets stay
    # well under what sellers observe (~10 requests/s), and catalog writes go one at a time.
    decrements = Decrements.ON_FULFILMENT
    listing_rules = ListingRules(
        "Square",
        title_max=512,  # CatalogItem.name
        description_max=65535,  # CatalogItem.description_html
        html=True,  # description_html: a documented subset of elements
        required=("title",),
        variant_title_max=255,  # CatalogItemVariation.name
        max_options=6,  # CatalogItem.item_options
        max_images=250,  # "no more than 250 images attached to a catalog object"
    )
    limits = Limits(
        # a push carries up to CALLS_IN_FLIGHT calls of MAX_CHANGES, sent side by side
        push_inventory=OperationLimits(max_batch=MAX_CHANGES * CALLS_IN_FLIGHT, rate=8.0, burst=8),
        push_prices=OperationLimits(max_batch=1000, rate=1.0, burst=1),
        pull_orders=OperationLimits(max_batch=1000, rate=8.0, burst=8),
        read_inventory=OperationLimits(max_batch=1000, rate=8.0, burst=8),
        read_listings=OperationLimits(max_batch=MAX_SKU_SET, rate=8.0, burst=8),
        # items per BatchUpsertCatalogObjects (one batch each, within 10,000 objects a request)
        push_listings=OperationLimits(max_batch=500, rate=1.0, burst=1),
    )

    settings: SquareSettings

    def __init__(self, settings: Any, client: Any, context: Any) -> None:
        super().__init__(settings, client, context)
        self.api = SquareApi(self.client, self.context.channel)
        self.inventory = InventoryWriter(self.api, self.settings, self.context)
        self.prices = PriceWriter(self.api, self.settings, self.context)
        self.listings = ListingWriter(self.api, self.settings, self.context)
        self._skus: OrderedDict[str, str] = OrderedDict()
        """Variation id -> SKU, for order lines (Square orders name variations, not SKUs)."""

    @classmethod
    def http_options(cls, settings: SquareSettings) -> HttpOptions:
        return bearer_token(settings.access_token).http_options(
            settings.api_base_url,
            {"Square-Version": settings.square_version, "Accept": "application/json"},
        )

    async def prepare(self) -> None:
        locations = {str(loc.get("id")): loc for loc in await self.api.list_locations()}
        missing = [f"{code}={sq}" for code, sq in self.settings.locations.items() if sq not in locations]
        if missing:
            raise ConfigurationError(
                f"Square has no location {', '.join(missing)} for this access token "
                f"(known: {', '.join(sorted(locations)) or 'none'})",
                channel=self.context.channel,
            )
        inactive = [
            f"{c}={sq}"
            for c, sq in self.settings.locations.items()
            if locations[sq].get("status") == "INACTIVE"
        ]
        if inactive:
            raise ConfigurationError(
                f"Square location {', '.join(inactive)} is INACTIVE", channel=self.context.channel
            )

    # -- pushes ----------------------------------------------------------------------------------
    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        return await self.inventory.push(updates)

    async def upsert_listings(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        return await self.listings.upsert(listings)

    async def unpublish_listings(self, listings: Sequence[ListingRef]) -> list[ListingResult]:
        return await self.listings.unpublish(listings)

    async def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        return await self.prices.push(updates)

    # -- reads -----------------------------------------------------------------------------------
    async def read_inventory(self, refs: Sequence[InventoryRef]) -> dict[str, int | None]:
        return await self.inventory.read(refs)

    async def read_catalogue(self, cursor: str | None) -> CataloguePage:
        return await CatalogueReader(self.api).page(cursor)

    async def read_listings(self, channel_skus: Sequence[str]) -> list[ChannelListing]:
        found: dict[str, Json] = {}
        wanted = {s.lower(): s for s in channel_skus}
        for skus in chunked(list(dict.fromkeys(channel_skus)), MAX_SKU_SET):
            cursor: str | None = None
            seen: set[str] = set()
            while True:
                objects, cursor = await self.api.search_variations(skus, cursor)
                for obj in objects:
                    data = obj.get("item_variation_data") or {}
                    sku = wanted.get(str(data.get("sku") or "").lower())
                    if sku and sku not in found and not obj.get("is_deleted"):
                        found[sku] = obj
                if cursor is None or cursor in seen:
                    break
                seen.add(cursor)
        location = self.settings.square_location(None)
        counts = (
            await self.inventory.live_counts(
                [(str(o["id"]), location) for o in found.values()], "read_listings"
            )
            if location and found
            else {}
        )
        listings = []
        for sku, obj in found.items():
            data = obj.get("item_variation_data") or {}
            money = data.get("price_money") if isinstance(data.get("price_money"), dict) else None
            self._remember(str(obj["id"]), str(data.get("sku") or sku))
            listings.append(
                ChannelListing(
                    channel_sku=sku,
                    ids={VARIATION_ID: str(obj["id"]), ITEM_ID: str(data.get("item_id") or "")},
                    quantity=counts.get((str(obj["id"]), location)) if location else None,
                    price=from_minor(money["amount"], str(money.get("currency"))) if money else None,
                    available=None,
                )
            )
        return listings

    # -- orders ----------------------------------------------------------------------------------
    async def aclose(self) -> None:
        await self.listings.fetcher.aclose()
        await super().aclose()

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        """Page token ``<chunk>:<square cursor>``: location chunks of 10 are read one after the other."""
        chunks = list(chunked(list(self.settings.locations.values()), MAX_ORDER_LOCATIONS))
        chunk, _, square_cursor = (cursor.page_token or "0:").partition(":")
        index = int(chunk) if chunk.isdigit() and int(chunk) < len(chunks) else 0
        since = rfc3339(cursor.updated_after) if cursor.updated_after else None
        raw, next_cursor = await self.api.search_orders(
            chunks[index], since, square_cursor or None, self.settings.orders_page_size
        )
        await self._learn_skus(set().union(*(variation_ids(o) for o in raw)) if raw else set())
        disposed = await self._return_dispositions(raw)
        orders = [normalize(o, self.settings, self._skus, disposed.get(str(o.get("id")))) for o in raw]
        if next_cursor:
            token: str | None = f"{index}:{next_cursor}"
        elif index + 1 < len(chunks):
            token = f"{index + 1}:"
        else:
            token = None
        return OrderPage(orders=orders, next_page_token=token)

    async def _return_dispositions(self, raw: list[Json]) -> dict[str, Disposed]:
        """For the page's return orders, what their refunds' inventory adjustments did with the
        returned units (IN_STOCK, WASTE): one read of the adjustments of their variations at their
        stores since a minute before the first of them (BatchRetrieveInventoryChanges, paged; its
        ``updated_after`` is exclusive, and an adjustment is journalled with its return). A return with
        refunds and no adjustment comes back as {} (nothing restocked), one without refunds as None."""
        returns = [(o, ids) for o in raw if (ids := refund_ids(o))]
        if not returns:
            return {}
        refunds = {rid: str(o["id"]) for o, ids in returns for rid in ids}
        first = min(
            parse_rfc3339(o.get("created_at"))
            or parse_rfc3339(o.get("updated_at"))
            or self.context.clock.now()
            for o, _ in returns
        )
        since = rfc3339(first - ADJUSTMENTS_BEFORE)
        locations = sorted({str(o.get("location_id")) for o, _ in returns})
        variations = sorted(set().union(*(variation_ids(o) for o, _ in returns)))
        found: list[Json] = []
        for batch in chunked(variations, MAX_COUNT_IDS):
            cursor: str | None = None
            while True:
                page, cursor = await self.api.retrieve_adjustments(
                    batch, locations, since, cursor, "pull_orders"
                )
                found.extend(page)
                if cursor is None:
                    break
        disposed = disposed_by_refund(found, refunds)
        return {str(o["id"]): disposed.get(str(o["id"]), {}) for o, _ in returns}

    async def _learn_skus(self, ids: set[str]) -> None:
        unknown = [i for i in ids if i not in self._skus]
        for batch in chunked(unknown, MAX_RETRIEVE_IDS):
            for obj in await self.api.retrieve_objects(batch, "pull_orders", include_deleted=True):
                data = obj.get("item_variation_data") or {}
                if obj.get("type") == "ITEM_VARIATION" and data.get("sku"):
                    self._remember(str(obj["id"]), str(data["sku"]))

    def _remember(self, variation_id: str, sku: str) -> None:
        self._skus[variation_id] = sku
        self._skus.move_to_end(variation_id)
        while len(self._skus) > SKU_MEMORY:
            self._skus.popitem(last=False)

    # -- webhooks --------------------------------------------------------------------------------
    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, url: str | None = None
    ) -> list[WebhookEvent]:
        key = self.settings.webhook_signature_key
        webhooks.verify(
            headers, body, self.settings.notification_url or url, key.get_secret_value() if key else None
        )
        return webhooks.events(body)
