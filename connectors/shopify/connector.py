"""The Shopify connector (GraphQL Admin API 2026-04): SDK values <-> Admin API documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any, ClassVar

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
    ProtocolError,
    RetryAdvice,
    WebhookEvent,
    api_key_header,
    chunked,
    in_flight,
)

from . import answers, webhooks
from . import documents as docs
from .bulk import BulkRunner
from .catalogue import CatalogueReader
from .client import AdminGraphQL, QueryTooCostly
from .listings import ListingWriter
from .orders import RETURNS_RECEIVED, dispositions_of, from_graphql
from .prices import push_price_groups, set_inventory_policies
from .settings import ShopifySettings
from .throttle import is_throttled, throttle_delay

MAX_INPUT_ARRAY = 250
"""Shopify refuses input arrays longer than this."""
CALLS_IN_FLIGHT = 16
"""Mutations of one push awaiting their answers at once. Shopify paces by points, not by connections:
each call still waits for its points in the local model of the cost bucket, so the bucket sets the
pace and the round trips overlap (at 10 points a call and 100 points/s, 16 in flight keep the Standard
bucket busy up to a 1.6 s round trip)."""
SKUS_PER_SEARCH = 50
LISTINGS_PER_PUSH = 10_000
"""Listings handed to one ``upsert_listings``: one bulk operation's JSONL (about 1.3 kB a 3-variant
product, so some 13 MB, well under the staged upload's limit)."""
VARIANTS_PER_PAGE = 100


class ShopifyConnector(Connector[ShopifySettings]):
    name = "shopify"
    capabilities = frozenset(
        {
            Capability.PUSH_INVENTORY,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.ORDERED_PULL,  # orders(sortKey: UPDATED_AT), ascending
            Capability.READ_INVENTORY,
            Capability.READ_LISTINGS,
            Capability.WEBHOOKS,
            Capability.COMPARE_AND_SET,
            Capability.IDEMPOTENT_PUSH,
            Capability.MANAGE_LISTINGS,
            Capability.READ_CATALOGUE,
            Capability.PREORDER,  # the variant's inventoryPolicy CONTINUE, the limit kept by omnisync
        }
    )
    Settings = ShopifySettings
    # Call budgets for the Standard plan, scaled to the configured plan on start. Shopify limits points,
    # not calls: the cost bucket in client.AdminGraphQL is the real pace. These caps sit where they can
    # never bind first (every call costs at least one point, so at most 100 calls/s at 100 points/s),
    # and a pause after a THROTTLED answer costs no more than the points it waits for.
    decrements = Decrements.ON_ORDER
    listing_rules = ListingRules(
        "Shopify",
        title_max=255,  # Product.title
        html=True,  # descriptionHtml
        max_images=250,  # media per product
        required=("title",),
        max_options=3,
        max_variants=2048,
        variant_title_max=255,
    )
    limits = Limits(
        # a push carries up to CALLS_IN_FLIGHT input arrays, sent side by side
        push_inventory=OperationLimits(max_batch=MAX_INPUT_ARRAY * CALLS_IN_FLIGHT, rate=100.0, burst=200),
        push_prices=OperationLimits(max_batch=MAX_INPUT_ARRAY, rate=100.0, burst=200),
        pull_orders=OperationLimits(max_batch=1, rate=100.0, burst=100),
        read_inventory=OperationLimits(max_batch=MAX_INPUT_ARRAY, rate=100.0, burst=100),
        read_listings=OperationLimits(max_batch=SKUS_PER_SEARCH, rate=100.0, burst=100),
        push_listings=OperationLimits(max_batch=LISTINGS_PER_PUSH, rate=100.0, burst=100),
    )
    settings: ShopifySettings
    _OPERATIONS: ClassVar[tuple[str, ...]] = (
        "push_inventory",
        "push_prices",
        "pull_orders",
        "read_inventory",
        "read_listings",
        "push_listings",
    )

    def __init__(
        self, settings: ShopifySettings, client: httpx.AsyncClient, context: ConnectorContext
    ) -> None:
        super().__init__(settings, client, context)
        factor = settings.restore_rate / 100.0
        for operation in self._OPERATIONS:
            base = self.limits.for_operation(operation)
            context.budgets.adjust(operation, rate=base.rate * factor, burst=base.burst * factor)
        self.graphql = AdminGraphQL(client, context, settings)
        bulk = BulkRunner(
            self.graphql,
            client,
            context,
            poll_interval_s=settings.bulk_poll_interval_s,
            timeout_s=settings.bulk_timeout_s,
        )
        self.listings = ListingWriter(
            self.graphql, settings.publication_id, bulk, settings.bulk_listings_from
        )
        self._orders_page_size = settings.orders_page_size

    @classmethod
    def http_options(cls, settings: ShopifySettings) -> HttpOptions:
        token = api_key_header(settings.access_token, header="X-Shopify-Access-Token")
        return token.http_options(settings.base_url, {"Accept": "application/json"})

    @classmethod
    def classify(cls, response: httpx.Response) -> RetryAdvice | None:
        """Shopify answers a throttled query with HTTP 200 and ``THROTTLED``; wait for the points."""
        try:
            body = response.json()
        except ValueError:
            return None
        if not is_throttled(body):
            return None
        delay = throttle_delay(body)
        return RetryAdvice(throttled=True, delay=delay if delay is not None else 1.0)

    # -- lifecycle -------------------------------------------------------------------------------
    async def prepare(self) -> None:
        ids = list(dict.fromkeys(self.settings.locations.values()))
        answer = await self.graphql.execute(
            docs.LOCATIONS, {"ids": ids}, operation="read_listings", estimate=len(ids), name="locations"
        )
        nodes = answer.data.get("nodes")
        if not isinstance(nodes, list) or len(nodes) != len(ids):
            raise ProtocolError("locations answer does not match the ids asked", channel=self.context.channel)
        found = {n["id"]: n for n in nodes if isinstance(n, Mapping) and isinstance(n.get("id"), str)}
        for code, gid in self.settings.locations.items():
            node = found.get(gid)
            if node is None:
                raise ConfigurationError(
                    f"location {code!r}: {gid} does not exist in the shop", channel=self.context.channel
                )
            if node.get("isActive") is False:
                raise ConfigurationError(
                    f"location {code!r}: {gid} is deactivated", channel=self.context.channel
                )

    # -- inventory -------------------------------------------------------------------------------
    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        results: dict[int, ItemResult] = {}
        ready: list[tuple[int, InventoryUpdate, str, str]] = []
        seen: set[tuple[str, str]] = set()
        for index, update in enumerate(updates):
            item_id = update.ids.get("inventory_item_id")
            location = self.settings.location_gid(update.location)
            if not item_id:
                results[index] = ItemResult.rejected(
                    update.sku, "no inventory_item_id known: read the listing first"
                )
            elif location is None:
                results[index] = ItemResult.rejected(
                    update.sku,
                    f"ledger location {update.location!r} has no Shopify location in settings.locations",
                )
            elif (item_id, location) in seen:
                results[index] = ItemResult.rejected(
                    update.sku, "the same inventory item and location twice in one push"
                )
            else:
                seen.add((item_id, location))
                ready.append((index, update, item_id, location))
        # a preorder is the variant's inventory policy (CONTINUE: it sells on when out of stock), set
        # before its quantity; omnisync keeps the limit: the quantity holds the units it may sell ahead
        # of stock, and the policy goes back to DENY with the preorder
        signals = [(index, u) for index, u, _, _ in ready if u.preorder_changed]
        if signals:
            failed = await set_inventory_policies(self.graphql, [u for _, u in signals])
            refused = {
                index for (index, _), result in zip(signals, failed, strict=True) if result is not None
            }
            for (index, _), result in zip(signals, failed, strict=True):
                if result is not None:
                    results[index] = result
            ready = [r for r in ready if r[0] not in refused]
        # each input array answers for its own items; decreases lead (the engine orders them first)
        await in_flight(
            (self._set_quantities(list(chunk), results) for chunk in chunked(ready, MAX_INPUT_ARRAY)),
            CALLS_IN_FLIGHT,
        )
        return [results[i] for i in range(len(updates))]

    async def _set_quantities(
        self, pending: list[tuple[int, InventoryUpdate, str, str]], results: dict[int, ItemResult]
    ) -> None:
        # inventorySetQuantities applies all quantities or none. Items carrying their own userErrors are
        # answered (stale, rejected) and the rest sent again, so one bad item never holds the batch.
        for _ in range(3):
            quantities = [
                {
                    "inventoryItemId": item,
                    "locationId": loc,
                    "quantity": u.quantity,
                    "changeFromQuantity": u.previous,
                }
                for _, u, item, loc in pending
            ]
            variables = {
                "input": {
                    "name": "available",
                    "reason": "correction",
                    "referenceDocumentUri": f"omnisync://{self.context.channel}/inventory",
                    "quantities": quantities,
                },
                "idempotencyKey": answers.batch_key(pending),
            }
            answer = await self.graphql.execute(
                docs.SET_QUANTITIES,
                variables,
                operation="push_inventory",
                estimate=docs.MUTATION_COST,
                name="inventorySetQuantities",
            )
            payload = answer.data.get("inventorySetQuantities")
            if not isinstance(payload, Mapping):
                for index, u, _, _ in pending:
                    results[index] = ItemResult.retry(u.sku, "inventorySetQuantities returned no payload")
                return
            by_item, general = answers.user_errors(payload.get("userErrors"), "quantities")
            group = payload.get("inventoryAdjustmentGroup")
            if isinstance(group, Mapping):
                after = answers.quantities_after(group)
                for pos, (index, u, item, loc) in enumerate(pending):
                    error = by_item.get(pos)
                    results[index] = (
                        answers.inventory_error(u.sku, error)
                        if error
                        else ItemResult.accepted(u.sku, after.get((item, loc), u.quantity))
                    )
                return
            if general or not by_item:
                reason = (
                    "; ".join(answers.describe(e) for e in general)
                    or "inventorySetQuantities applied nothing"
                )
                retry = all(e.get("code") in answers.RETRY_CODES for e in general) if general else True
                for index, u, _, _ in pending:
                    results[index] = (
                        ItemResult.retry(u.sku, reason) if retry else ItemResult.rejected(u.sku, reason)
                    )
                return
            for pos, error in by_item.items():
                index, u, _, _ = pending[pos]
                results[index] = answers.inventory_error(u.sku, error)
            pending = [p for pos, p in enumerate(pending) if pos not in by_item]
            if not pending:
                return
        for index, u, _, _ in pending:
            results[index] = ItemResult.retry(u.sku, "batch kept failing on other items")

    async def read_inventory(self, refs: Sequence[InventoryRef]) -> dict[str, int | None]:
        found: dict[str, int | None] = {ref.sku: None for ref in refs}
        by_location: dict[str, list[InventoryRef]] = {}
        for ref in refs:
            location = self.settings.location_gid(ref.location)
            if ref.ids.get("inventory_item_id") and location:
                by_location.setdefault(location, []).append(ref)
        for location, group in by_location.items():
            for chunk in chunked(group, MAX_INPUT_ARRAY):
                ids = [ref.ids["inventory_item_id"] for ref in chunk]
                answer = await self.graphql.execute(
                    docs.INVENTORY_LEVELS,
                    {"ids": ids, "locationId": location},
                    operation="read_inventory",
                    estimate=len(ids) * docs.INVENTORY_NODE_COST,
                    name="inventoryLevels",
                )
                nodes = answer.data.get("nodes")
                if not isinstance(nodes, list) or len(nodes) != len(ids):
                    raise ProtocolError(
                        "nodes answer does not match the ids asked", channel=self.context.channel
                    )
                for ref, node in zip(chunk, nodes, strict=True):
                    found[ref.sku] = (
                        answers.available(node.get("inventoryLevel")) if isinstance(node, Mapping) else None
                    )
        return found

    async def read_listings(self, channel_skus: Sequence[str]) -> list[ChannelListing]:
        listings: dict[str, ChannelListing] = {}
        wanted = list(dict.fromkeys(s for s in channel_skus if s))
        for chunk in chunked(wanted, SKUS_PER_SEARCH):
            names = set(chunk)
            after: str | None = None
            while True:
                answer = await self.graphql.execute(
                    docs.VARIANTS_BY_SKU,
                    {
                        "first": VARIANTS_PER_PAGE,
                        "after": after,
                        "query": docs.sku_search(list(chunk)),
                        "locationId": self.settings.default_location,
                    },
                    operation="read_listings",
                    estimate=docs.estimate_variants(VARIANTS_PER_PAGE),
                    name="productVariants",
                )
                connection = answer.data.get("productVariants")
                if not isinstance(connection, Mapping):
                    raise ProtocolError("productVariants answer missing", channel=self.context.channel)
                for node in connection.get("nodes") or []:
                    sku = node.get("sku")
                    if sku in names and sku not in listings:  # search is fuzzy; keep exact matches only
                        listings[sku] = answers.listing(node)
                    elif sku in names:
                        self.context.log.warning("shopify.duplicate_sku", sku=sku, variant=node.get("id"))
                after = answers.next_cursor(connection)
                if after is None:
                    break
        return [listings[s] for s in wanted if s in listings]

    async def read_catalogue(self, cursor: str | None) -> CataloguePage:
        return await CatalogueReader(self.graphql).page(cursor)

    # -- listings --------------------------------------------------------------------------------
    async def upsert_listings(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        return await self.listings.upsert(listings)

    async def unpublish_listings(self, listings: Sequence[ListingRef]) -> list[ListingResult]:
        return await self.listings.unpublish(listings)

    # -- prices ----------------------------------------------------------------------------------
    async def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        return await push_price_groups(self.graphql, updates)

    # -- orders ----------------------------------------------------------------------------------
    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        query = None
        if cursor.updated_after is not None:
            since = cursor.updated_after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            query = f"updated_at:>='{since}'"
        while True:
            first = self._orders_page_size
            try:
                answer = await self.graphql.execute(
                    docs.ORDERS,
                    {"first": first, "after": cursor.page_token, "query": query},
                    operation="pull_orders",
                    estimate=docs.estimate_orders(first),
                    name="orders",
                )
                break
            except QueryTooCostly:
                if first <= 1:
                    raise
                self._orders_page_size = first // 2
        connection = answer.data.get("orders")
        if not isinstance(connection, Mapping):
            raise ProtocolError("orders answer missing", channel=self.context.channel)
        orders = []
        failed: list[tuple[str, str]] = []
        for node in connection.get("nodes") or []:
            try:
                extra = await self._more_lines(node)
                disposed = await self._dispositions(node)
                orders.append(from_graphql(node, self.settings, extra, disposed))
            except ProtocolError as exc:  # one bad order never blocks the others, and is not lost
                self.context.log.error("shopify.order_unreadable", order=node.get("id"), error=str(exc))
                failed.append((str(node.get("id")), str(exc)))
        return OrderPage(orders=orders, next_page_token=answers.next_cursor(connection), failed=failed)

    async def _dispositions(self, node: Mapping[str, Any]) -> list[tuple[str, int, str, str | None]]:
        """The dispositions of the order's returns, read only when its ``returnStatus`` says something
        came back (one query per such order; most orders have none)."""
        if node.get("returnStatus") not in RETURNS_RECEIVED:
            return []
        answer = await self.graphql.execute(
            docs.ORDER_RETURNS,
            {"id": node["id"]},
            operation="pull_orders",
            estimate=docs.ORDER_RETURNS_COST,
            name="orderReturns",
        )
        order = answer.data.get("order")
        if not isinstance(order, Mapping) or not isinstance(order.get("returns"), Mapping):
            raise ProtocolError("order returns answer missing", channel=self.context.channel)
        return dispositions_of(order["returns"])

    async def _more_lines(self, node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """Line items beyond the first page of an order: never drop a line."""
        lines: list[Mapping[str, Any]] = []
        after = answers.next_cursor(node.get("lineItems"))
        while after is not None:
            answer = await self.graphql.execute(
                docs.ORDER_LINES_PAGE,
                {"id": node["id"], "after": after},
                operation="pull_orders",
                estimate=1 + 2 + 100 * 3,  # the order, 100 lines with their price (MoneyBag, MoneyV2)
                name="orderLines",
            )
            order = answer.data.get("order")
            connection = order.get("lineItems") if isinstance(order, Mapping) else None
            if not isinstance(connection, Mapping):
                raise ProtocolError("order line items answer missing", channel=self.context.channel)
            lines.extend(n for n in connection.get("nodes") or [] if isinstance(n, Mapping))
            after = answers.next_cursor(connection)
        return lines

    # -- webhooks --------------------------------------------------------------------------------
    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, url: str | None = None
    ) -> list[WebhookEvent]:
        return webhooks.parse(headers, body, self.settings, self.context.channel)
