"""The Instagram shop connector: SDK values <-> Meta catalog Batch API and Commerce orders."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from omnisync.sdk import (
    Capability,
    CataloguePage,
    ChannelListing,
    ConfigurationError,
    Connector,
    ConnectorContext,
    Decrements,
    HttpOptions,
    InventoryRef,
    InventoryUpdate,
    ItemError,
    ItemResult,
    ItemStatus,
    Limits,
    ListingContent,
    ListingRef,
    ListingResult,
    ListingRules,
    OperationLimits,
    Order,
    OrderCursor,
    OrderPage,
    PriceUpdate,
    RetryAdvice,
    bearer_token,
    chunked,
    idempotency_key,
)

from .batch import BatchPusher, Outcome
from .catalogue import CATALOGUE_FIELDS, channel_products
from .client import ACKNOWLEDGE_BATCH, GraphClient, JSONDict
from .fields import (
    ORDER_EDGES,
    PUBLISHED,
    STATE_CREATED,
    availability_for,
    format_price,
    parse_price,
    visibility_for,
)
from .graph import MAX_INLINE_WAIT_S, graph_error, throttle_wait
from .listing_fields import METHOD_CREATE, hide_data, item_data
from .orders import normalise_order
from .settings import DEFAULT_BATCH, InstagramSettings

LISTINGS_PER_CALL = 1000
"""Products per ``upsert_listings`` call: with their variants, within one items_batch call's requests."""
READ_CHUNK = 100
"""Retailer ids per ``/products`` filter (keeps the query string short)."""


class InstagramConnector(Connector[InstagramSettings]):
    name = "instagram"
    capabilities = frozenset(
        {
            Capability.PUSH_INVENTORY,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.READ_INVENTORY,
            Capability.READ_LISTINGS,
            Capability.PUBLISH_LISTINGS,
            Capability.MANAGE_LISTINGS,
            Capability.READ_CATALOGUE,
            Capability.PREORDER,  # availability "preorder" once only units on order are left
        }
    )
    Settings = InstagramSettings
    # One items_batch call carries a whole engine batch; its status polls share that budget and give
    # way to submissions. Meta budgets catalog-batch calls per hour: the declared pace (2 calls a
    # second, burst 8) only spreads bursts, and the usage headers slow it from 75 % of the hourly
    # budget (GraphClient._observe). Up to four batches settle at once: a new decrease is submitted
    # while earlier batches are processed (see OperationLimits.in_flight). Rates are powers of two on
    # purpose: see GraphClient._dyadic.
    decrements = Decrements.ON_ORDER
    listing_rules = ListingRules(
        "Meta",
        title_max=200,
        description_max=9999,
        html=False,
        max_images=21,  # image_link + 20 additional_image_link
        min_images=1,
        required=("title", "description", "brand", "link", "images"),
        conditions=("new", "used", "refurbished"),  # of ProductItem_condition
        variant_title_max=200,
    )
    limits = Limits(
        push_inventory=OperationLimits(max_batch=DEFAULT_BATCH, rate=2.0, burst=8, in_flight=4),
        push_prices=OperationLimits(max_batch=DEFAULT_BATCH, rate=2.0, burst=8),
        pull_orders=OperationLimits(max_batch=1, rate=8.0, burst=16),
        read_inventory=OperationLimits(max_batch=READ_CHUNK, rate=4.0, burst=8),
        read_listings=OperationLimits(max_batch=READ_CHUNK, rate=4.0, burst=8),
        # listings (products) per call; their variants ride the same items_batch calls
        push_listings=OperationLimits(max_batch=LISTINGS_PER_CALL, rate=2.0, burst=8),
    )

    def __init__(self, settings: Any, client: httpx.AsyncClient, context: ConnectorContext) -> None:
        super().__init__(settings, client, context)
        self.graph = GraphClient(client, settings, context, self.limits)
        self._pusher = BatchPusher(
            self.graph,
            context.clock,
            context.log,
            batch_size=settings.batch_size,
            poll_s=settings.batch_poll_interval_s,
            timeout_s=settings.batch_timeout_s,
        )

    # -- HTTP wiring ---------------------------------------------------------------------------------
    @classmethod
    def http_options(cls, settings: InstagramSettings) -> HttpOptions:
        return bearer_token(settings.access_token).http_options(
            settings.api_root, {"Accept": "application/json"}
        )

    @classmethod
    def classify(cls, response: httpx.Response) -> RetryAdvice | None:
        """Meta throttles with an error body (often HTTP 400/403): codes 4, 17, 32, 613, 80000-80014."""
        error = graph_error(response)
        if error is None or not error.throttled:
            return None
        wait = throttle_wait(response)
        if wait > MAX_INLINE_WAIT_S:
            return None  # too long to wait inside one call: the connector raises ThrottledError instead
        return RetryAdvice(throttled=True, delay=wait)

    # -- lifecycle -----------------------------------------------------------------------------------
    async def prepare(self) -> None:
        for node_id, what in (
            (self.settings.catalog_id, "catalog"),
            (self.settings.commerce_merchant_settings_id, "commerce merchant settings"),
        ):
            try:
                await self.graph.node(node_id, ("id",), what)
            except ItemError as exc:
                raise ConfigurationError(
                    f"{what} {node_id}: {exc.message}", channel=self.context.channel
                ) from None

    # -- pushes --------------------------------------------------------------------------------------
    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        requests: dict[str, dict[str, Any]] = {}
        for update in updates:
            rid = update.channel_sku.strip()
            if not rid:
                continue
            quantity = max(0, update.quantity)
            data: dict[str, Any] = {
                "id": rid,
                "inventory": quantity,
                "availability": availability_for(quantity, update.preorder.units if update.preorder else 0),
            }
            visibility = visibility_for(update.available)
            if visibility is not None:
                data["visibility"] = visibility
            requests[rid] = data
        outcomes = await self._pusher.run(requests, "push_inventory") if requests else {}
        owners = _owners(updates)
        return [
            _result(update.sku, outcomes.get(update.channel_sku.strip()), max(0, update.quantity))
            if owners.get(update.channel_sku.strip()) == update.sku
            else ItemResult.rejected(update.sku, _SHARED)
            for update in updates
        ]

    async def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        requests: dict[str, dict[str, Any]] = {}
        invalid: dict[str, str] = {}
        for update in updates:
            rid = update.channel_sku.strip()
            if not rid:
                continue
            currency = (update.currency or self.settings.currency).upper()
            regular, sale = update.price, None
            if update.compare_at is not None and update.compare_at > update.price:
                regular, sale = update.compare_at, update.price  # Meta: price = regular, sale_price = offer
            try:
                data = {
                    "id": rid,
                    "price": format_price(regular, currency),
                    # An empty sale_price clears an earlier one, so an old offer never outlives its rule.
                    "sale_price": format_price(sale, currency) if sale is not None else "",
                }
            except ValueError as exc:
                invalid[update.sku] = str(exc)
                continue
            requests[rid] = data
        outcomes = await self._pusher.run(requests, "push_prices") if requests else {}
        results = []
        owners = _owners(updates)
        for update in updates:
            if update.sku in invalid:
                results.append(ItemResult.rejected(update.sku, invalid[update.sku]))
            elif owners.get(update.channel_sku.strip()) != update.sku:
                results.append(ItemResult.rejected(update.sku, _SHARED))
            else:
                results.append(_result(update.sku, outcomes.get(update.channel_sku.strip()), update.price))
        return results

    # -- listings ------------------------------------------------------------------------------------
    async def upsert_listings(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        """One items_batch request per variant: CREATE for a variant Meta does not have yet, else
        UPDATE; a listing is accepted when every one of its variants is."""
        requests: dict[str, dict[str, Any]] = {}
        methods: dict[str, str] = {}
        for listing in listings:
            for v in listing.variants:
                create = not v.ids
                requests[v.channel_sku] = item_data(listing, v, create=create)
                if create:
                    methods[v.channel_sku] = METHOD_CREATE
        outcomes = await self._pusher.run(requests, "push_listings", methods) if requests else {}
        return [
            _listing_result(listing.key, [v.channel_sku for v in listing.variants], outcomes)
            for listing in listings
        ]

    async def unpublish_listings(self, listings: Sequence[ListingRef]) -> list[ListingResult]:
        """Every variant to ``staging``: out of the shop, still in the catalog."""
        requests = {sku: hide_data(sku) for ref in listings for sku in ref.channel_skus}
        outcomes = await self._pusher.run(requests, "push_listings") if requests else {}
        return [_listing_result(ref.key, list(ref.channel_skus), outcomes) for ref in listings]

    async def read_catalogue(self, cursor: str | None) -> CataloguePage:
        """The whole catalog in one page (:mod:`.catalogue`: items grouped into products)."""
        rows = await self.graph.catalogue(CATALOGUE_FIELDS, "read_listings")
        return CataloguePage(channel_products(rows))

    # -- reads ---------------------------------------------------------------------------------------
    async def _products(self, retailer_ids: Sequence[str], operation: str) -> dict[str, JSONDict]:
        wanted = {rid for rid in retailer_ids if rid}
        found: dict[str, JSONDict] = {}
        for chunk in chunked(sorted(wanted), READ_CHUNK):
            for row in await self.graph.products(chunk, operation):
                rid = str(row.get("retailer_id", ""))
                if rid in wanted:
                    found[rid] = row
        return found

    async def read_listings(self, channel_skus: Sequence[str]) -> list[ChannelListing]:
        products = await self._products(channel_skus, "read_listings")
        listings = []
        for rid, row in products.items():
            inventory = row.get("inventory")
            visibility = row.get("visibility")
            listings.append(
                ChannelListing(
                    channel_sku=rid,
                    ids={"product_item_id": str(row.get("id", "")), "retailer_id": rid},
                    quantity=int(inventory) if isinstance(inventory, int) else None,
                    price=parse_price(row.get("price")),
                    available=(visibility == PUBLISHED) if isinstance(visibility, str) else None,
                )
            )
        return listings

    async def read_inventory(self, refs: Sequence[InventoryRef]) -> dict[str, int | None]:
        products = await self._products([ref.channel_sku for ref in refs], "read_inventory")
        result: dict[str, int | None] = {}
        for ref in refs:
            inventory = products.get(ref.channel_sku, {}).get("inventory")
            result[ref.sku] = int(inventory) if isinstance(inventory, int) else None
        return result

    # -- orders --------------------------------------------------------------------------------------
    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        """One page of orders, read with their edges in the list call; an edge longer than the inline
        page is read on its own (the calls go side by side, paced by the pull budget). The new orders
        are then acknowledged in batches."""
        page, next_token = await self.graph.commerce_orders(cursor.updated_after, cursor.page_token)
        built = await asyncio.gather(*(self._order(raw) for raw in page), return_exceptions=True)
        orders: list[Order] = []
        for order in built:
            if isinstance(order, BaseException):
                raise order  # a failure fails the page once every read has ended
            orders.append(order)
        if self.settings.acknowledge_orders:
            await self._acknowledge([str(raw["id"]) for raw in page if _state(raw) == STATE_CREATED])
        return OrderPage(orders=orders, next_page_token=next_token)

    async def _order(self, raw: JSONDict) -> Order:
        order_id = str(raw["id"])
        edges: dict[str, list[JSONDict]] = {}
        for edge in ORDER_EDGES:
            inline = raw.get(edge)
            complete = isinstance(inline, dict) and isinstance(inline.get("data"), list)
            paging = inline.get("paging") if isinstance(inline, dict) else None
            if complete and not (isinstance(paging, dict) and paging.get("next")):
                edges[edge] = [row for row in inline["data"] if isinstance(row, dict)]  # type: ignore[index]
        missing = [edge for edge in ORDER_EDGES if edge not in edges]
        edges.update(
            zip(
                missing,
                await asyncio.gather(*(self.graph.order_edge(order_id, e) for e in missing)),
                strict=True,
            )
        )
        return normalise_order(
            raw,
            edges["items"],
            cancellations=edges["cancellations"],
            refunds=edges["refunds"],
            shipments=edges["shipments"],
        )

    async def _acknowledge(self, order_ids: Sequence[str]) -> None:
        """Acknowledge after the page is built, :data:`ACKNOWLEDGE_BATCH` orders a call. The key names
        the batch, so a batch sent again after a lost answer or a crash changes nothing. A transient
        failure raises (the page is pulled again); an order refused on its own is logged and skipped."""
        for batch in chunked(order_ids, ACKNOWLEDGE_BATCH):
            key = idempotency_key(self.context.channel, ",".join(batch), 0, kind="acknowledge")
            try:
                answers = await self.graph.acknowledge_orders(batch, key)
            except ItemError as refused:
                self.context.log.warning(
                    "instagram.acknowledge_refused", orders=len(batch), reason=refused.message
                )
                continue
            for answer in answers:
                error = answer.get("error")
                if error is not None:
                    reason = error.get("message") if isinstance(error, dict) else error
                    self.context.log.warning(
                        "instagram.acknowledge_refused", order_id=answer.get("id"), reason=str(reason)
                    )


_SHARED = "another SKU in this batch maps to the same retailer id; the last one was sent"


def _owners(updates: Sequence[InventoryUpdate] | Sequence[PriceUpdate]) -> dict[str, str]:
    """Retailer id -> the master SKU whose update was sent (the last one wins)."""
    return {u.channel_sku.strip(): u.sku for u in updates}


def _state(order: Mapping[str, Any]) -> str:
    status = order.get("order_status")
    return str(status.get("state", "")) if isinstance(status, dict) else ""


def _listing_result(key: str, retailer_ids: Sequence[str], outcomes: Mapping[str, Outcome]) -> ListingResult:
    """One listing's answer from its variants' outcomes (Meta's per-item errors, by retailer id)."""
    if not retailer_ids:
        return ListingResult.rejected(key, "a listing needs at least one variant")
    got = {rid: outcomes.get(rid) for rid in retailer_ids}
    refused = [
        f"{rid}: {o.reason}" for rid, o in got.items() if o is not None and o.status is ItemStatus.REJECTED
    ]
    if refused:
        return ListingResult.rejected(key, *refused)
    if all(o is not None and o.status is ItemStatus.ACCEPTED for o in got.values()):
        variants = {rid: {"retailer_id": rid} for rid in retailer_ids}
        remarks = tuple(f"{rid}: {w}" for rid, o in got.items() if o is not None for w in o.warnings)
        return ListingResult.accepted(key, {"retailer_product_group_id": key}, variants, remarks)
    waiting = [
        f"{rid}: {o.reason if o else 'no answer'}"
        for rid, o in got.items()
        if o is None or o.status is not ItemStatus.ACCEPTED
    ]
    return ListingResult.retry(key, "; ".join(waiting))


def _result(sku: str, outcome: Outcome | None, value: int | Decimal) -> ItemResult:
    if outcome is None:
        return ItemResult.rejected(sku, "no retailer id (channel SKU) for this item")
    if outcome.status is ItemStatus.ACCEPTED:
        return ItemResult.accepted(sku, value)
    if outcome.status is ItemStatus.REJECTED:
        return ItemResult.rejected(sku, outcome.reason or "rejected by Meta")
    return ItemResult.retry(sku, outcome.reason or "try again later")
