"""The Instagram shop connector: SDK values <-> Meta catalog Batch API and Commerce orders."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx

from omnisync.sdk import (
    Capability,
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
from .client import GraphClient, JSONDict
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
from .orders import normalise_order, parse_time
from .settings import DEFAULT_BATCH, InstagramSettings

READ_CHUNK = 100
"""Retailer ids per ``/products`` filter (keeps the query string short)."""
ORDERS_REMEMBERED = 10_000
"""Orders kept with their edges between pulls (the overlap window reads them again)."""
SETTLED_S = timedelta(seconds=2)
"""How long after its ``last_updated`` an order read is remembered: a stamp counts whole seconds, so
a change stamped S happened before S + 1; 2 s leaves a further second for the clocks to differ."""


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
    )

    def __init__(self, settings: Any, client: httpx.AsyncClient, context: ConnectorContext) -> None:
        super().__init__(settings, client, context)
        self.graph = GraphClient(client, settings, context, self.limits)
        self._orders: OrderedDict[str, tuple[tuple[str, str], Order]] = OrderedDict()
        """Order id -> ((last_updated, state), the order as normalised then), least recent first."""
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
                "availability": availability_for(quantity),
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
        page, next_token = await self.graph.commerce_orders(cursor.updated_after, cursor.page_token)
        states = [_state(raw) for raw in page]
        # the orders of a page are read side by side (the pull budget paces the calls); a failure
        # fails the page once every read has ended, as a sequential read would have
        built = await asyncio.gather(
            *(self._order(raw, state) for raw, state in zip(page, states, strict=True)),
            return_exceptions=True,
        )
        orders: list[Order] = []
        for order in built:
            if isinstance(order, BaseException):
                raise order
            orders.append(order)
        to_acknowledge = [
            str(raw["id"]) for raw, state in zip(page, states, strict=True) if state == STATE_CREATED
        ]
        if self.settings.acknowledge_orders:
            await self._acknowledge(to_acknowledge)
        return OrderPage(orders=orders, next_page_token=next_token)

    async def _order(self, raw: JSONDict, state: str) -> Order:
        """The order with its edges (items, cancellations, refunds, shipments): one call per edge,
        unless the order is unchanged since it was last read.

        Every pull reads the orders of its overlap window again; Meta moves ``last_updated`` with
        every change to an order (a cancellation, a refund, a shipment, its state), so an order read
        before with the same ``last_updated`` is taken from memory instead of four more calls. The
        stamp counts whole seconds: an order is remembered only when read :data:`SETTLED_S` after
        its stamp, so that a change within the same second (or a clock apart by less) is never missed.
        """
        order_id, stamp = str(raw["id"]), str(raw.get("last_updated") or "")
        known = self._orders.get(order_id)
        if known is not None and stamp and known[0] == (stamp, state):
            self._orders.move_to_end(order_id)
            return known[1]
        # nothing ships before the order is acknowledged
        wanted = [
            e for e in ORDER_EDGES if not (e == "shipments" and state in ("FB_PROCESSING", STATE_CREATED))
        ]
        edges: dict[str, list[JSONDict]] = {key: [] for key in ORDER_EDGES}
        edges.update(
            zip(
                wanted,
                await asyncio.gather(*(self.graph.order_edge(order_id, e) for e in wanted)),
                strict=True,
            )
        )
        order = normalise_order(
            raw,
            edges["items"],
            cancellations=edges["cancellations"],
            refunds=edges["refunds"],
            shipments=edges["shipments"],
        )
        updated = parse_time(raw.get("last_updated"))
        if stamp and updated is not None and self.context.clock.now() - updated >= SETTLED_S:
            self._orders[order_id] = ((stamp, state), order)
            while len(self._orders) > ORDERS_REMEMBERED:
                self._orders.popitem(last=False)
        return order

    async def _acknowledge(self, order_ids: Sequence[str]) -> None:
        """Acknowledge after the page is built. A transient failure raises (the page is pulled again and
        the same idempotency key makes the repeat harmless); a refused order is logged and skipped.
        The calls go side by side, paced by the pull budget."""
        answers = await asyncio.gather(
            *(
                self.graph.acknowledge(oid, idempotency_key(self.context.channel, oid, 0, kind="acknowledge"))
                for oid in order_ids
            ),
            return_exceptions=True,
        )
        for order_id, answer in zip(order_ids, answers, strict=True):
            if isinstance(answer, ItemError):
                self.context.log.warning(
                    "instagram.acknowledge_refused", order_id=order_id, reason=answer.message
                )
            elif isinstance(answer, BaseException):
                raise answer


_SHARED = "another SKU in this batch maps to the same retailer id; the last one was sent"


def _owners(updates: Sequence[InventoryUpdate] | Sequence[PriceUpdate]) -> dict[str, str]:
    """Retailer id -> the master SKU whose update was sent (the last one wins)."""
    return {u.channel_sku.strip(): u.sku for u in updates}


def _state(order: Mapping[str, Any]) -> str:
    status = order.get("order_status")
    return str(status.get("state", "")) if isinstance(status, dict) else ""


def _result(sku: str, outcome: Outcome | None, value: int | Decimal) -> ItemResult:
    if outcome is None:
        return ItemResult.rejected(sku, "no retailer id (channel SKU) for this item")
    if outcome.status is ItemStatus.ACCEPTED:
        return ItemResult.accepted(sku, value)
    if outcome.status is ItemStatus.REJECTED:
        return ItemResult.rejected(sku, outcome.reason or "rejected by Meta")
    return ItemResult.retry(sku, outcome.reason or "try again later")
