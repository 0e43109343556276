"""AmazonConnector: SDK values ↔ Selling Partner API (Listings Items, JSON_LISTINGS_FEED, Orders v0).

Pushes go as ``patchListingsItem`` for up to ``feed_threshold`` items and as one JSON_LISTINGS_FEED per
25,000 items above it (see settings.py for why 300). Amazon offers neither compare-and-set nor
idempotency keys on listings, so pushes are absolute targets. A patched quantity above 0 with a known
acknowledged value reads the listing first (getListingsItem, a budget of its own): when Amazon holds
less than the engine last acknowledged, a sale the ledger has not imported yet is there, and a target
above what Amazon holds would overwrite it, whether or not it is above the acknowledged value (after an
outage, a target below the acknowledged 12 may still raise the 8 that Amazon holds after four unseen
sales). Such an item answers STALE with what Amazon holds, and the engine reads, re-plans and holds the
raise until its orders are pulled; a target at or below what Amazon holds goes out. The read and the
patch are two calls, so a sale between them can still be overwritten: the window shrinks from the
order pull's lag to the time between two requests. The feed path (more than ``feed_threshold`` items)
reads nothing first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from omnisync.sdk import (
    Capability,
    CataloguePage,
    ChannelListing,
    ConfigurationError,
    Connector,
    ConnectorContext,
    CredentialsError,
    Decrements,
    HttpOptions,
    InventoryRef,
    InventoryUpdate,
    ItemError,
    ItemResult,
    Limits,
    ListingContent,
    ListingRef,
    ListingResult,
    ListingRules,
    LocationStock,
    NotificationQueue,
    OperationLimits,
    Order,
    OrderCursor,
    OrderPage,
    Preorder,
    PriceUpdate,
    ProtocolError,
    RetryableError,
    RetryAdvice,
    WebhookEvent,
    in_flight,
)

from .catalogue import INCLUDED, PAGE_SIZE, channel_products
from .client import Json, SpApi
from .feeds import MAX_MESSAGES, FeedItem, FeedRunner, describe
from .listings import ListingWriter
from .notifications import ensure_subscriptions, parse_notification
from .orders import fba_stock, iso, normalise
from .rates import OTHER_PLANS, RATE_LIMIT_HEADER, USAGE_PLANS, seed_budgets, throttle_wait
from .settings import AmazonSettings

USER_AGENT = "omnisync/0.1 (Language=Python)"
LISTING_DATA = ("summaries", "offers", "fulfillmentAvailability")
CONCURRENCY = 10
LISTINGS_PER_PUSH = 10_000
"""Listings handed to one ``upsert_listings``: from ``feed_listings_from`` they go as feeds (10,000
products of 3 variants are 40,000 messages, two feeds submitted together)."""
"""Requests in flight per push/read; the token buckets, not this, set the pace."""


class AmazonConnector(Connector[AmazonSettings]):
    name = "amazon"
    capabilities = frozenset(
        {
            Capability.PUSH_INVENTORY,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.READ_INVENTORY,
            Capability.READ_LISTINGS,
            Capability.MANAGE_LISTINGS,
            Capability.READ_LISTING_ISSUES,
            Capability.READ_CATALOGUE,
            Capability.EXTERNAL_STOCK,
            Capability.PREORDER,  # fulfillment_availability restock_date + lead_time_to_ship_max_days
        }
    )
    Settings = AmazonSettings
    decrements = Decrements.ON_ORDER
    listing_rules = ListingRules(
        "Amazon",
        title_max=200,  # item_name
        description_max=2000,  # product_description
        html=False,
        max_images=9,  # main_product_image_locator + other_product_image_locator_1..8
        min_images=1,
        required=("title", "brand", "category", "barcode"),  # category: the product type
        conditions=("new", "used", "refurbished"),
        variant_title_max=200,
        gtin_checked=True,
    )
    limits = Limits(
        push_inventory=OperationLimits(max_batch=MAX_MESSAGES, rate=5.0, burst=5),
        push_prices=OperationLimits(max_batch=MAX_MESSAGES, rate=5.0, burst=5),
        pull_orders=OperationLimits(max_batch=100, rate=0.0167, burst=20),
        read_inventory=OperationLimits(max_batch=100, rate=5.0, burst=10),
        read_listings=OperationLimits(max_batch=100, rate=5.0, burst=10),
        push_listings=OperationLimits(max_batch=LISTINGS_PER_PUSH, rate=5.0, burst=10),
    )
    operations = frozenset(USAGE_PLANS) | frozenset(OTHER_PLANS)  # SP-API usage plans, LWA, S3

    def __init__(
        self, settings: AmazonSettings, client: httpx.AsyncClient, context: ConnectorContext
    ) -> None:
        super().__init__(settings, client, context)
        seed_budgets(context.budgets)
        self.api = SpApi(settings, client, context)
        self.feeds = FeedRunner(self.api)
        self.listings = ListingWriter(self.api, settings, self.feeds)
        self._order_items: dict[tuple[str, str], list[Json]] = {}
        self._fba_read_at: datetime | None = None

    @classmethod
    def http_options(cls, settings: AmazonSettings) -> HttpOptions:
        return HttpOptions(
            base_url=settings.base_url,
            headers={"user-agent": USER_AGENT, "accept": "application/json"},
            secrets=[settings.client_secret.get_secret_value(), settings.refresh_token.get_secret_value()],
        )

    @classmethod
    def classify(cls, response: httpx.Response) -> RetryAdvice | None:
        """429 QuotaExceeded: wait until the operation's bucket holds a token again, not a blind backoff.

        The transport pauses the operation for the advised delay and empties its bucket, so the retry
        waits 1/rate of *that* operation (2 min for createFeed, 0.2 s for patchListingsItem). A rate in
        ``x-amzn-RateLimit-Limit`` on the 429 sets the delay directly.
        """
        if response.status_code != 429:
            return None
        return RetryAdvice(throttled=True, delay=throttle_wait(response.headers.get(RATE_LIMIT_HEADER)))

    async def prepare(self) -> None:
        """Fetch an access token, then read one listing of the seller in the marketplace: refused LWA
        credentials, a seller id the application may not act for (403) and a marketplace the seller
        does not sell in (400) all surface now, each naming the setting to check."""
        await self.api.tokens.access_token()
        try:
            await self.api.search_listings_items(page_size=1)
        except CredentialsError as exc:
            raise CredentialsError(
                f"seller_id {self.settings.seller_id!r} was refused: {exc.message}",
                channel=self.context.channel,
            ) from None
        except ItemError as exc:
            raise ConfigurationError(
                f"marketplace {self.settings.marketplace_id!r} was refused for seller "
                f"{self.settings.seller_id!r}: {exc.message}",
                channel=self.context.channel,
            ) from None

    # -- listings -------------------------------------------------------------------------------------
    async def upsert_listings(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        return await self.listings.upsert(listings)

    async def unpublish_listings(self, listings: Sequence[ListingRef]) -> list[ListingResult]:
        return await self.listings.unpublish(listings)

    async def read_catalogue(self, cursor: str | None) -> CataloguePage:
        """Every listing of the seller in one page (:mod:`.catalogue`: families grouped by parent)."""
        items: list[Any] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            answer = await self.api.search_listings_items(PAGE_SIZE, INCLUDED, token)
            items += [i for i in answer.get("items") or [] if isinstance(i, dict)]
            token = (answer.get("pagination") or {}).get("nextToken")
            if not token:
                break
            if token in seen:
                raise ProtocolError(
                    "searchListingsItems: paging returned a token twice", channel=self.context.channel
                )
            seen.add(token)
        return CataloguePage(channel_products(items, self.settings.marketplace_id))

    # -- pushes ---------------------------------------------------------------------------------------
    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        code = self.settings.fulfillment_channel_code
        items: list[FeedItem] = []
        rejected: list[ItemResult] = []
        for u in updates:
            problem = _missing_product_type(u.ids) or ("negative quantity" if u.quantity < 0 else None)
            if problem:
                rejected.append(ItemResult.rejected(u.sku, problem))
                continue
            today = self.context.clock.now().date()
            entry = availability(code, u.quantity, u.preorder, today, self.settings.preorder_lead_time_days)
            patch = {"op": "replace", "path": "/attributes/fulfillment_availability", "value": [entry]}
            items.append(FeedItem(u.sku, u.channel_sku, u.ids["product_type"], patch, u.quantity))
        checked = {u.sku: u.previous for u in updates if u.previous is not None and u.quantity > 0}
        return rejected + await self._push(items, checked)

    async def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        items: list[FeedItem] = []
        rejected: list[ItemResult] = []
        for u in updates:
            problem = _missing_product_type(u.ids) or ("price must be positive" if u.price <= 0 else None)
            if problem:
                rejected.append(ItemResult.rejected(u.sku, problem))
                continue
            offer = {
                "marketplace_id": self.settings.marketplace_id,
                "currency": u.currency,
                # A JSON number; a two-decimal Decimal round-trips exactly through float's repr.
                "our_price": [{"schedule": [{"value_with_tax": float(u.price)}]}],
            }
            patch = {"op": "replace", "path": "/attributes/purchasable_offer", "value": [offer]}
            items.append(FeedItem(u.sku, u.channel_sku, u.ids["product_type"], patch, u.price))
        return rejected + await self._push(items)

    async def _push(
        self, items: Sequence[FeedItem], acknowledged: Mapping[str, int] | None = None
    ) -> list[ItemResult]:
        if not items:
            return []
        if len(items) > self.settings.feed_threshold:
            return await self.feeds.run(items)
        return await in_flight(
            (self._patch(item, (acknowledged or {}).get(item.sku)) for item in items), CONCURRENCY
        )

    async def _patch(self, item: FeedItem, acknowledged: int | None = None) -> ItemResult:
        """One patchListingsItem. With ``acknowledged`` (a quantity), the listing is read first and the
        patch sent only if it cannot overwrite a sale the engine has not seen (:func:`overwrites_sale`)."""
        try:
            if acknowledged is not None:
                live = await self.api.get_listings_item(item.channel_sku, ("fulfillmentAvailability",))
                held = self._quantity(live) if live is not None else None
                if overwrites_sale(int(item.value), acknowledged, held):
                    return ItemResult.stale(
                        item.sku, f"Amazon holds {held}, not {acknowledged}: a sale not imported yet", held
                    )
            answer = await self.api.patch_listings_item(item.channel_sku, item.product_type, [item.patch])
        except ItemError as exc:
            return ItemResult.rejected(item.sku, exc.message)
        except (RetryableError, ProtocolError) as exc:
            return ItemResult.retry(item.sku, exc.message)
        issues = answer.get("issues") if isinstance(answer.get("issues"), list) else []
        errors = [i for i in issues or [] if isinstance(i, dict) and i.get("severity") == "ERROR"]
        if answer.get("status") == "ACCEPTED" and not errors:
            return ItemResult.accepted(item.sku, item.value)
        return ItemResult.rejected(
            item.sku, f"Amazon {answer.get('status')}: {describe(errors) or 'no issue given'}"
        )

    # -- orders ---------------------------------------------------------------------------------------
    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        since = cursor.updated_after or (
            self.context.clock.now() - timedelta(days=self.settings.orders_lookback_days)
        )
        params: dict[str, str | int] = {
            "MarketplaceIds": ",".join(self.settings.marketplace_ids),
            "LastUpdatedAfter": iso(since),
            # Merchant-fulfilled orders draw on the merchant's stock; FBA (AFN) ones on an fba location,
            # when one is configured for their marketplace, else they are left out.
            "FulfillmentChannels": "MFN,AFN" if self.settings.fba_locations else "MFN",
            "MaxResultsPerPage": self.settings.orders_page_size,
        }
        if cursor.page_token:
            params["NextToken"] = cursor.page_token
        payload = await self.api.get_orders(params)
        raw_orders = payload.get("Orders")
        if not isinstance(raw_orders, list):
            raise ProtocolError("getOrders payload has no Orders list", channel=self.context.channel)
        pulled = await in_flight(
            (self._with_items(o) for o in raw_orders if isinstance(o, dict)), CONCURRENCY
        )
        token = payload.get("NextToken")
        return OrderPage(
            orders=[o for o in pulled if o is not None],
            next_page_token=token if isinstance(token, str) else None,
        )

    async def read_orders(self, external_ids: Sequence[str]) -> OrderPage:
        """The orders a notification named, each read alone (getOrder, then getOrderItems)."""

        async def one(order_id: str) -> Order | str | None:
            try:
                found = await self.api.get_order(order_id)
            except (RetryableError, ProtocolError, ItemError) as exc:
                return exc.message
            return None if found is None else await self._with_items(found)

        answers = await in_flight((one(i) for i in dict.fromkeys(external_ids)), CONCURRENCY)
        return OrderPage(
            orders=[a for a in answers if isinstance(a, Order)],
            next_page_token=None,
            failed=[
                (i, a)
                for i, a in zip(dict.fromkeys(external_ids), answers, strict=True)
                if isinstance(a, str)
            ],
        )

    # -- Fulfillment by Amazon ---------------------------------------------------------------------------
    @classmethod
    def kept_locations(cls, settings: AmazonSettings) -> dict[str, tuple[str, ...]]:
        return {code: ("fba_locations", code) for code in settings.fba_locations}

    async def read_location_stock(self, *, full: bool = True) -> list[LocationStock]:
        """getInventorySummaries per FBA marketplace (with details): the units fulfillable plus those
        Amazon holds for customer orders (the ledger reserves its imported AFN orders itself), inbound
        and reserved shown. ``full=False`` asks only what changed since the last read."""
        since = None if full else self._fba_read_at
        started = self.context.clock.now()
        out: list[LocationStock] = []
        for code, marketplace in self.settings.fba_locations.items():
            params: dict[str, str | int] = {
                "details": "true",
                "granularityType": "Marketplace",
                "granularityId": marketplace,
                "marketplaceIds": marketplace,
            }
            if since is not None:  # a minute of overlap: Amazon's clock and ours differ
                params["startDateTime"] = iso(since - timedelta(seconds=60))
            async for summary in self.api.inventory_summaries(params):
                found = fba_stock(code, summary)
                if found is not None:
                    out.append(found)
        self._fba_read_at = started
        return out

    # -- notifications (SQS) -----------------------------------------------------------------------------
    def notification_queue(self) -> NotificationQueue | None:
        wanted = self.settings.notifications
        if wanted is None:
            return None
        secret = wanted.aws_secret_access_key
        return NotificationQueue(
            url=wanted.url,
            region=wanted.region,
            endpoint=wanted.endpoint_url,
            wait_time_s=wanted.wait_time_s,
            visibility_timeout_s=wanted.visibility_timeout_s,
            dead_letter_url=wanted.dead_letter_queue_url,
            access_key_id=wanted.aws_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
        )

    async def subscribe_notifications(self) -> list[str]:
        return await ensure_subscriptions(self.api, self.settings)

    def parse_notification(self, body: str) -> list[WebhookEvent]:
        return parse_notification(body, self.settings, self.context.channel)

    async def _with_items(self, order: Json) -> Order | None:
        location = None
        if order.get("FulfillmentChannel") == "AFN":
            location = self.settings.fba_location(order.get("MarketplaceId"))
            if location is None:
                return None  # shipped from Amazon's stock, which no location stands for here
        order_id = str(order.get("AmazonOrderId"))
        key = (order_id, str(order.get("LastUpdateDate")))
        items = self._order_items.get(key)
        if items is None:
            try:
                items = await self._order_items_of(order_id)
            except ItemError as exc:
                self.context.log.warning(
                    "amazon.order_items_unavailable", order_id=order_id, reason=exc.message
                )
                return None
            if len(self._order_items) > 10_000:
                self._order_items.clear()
            self._order_items[key] = items
        return normalise(order, items, self.context.channel, location)

    async def _order_items_of(self, order_id: str) -> list[Json]:
        items: list[Json] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            payload = await self.api.get_order_items(order_id, token)
            page = payload.get("OrderItems")
            if not isinstance(page, list):
                raise ProtocolError("getOrderItems payload has no OrderItems", channel=self.context.channel)
            items.extend(i for i in page if isinstance(i, dict))
            next_token = payload.get("NextToken")
            if not isinstance(next_token, str) or next_token in seen:
                return items
            seen.add(next_token)
            token = next_token

    # -- reads ----------------------------------------------------------------------------------------
    async def read_listings(self, channel_skus: Sequence[str]) -> list[ChannelListing]:
        found = await in_flight((self._listing(sku) for sku in channel_skus), CONCURRENCY)
        return [listing for listing in found if listing is not None]

    async def read_listing_issues(self, listings: Sequence[ListingRef]) -> dict[str, tuple[str, ...]]:
        """getListingsItem (``includedData=issues``) of every variant SKU of each listing."""

        async def one(sku: str) -> tuple[str, tuple[str, ...] | None]:
            try:
                item = await self.api.get_listings_item(sku, ("issues",))
            except (RetryableError, ProtocolError, ItemError):
                return sku, None
            if item is None:
                return sku, (f"{sku}: not found in marketplace {self.settings.marketplace_id}",)
            return sku, tuple(listing_issue(sku, i) for i in item.get("issues") or [] if isinstance(i, dict))

        skus = [sku for ref in listings for sku in ref.channel_skus]
        found = dict(await in_flight((one(sku) for sku in skus), CONCURRENCY))
        out: dict[str, tuple[str, ...]] = {}
        for ref in listings:
            read = [found[sku] for sku in ref.channel_skus]
            if all(r is not None for r in read):
                out[ref.key] = tuple(text for r in read if r is not None for text in r)
        return out

    async def read_inventory(self, refs: Sequence[InventoryRef]) -> dict[str, int | None]:
        async def one(ref: InventoryRef) -> tuple[str, int | None]:
            item = await self.api.get_listings_item(ref.channel_sku, ("fulfillmentAvailability",))
            return ref.sku, (self._quantity(item) if item is not None else None)

        return dict(await in_flight((one(ref) for ref in refs), CONCURRENCY))

    async def _listing(self, sku: str) -> ChannelListing | None:
        item = await self.api.get_listings_item(sku, LISTING_DATA)
        if item is None:
            return None
        marketplace = self.settings.marketplace_id
        summary = _for_marketplace(item.get("summaries"), marketplace)
        ids = {"marketplace_id": marketplace}
        for key, field in (("asin", "asin"), ("product_type", "productType")):
            if isinstance(summary.get(field), str):
                ids[key] = summary[field]
        status = summary.get("status")
        return ChannelListing(
            channel_sku=sku,
            ids=ids,
            quantity=self._quantity(item),
            price=_price(item.get("offers"), marketplace),
            available=("BUYABLE" in status) if isinstance(status, list) else None,
        )

    def _quantity(self, item: Json) -> int | None:
        for entry in item.get("fulfillmentAvailability") or []:
            if (
                isinstance(entry, dict)
                and entry.get("fulfillmentChannelCode") == self.settings.fulfillment_channel_code
            ):
                quantity = entry.get("quantity")
                return quantity if isinstance(quantity, int) else None
        return None


def overwrites_sale(target: int, acknowledged: int, held: int | None) -> bool:
    """Whether patching ``target`` would overwrite a sale Amazon took that the engine has not imported.

    Amazon lowers its quantity as it takes an order, so holding less than ``acknowledged`` means sales
    the engine has not seen; any target above what Amazon holds would put those units back on offer,
    even one below ``acknowledged``. A target at or below what Amazon holds never shows too much.
    """
    return held is not None and held < acknowledged and target > held


def listing_issue(sku: str, issue: Json) -> str:
    """One Amazon listing issue as the merchant reads it (``SKU: [WARNING] code: message``)."""
    severity = "" if issue.get("severity") == "ERROR" else f"{issue.get('severity', 'INFO')} "
    return f"{sku}: {severity}{issue.get('code', 'issue')}: {issue.get('message', '')}"


MAX_LEAD_TIME_DAYS = 30


def availability(
    code: str, quantity: int, preorder: Preorder | None, today: date, default_lead: int
) -> dict[str, Any]:
    """One ``fulfillment_availability`` entry. With a preorder (units sold ahead of stock on order) the
    quantity includes them, and the entry says when the stock comes in (``restock_date``) and the
    handling time until then (``lead_time_to_ship_max_days``: the days to the expected date, at most
    30; ``default_lead`` without one). The patch replaces the whole attribute, so a push without a
    preorder takes both away."""
    entry: dict[str, Any] = {"fulfillment_channel_code": code, "quantity": quantity}
    if preorder is None:
        return entry
    if preorder.expected is not None:
        entry["restock_date"] = preorder.expected.isoformat()
        days = (preorder.expected - today).days
        entry["lead_time_to_ship_max_days"] = min(MAX_LEAD_TIME_DAYS, max(1, days))
    else:
        entry["lead_time_to_ship_max_days"] = default_lead
    return entry


def _missing_product_type(ids: Any) -> str | None:
    if not ids.get("product_type"):
        return "no Amazon product type known for this SKU: run SKU discovery (read_listings) first"
    return None


def _for_marketplace(entries: object, marketplace: str) -> Json:
    if not isinstance(entries, list):
        return {}
    matches = [e for e in entries if isinstance(e, dict) and e.get("marketplaceId") == marketplace]
    return matches[0] if matches else {}


def _price(offers: object, marketplace: str) -> Decimal | None:
    if not isinstance(offers, list):
        return None
    for offer in offers:
        if (
            isinstance(offer, dict)
            and offer.get("marketplaceId") == marketplace
            and offer.get("offerType") == "B2C"
        ):
            price = offer.get("price")
            try:
                return Decimal(str(price.get("amount"))) if isinstance(price, dict) else None
            except InvalidOperation:
                return None
    return None
