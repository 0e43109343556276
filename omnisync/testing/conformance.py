"""The connector conformance kit: the standard suite a connector must pass, in one line.

    from omnisync.testing import conformance_suite
    TestMyConnector = conformance_suite(MyHarness)

It checks: capabilities honoured (undeclared operations raise UnsupportedOperation), discovery,
batch limits respected, partial failures reported per item, 429/throttle retried without real
sleeping, 401 reported as a configuration error, pagination terminates without duplicates, pushes
idempotent, compare-and-set answers STALE, webhooks verified, ``prepare()`` passes, and listings
created, updated and unpublished (``conformance_listings``) for connectors that manage them.

It also sees what the connector *sends*: the harness's transport is wrapped in a
:class:`~omnisync.testing.recorder.RecordingTransport`, so the kit asserts no request follows a 401,
each batch is sent once, retries after a throttle are spaced at least the Retry-After the harness
declares (``throttle_retry_after``, seconds) and after a 5xx at least the SDK's first backoff, and a
timeout is retried and, when it persists, reported (an exception or RETRY items, never ACCEPTED).

Every test runs its own event loop, so the kit needs no pytest-asyncio in the connector author's
project.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from omnisync.http.transport import BACKOFF_BASE_S
from omnisync.sdk.connector import Connector
from omnisync.sdk.errors import (
    ConfigurationError,
    OmnisyncError,
    UnsupportedOperation,
    WebhookVerificationError,
)
from omnisync.sdk.helpers import idempotency_key
from omnisync.sdk.models import (
    Capability,
    InventoryRef,
    InventoryUpdate,
    ItemResult,
    ItemStatus,
    Order,
    OrderCursor,
    OrderLine,
    OrderStatus,
    PriceUpdate,
)
from omnisync.sdk.runtime import instantiate

from .conformance_listings import check_listing_lifecycle
from .harness import ConnectorHarness, Fault, SeedItem
from .recorder import RecordingTransport, Sent

CHANNEL = "conformance"


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def _push_after_unseen_sale(h: ConnectorHarness, *, quantity: int, version: int) -> list[ItemResult]:
    """Seed 10 units, let the channel sell one, then push ``quantity`` believing it still shows 10."""
    h.seed([SeedItem(_sku(1), 10, Decimal("1.00"))])
    async with _connected(h) as conn:
        ids = await _ids(conn, [_sku(1)])
        h.place_order(_sku(1), 1)
        update = _update(_sku(1), quantity, 10, ids.get(_sku(1), {}), version=version)
        return await conn.push_inventory([update])


@asynccontextmanager
async def _recorded(h: ConnectorHarness) -> AsyncIterator[tuple[Connector, RecordingTransport]]:
    """A connector over the harness's transport wrapped in a recorder, prepared as the engine does."""
    recorder = RecordingTransport(h.transport(), h.clock)
    conn = instantiate(h.connector_class, h.settings(), channel=CHANNEL, clock=h.clock, transport=recorder)
    try:
        await conn.prepare()
        yield conn, recorder
    finally:
        await conn.aclose()


@asynccontextmanager
async def _connected(h: ConnectorHarness) -> AsyncIterator[Connector]:
    async with _recorded(h) as (conn, _):
        yield conn


def _gaps(sent: list[Sent]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(sent)]


async def _push_one(h: ConnectorHarness, fault: Fault, times: int) -> tuple[list[ItemResult], list[Sent]]:
    """Seed one item, inject ``fault`` ``times`` times, push it; the results and the requests sent."""
    h.seed([SeedItem(_sku(1), 2, Decimal("1.00"))])
    async with _recorded(h) as (conn, rec):
        ids = await _ids(conn, [_sku(1)])
        h.fail_next(fault, times)
        mark = len(rec.sent)
        results = await conn.push_inventory([_update(_sku(1), 9, 2, ids.get(_sku(1), {}))])
    return results, rec.since(mark)


def _sku(i: int) -> str:
    return f"CONF-{i:05d}"


async def _ids(conn: Connector, skus: list[str]) -> dict[str, dict[str, str]]:
    if not conn.supports(Capability.READ_LISTINGS):
        return {s: {} for s in skus}
    found: dict[str, dict[str, str]] = {}
    size = max(1, conn.limits.read_listings.max_batch)
    for start in range(0, len(skus), size):
        for listing in await conn.read_listings(skus[start : start + size]):
            found[listing.channel_sku] = dict(listing.ids)
    return found


def _update(sku: str, qty: int, prev: int | None, ids: dict[str, str], version: int = 1) -> InventoryUpdate:
    return InventoryUpdate(sku, sku, qty, prev, version, idempotency_key(CHANNEL, sku, version), ids, None)


def conformance_suite(harness_factory: Callable[[], ConnectorHarness]) -> type:
    """Build the standard test class for the connector behind ``harness_factory``."""

    class ConnectorConformance:
        __test__ = True

        @pytest.fixture
        def harness(self) -> ConnectorHarness:
            return harness_factory()

        def _caps(self, h: ConnectorHarness) -> frozenset[Capability]:
            return h.connector_class.capabilities

        def test_metadata(self, harness: ConnectorHarness) -> None:
            cls = harness.connector_class
            assert isinstance(cls.name, str)
            assert cls.name
            assert cls.capabilities, "a connector declares at least one capability"
            for operation in ("push_inventory", "push_prices", "read_listings", "read_inventory"):
                assert cls.limits.for_operation(operation).max_batch >= 1
            cls.Settings.model_validate(dict(harness.settings()))

        def test_undeclared_operations_raise_unsupported(self, harness: ConnectorHarness) -> None:
            caps = self._caps(harness)

            async def go() -> None:
                async with _connected(harness) as conn:
                    if Capability.PUSH_INVENTORY not in caps:
                        with pytest.raises(UnsupportedOperation):
                            await conn.push_inventory([])
                    if Capability.PULL_ORDERS not in caps:
                        with pytest.raises(UnsupportedOperation):
                            await conn.pull_orders(OrderCursor(None))
                    if Capability.WEBHOOKS not in caps:
                        with pytest.raises(UnsupportedOperation):
                            conn.parse_webhook({}, b"{}")

            _run(go())

        def test_discovery_finds_seeded_and_omits_unknown(self, harness: ConnectorHarness) -> None:
            if Capability.READ_LISTINGS not in self._caps(harness):
                pytest.skip("connector does not read listings")
            harness.seed([SeedItem(_sku(1), 5, Decimal("10.00")), SeedItem(_sku(2), 0, Decimal("3.50"))])

            async def go() -> None:
                async with _connected(harness) as conn:
                    listings = await conn.read_listings([_sku(1), _sku(2), "CONF-UNKNOWN"])
                by_sku = {li.channel_sku: li for li in listings}
                assert set(by_sku) == {_sku(1), _sku(2)}
                assert all(li.ids for li in listings), "discovery returns the channel's ids"

            _run(go())

        def test_full_batch_accepted_within_limits(self, harness: ConnectorHarness) -> None:
            if Capability.PUSH_INVENTORY not in self._caps(harness):
                pytest.skip("connector does not push inventory")
            n = harness.conformance_batch_size
            assert n <= harness.connector_class.limits.push_inventory.max_batch
            skus = [_sku(i) for i in range(n)]
            harness.seed([SeedItem(s, 1, Decimal("1.00")) for s in skus])

            async def go() -> None:
                async with _connected(harness) as conn:
                    ids = await _ids(conn, skus)
                    results = await conn.push_inventory([_update(s, 7, 1, ids.get(s, {})) for s in skus])
                assert sorted(r.sku for r in results) == sorted(skus), "one result per item"
                assert {r.status for r in results} == {ItemStatus.ACCEPTED}
                assert all(harness.channel_quantity(s) == 7 for s in skus)

            _run(go())

        def test_partial_failure_reported_per_item(self, harness: ConnectorHarness) -> None:
            if Capability.PUSH_INVENTORY not in self._caps(harness):
                pytest.skip("connector does not push inventory")
            harness.seed([SeedItem(_sku(1), 2, Decimal("1.00"))])

            async def go() -> None:
                async with _connected(harness) as conn:
                    ids = await _ids(conn, [_sku(1)])
                    bogus = {k: v + "-does-not-exist" for k, v in ids.get(_sku(1), {"id": "x"}).items()}
                    results = await conn.push_inventory(
                        [_update(_sku(1), 4, 2, ids.get(_sku(1), {})), _update("CONF-GHOST", 4, 2, bogus)]
                    )
                by = {r.sku: r for r in results}
                assert by[_sku(1)].status is ItemStatus.ACCEPTED
                assert by["CONF-GHOST"].status in (ItemStatus.REJECTED, ItemStatus.RETRY)
                assert by["CONF-GHOST"].reason, "a failed item carries the channel's reason"
                assert harness.channel_quantity(_sku(1)) == 4

            _run(go())

        def _retried_twice(self, harness: ConnectorHarness, fault: Fault, least_gap: float) -> None:
            """Two ``fault`` answers, then success: each retry waited at least ``least_gap`` s."""
            if Capability.PUSH_INVENTORY not in self._caps(harness):
                pytest.skip("connector does not push inventory")
            results, sent = _run(_push_one(harness, fault, 2))
            assert results[0].status is ItemStatus.ACCEPTED
            assert harness.channel_quantity(_sku(1)) == 9
            assert len(sent) >= 3, f"two {fault} attempts, then the one that went through"
            for gap in _gaps(sent[:3]):
                assert gap > 0, "the wait happened on the injected clock"
                assert gap >= least_gap, f"{fault} retried after {gap:g}s; at least {least_gap:g}s due"

        def test_throttle_is_retried_on_the_clock(self, harness: ConnectorHarness) -> None:
            asked = getattr(harness, "throttle_retry_after", None)  # the channel's Retry-After, if any
            self._retried_twice(harness, Fault.THROTTLE, asked or 0.0)

        def test_server_error_is_retried_with_backoff(self, harness: ConnectorHarness) -> None:
            self._retried_twice(harness, Fault.SERVER_ERROR, BACKOFF_BASE_S)

        def test_timeout_is_retried(self, harness: ConnectorHarness) -> None:
            if Capability.PUSH_INVENTORY not in self._caps(harness):
                pytest.skip("connector does not push inventory")
            results, sent = _run(_push_one(harness, Fault.TIMEOUT, 1))
            assert sent[0].status is None, "the harness's TIMEOUT fault raises from its transport"
            assert len(sent) >= 2, "a timed-out request is retried"
            assert results[0].status is ItemStatus.ACCEPTED
            assert harness.channel_quantity(_sku(1)) == 9

        def test_persistent_timeout_is_reported(self, harness: ConnectorHarness) -> None:
            if Capability.PUSH_INVENTORY not in self._caps(harness):
                pytest.skip("connector does not push inventory")
            try:
                results, _ = _run(_push_one(harness, Fault.TIMEOUT, 1000))
            except OmnisyncError:
                return  # reported as an error: the engine retries the batch later
            assert all(r.status is not ItemStatus.ACCEPTED for r in results), (
                "nothing reached the channel: no item may be reported ACCEPTED"
            )

        def test_each_batch_sent_once(self, harness: ConnectorHarness) -> None:
            if Capability.PUSH_INVENTORY not in self._caps(harness):
                pytest.skip("connector does not push inventory")
            skus = [_sku(i) for i in range(max(2, min(harness.conformance_batch_size, 5)))]
            harness.seed([SeedItem(s, 1, Decimal("1.00")) for s in skus])

            async def go() -> list[Sent]:
                async with _recorded(harness) as (conn, rec):
                    ids = await _ids(conn, skus)
                    mark = len(rec.sent)
                    await conn.push_inventory([_update(s, 5, 1, ids.get(s, {})) for s in skus])
                    return rec.since(mark)

            writes = [(r.method, r.url, r.body) for r in _run(go()) if r.method != "GET" and r.body]
            assert writes, "a push sends something"
            assert len(writes) == len(set(writes)), "the same request body was sent twice in one push"

        def test_prepare_passes(self, harness: ConnectorHarness) -> None:
            async def go() -> None:
                async with _connected(harness) as conn:
                    await conn.prepare()  # a second time too: the engine may prepare again on restart

            _run(go())

        def test_unauthorized_is_a_configuration_error(self, harness: ConnectorHarness) -> None:
            harness.seed([SeedItem(_sku(1), 2, Decimal("1.00"))])
            caps = self._caps(harness)

            async def go() -> None:
                async with _recorded(harness) as (conn, rec):
                    harness.fail_next(Fault.UNAUTHORIZED, times=10)
                    mark = len(rec.sent)
                    call: Callable[[], Coroutine[Any, Any, Any]]
                    if Capability.READ_LISTINGS in caps:
                        call = lambda: conn.read_listings([_sku(1)])  # noqa: E731
                    elif Capability.PULL_ORDERS in caps:
                        call = lambda: conn.pull_orders(OrderCursor(None))  # noqa: E731
                    else:
                        call = lambda: conn.push_inventory([_update(_sku(1), 1, 2, {})])  # noqa: E731
                    with pytest.raises(ConfigurationError):
                        await call()
                    assert conn.context.stats.retries.total() == 0, "401 must never be retried"
                    assert len(rec.since(mark)) == 1, "no request may follow a refused credential"

            _run(go())

        def test_pushes_in_flight_together_each_get_their_results(self, harness: ConnectorHarness) -> None:
            slots = harness.connector_class.limits.push_inventory.in_flight
            if Capability.PUSH_INVENTORY not in self._caps(harness) or slots < 2:
                pytest.skip("connector takes one push at a time")
            skus = [_sku(i) for i in range(2 * slots)]
            harness.seed([SeedItem(s, 1, Decimal("1.00")) for s in skus])

            async def go() -> None:
                async with _connected(harness) as conn:
                    ids = await _ids(conn, skus)
                    batches = [skus[i::slots] for i in range(slots)]
                    answers = await asyncio.gather(
                        *(
                            conn.push_inventory([_update(s, 3 + n, 1, ids.get(s, {})) for s in batch])
                            for n, batch in enumerate(batches)
                        )
                    )
                for n, (batch, results) in enumerate(zip(batches, answers, strict=True)):
                    assert sorted(r.sku for r in results) == sorted(batch), "each push answers its own items"
                    assert {r.status for r in results} == {ItemStatus.ACCEPTED}
                    assert all(harness.channel_quantity(s) == 3 + n for s in batch)

            _run(go())

        def test_push_is_idempotent(self, harness: ConnectorHarness) -> None:
            if Capability.PUSH_INVENTORY not in self._caps(harness):
                pytest.skip("connector does not push inventory")
            harness.seed([SeedItem(_sku(1), 10, Decimal("1.00"))])

            async def go() -> None:
                async with _connected(harness) as conn:
                    ids = await _ids(conn, [_sku(1)])
                    update = _update(_sku(1), 6, 10, ids.get(_sku(1), {}), version=3)
                    first = await conn.push_inventory([update])
                    second = await conn.push_inventory([update])
                assert first[0].status is ItemStatus.ACCEPTED
                assert second[0].status in (ItemStatus.ACCEPTED, ItemStatus.STALE)
                assert harness.channel_quantity(_sku(1)) == 6, "the same push twice must not apply twice"

            _run(go())

        def test_compare_and_set_reports_stale(self, harness: ConnectorHarness) -> None:
            if Capability.COMPARE_AND_SET not in self._caps(harness):
                pytest.skip("connector does not offer compare-and-set")
            results = _run(_push_after_unseen_sale(harness, quantity=10, version=5))
            assert results[0].status is ItemStatus.STALE
            assert harness.channel_quantity(_sku(1)) == 9, "a stale push must not overwrite the sale"

        def test_verified_push_never_accepts_a_channel_that_moved(self, harness: ConnectorHarness) -> None:
            if not self._caps(harness) & {Capability.VERIFIED_PUSH, Capability.COMPARE_AND_SET}:
                pytest.skip("connector does not verify its pushes")
            results = _run(_push_after_unseen_sale(harness, quantity=6, version=7))
            assert results[0].status is ItemStatus.STALE, (
                "ACCEPTED would tell the engine the channel held 10 before the push"
            )

        def test_prices_pushed(self, harness: ConnectorHarness) -> None:
            if Capability.PUSH_PRICES not in self._caps(harness):
                pytest.skip("connector does not push prices")
            harness.seed([SeedItem(_sku(1), 1, Decimal("10.00"))])

            async def go() -> None:
                async with _connected(harness) as conn:
                    ids = await _ids(conn, [_sku(1)])
                    update = PriceUpdate(
                        _sku(1), _sku(1), Decimal("12.50"), "EUR", 1, "k-price-1", None, ids.get(_sku(1), {})
                    )
                    results = await conn.push_prices([update])
                assert results[0].status is ItemStatus.ACCEPTED
                assert harness.channel_price(_sku(1)) == Decimal("12.50")

            _run(go())

        def test_read_inventory_matches_channel(self, harness: ConnectorHarness) -> None:
            if Capability.READ_INVENTORY not in self._caps(harness):
                pytest.skip("connector does not read inventory")
            harness.seed([SeedItem(_sku(1), 4, Decimal("1.00")), SeedItem(_sku(2), 0, Decimal("1.00"))])

            async def go() -> None:
                async with _connected(harness) as conn:
                    ids = await _ids(conn, [_sku(1), _sku(2)])
                    live = await conn.read_inventory(
                        [InventoryRef(s, s, ids.get(s, {})) for s in (_sku(1), _sku(2))]
                    )
                assert live[_sku(1)] == 4
                assert live[_sku(2)] == 0

            _run(go())

        def test_pagination_terminates_without_duplicates(self, harness: ConnectorHarness) -> None:
            if Capability.PULL_ORDERS not in self._caps(harness):
                pytest.skip("connector does not pull orders")
            count = harness.orders_page_size * 2 + 1
            harness.seed([SeedItem(_sku(1), count * 2, Decimal("1.00"))])
            placed = {harness.place_order(_sku(1), 1) for _ in range(count)}

            async def go() -> None:
                seen: list[str] = []
                cursor = OrderCursor(None)
                async with _connected(harness) as conn:
                    for _ in range(count + 5):
                        page = await conn.pull_orders(cursor)
                        seen.extend(o.external_id for o in page.orders)
                        if page.next_page_token is None:
                            break
                        cursor = OrderCursor(cursor.updated_after, page.next_page_token)
                    else:
                        pytest.fail("pagination did not terminate")
                assert len(seen) == len(set(seen)), "no order twice within one pagination"
                assert placed <= set(seen)

            _run(go())

        def test_ordered_pull_pages_ascend_by_update(self, harness: ConnectorHarness) -> None:
            """A connector declaring ORDERED_PULL has its cursor moved with every page: an order out of
            ``updated_at`` order would be skipped after a restart."""
            if Capability.ORDERED_PULL not in self._caps(harness):
                pytest.skip("connector does not declare ordered pulls")
            count = harness.orders_page_size * 2 + 1
            harness.seed([SeedItem(_sku(1), count * 2, Decimal("1.00"))])
            placed = []
            for _ in range(count):
                harness.clock.advance(1)
                placed.append(harness.place_order(_sku(1), 1))
            fulfil = getattr(harness, "fulfil", None)
            changed = False
            if fulfil is not None:  # the first order changes last: it must come last
                harness.clock.advance(1)
                changed = bool(fulfil(placed[0]))

            async def go() -> None:
                seen: list[tuple[datetime, str]] = []
                cursor = OrderCursor(None)
                async with _connected(harness) as conn:
                    for _ in range(count + 5):
                        page = await conn.pull_orders(cursor)
                        seen.extend((o.updated_at, o.external_id) for o in page.orders)
                        if page.next_page_token is None:
                            break
                        cursor = OrderCursor(cursor.updated_after, page.next_page_token)
                times = [t for t, _ in seen]
                assert times == sorted(times), "pages must ascend by updated_at (ORDERED_PULL)"
                if changed:
                    assert seen[-1][1] == placed[0], "the order updated last comes last"

            _run(go())

        def test_orders_arrive_as_placed(self, harness: ConnectorHarness) -> None:
            """Known lines, a cancelled order, a refunded one, a SKU the catalogue lacks (passed through
            for the engine to quarantine), and one older than ``updated_after`` (filtered out)."""
            if Capability.PULL_ORDERS not in self._caps(harness):
                pytest.skip("connector does not pull orders")
            if not all(hasattr(harness, m) for m in ("buy", "fulfil", "cancel", "give_back")):
                pytest.skip("the harness cannot buy, fulfil, cancel and give back (an EmulatorDouble)")
            double: Any = harness
            known, other, unknown = _sku(1), _sku(2), "CONF-NOT-IN-CATALOGUE"
            harness.seed([SeedItem(s, 50, Decimal("1.00")) for s in (known, other, unknown)])
            old = double.buy(known, 1)
            harness.clock.advance(3600)
            cutoff = harness.clock.now()
            harness.clock.advance(60)
            open_id = double.buy(known, 2)
            cancelled_id = double.buy(other, 3)
            assert double.cancel(cancelled_id)
            refunded_id = double.buy(known, 1)
            fulfilled = double.fulfil(refunded_id)
            returned = double.give_back(refunded_id, known, 1) if fulfilled else None
            unknown_id = double.buy(unknown, 4)
            harness.clock.advance(60)

            async def go() -> dict[str, Order]:
                got: dict[str, Order] = {}
                cursor = OrderCursor(cutoff)
                async with _connected(harness) as conn:
                    for _ in range(50):
                        page = await conn.pull_orders(cursor)
                        got.update((o.external_id, o) for o in page.orders)
                        if page.next_page_token is None:
                            return got
                        cursor = OrderCursor(cutoff, page.next_page_token)
                pytest.fail("pagination did not terminate")

            got: dict[str, Order] = _run(go())
            assert old not in got, "an order last changed before updated_after is filtered out"
            for o in got.values():
                for ln in o.lines:
                    assert min(ln.damaged, ln.to_inspect) >= 0, "returned units are counted, never negative"
                    # A line of quantity 0 is a return recorded apart from its sale (Square's
                    # return orders): its units are counted against a line of another order.
                    back = ln.restocked + ln.damaged + ln.to_inspect
                    assert ln.quantity == 0 or back <= ln.quantity, (
                        f"order {o.external_id} line {ln.line_id}: {back} units returned "
                        f"(restocked, damaged, to inspect) of {ln.quantity} ordered"
                    )

            def line(order_id: str, sku: str) -> OrderLine:
                assert order_id in got, f"order {order_id} placed after updated_after is missing"
                lines = [ln for ln in got[order_id].lines if ln.channel_sku == sku]
                assert len(lines) == 1, f"order {order_id}: one line of {sku}, as placed"
                return lines[0]

            first = line(open_id, known)
            assert (first.quantity, first.cancelled, first.restocked) == (2, 0, 0)
            assert got[open_id].status in (OrderStatus.OPEN, OrderStatus.FULFILLED)
            gone = line(cancelled_id, other)
            assert got[cancelled_id].status is OrderStatus.CANCELLED, "a cancelled order reads cancelled"
            assert (gone.quantity, gone.cancelled) == (3, 3), "cancelled is the cumulative count"
            passed = line(unknown_id, unknown)
            assert passed.quantity == 4, "a line of a SKU the catalogue lacks is passed through"
            if fulfilled:
                shipped = line(refunded_id, known)
                assert (shipped.quantity, shipped.fulfilled) == (1, 1)
                if returned == "":  # recorded on the original order
                    assert shipped.restocked == 1, "restocked is the cumulative count"

        def test_listings_created_updated_unpublished(self, harness: ConnectorHarness) -> None:
            caps = self._caps(harness)
            if Capability.MANAGE_LISTINGS not in caps:

                async def refused() -> None:
                    async with _connected(harness) as conn:
                        with pytest.raises(UnsupportedOperation):
                            await conn.upsert_listings([])

                _run(refused())
                return

            async def go() -> None:
                async with _connected(harness) as conn:
                    await check_listing_lifecycle(harness, conn, [_sku(i) for i in range(1, 4)])

            _run(go())

        def test_webhook_verified(self, harness: ConnectorHarness) -> None:
            if Capability.WEBHOOKS not in self._caps(harness):
                pytest.skip("connector accepts no webhooks")
            harness.seed([SeedItem(_sku(1), 3, Decimal("1.00"))])
            oid = harness.place_order(_sku(1), 1)
            signed = harness.signed_webhook(oid)
            assert signed is not None, "a connector with WEBHOOKS must let the harness sign one"
            headers, body, url = signed

            async def go() -> None:
                async with _connected(harness) as conn:
                    events = conn.parse_webhook(headers, body, url)
                    assert events
                    assert all(e.event_id for e in events)
                    with pytest.raises(WebhookVerificationError):
                        conn.parse_webhook(headers, body + b" ", url)
                    with pytest.raises(WebhookVerificationError):
                        conn.parse_webhook({}, body, url)

            _run(go())

    return ConnectorConformance
