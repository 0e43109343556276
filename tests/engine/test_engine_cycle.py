"""The engine over two fake channels, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from enginekit import World
from sqlalchemy import select, update

from omnisync.ledger.tables import LI
from omnisync.sdk.errors import RetryableError
from omnisync.sdk.models import OrderCursor, OrderPage
from omnisync.testing.harness import SeedItem


async def test_first_sync_pushes_allocated_quantities_and_prices(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 5), "TEE": (0, 1)})
    reports = await w.engine.sync_once()
    assert all(r.ok for r in reports.values()), reports
    # web: WH 10 + STORE max(0, 5 - 2 kept for the floor) = 13, minus 1 buffer unit
    assert w.web.items["WEB-MUG"].quantity == 12
    assert w.web.items["WEB-MUG"].price == Decimal("22.00")  # 10 % markup from the mapping
    assert w.pos.items["MUG"].quantity == 5  # the POS sees the store's real count
    assert w.web.items["TEE"].quantity == 0  # 1 in store, all kept for walk-ins
    again = await w.engine.sync_once()
    assert sum(r.push.pushed for r in again.values()) == 0, "nothing changed, nothing pushed"


async def test_sale_on_channel_between_pushes_is_not_overwritten(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 5)})
    await w.engine.sync_once()
    w.web.place_order("WEB-MUG", 2)  # web now shows 10; the ledger has not seen the sale yet
    # a floor sale at the POS makes the ledger push a new web target before web's orders are pulled
    w.pos.place_order("MUG", 3)
    await w.engine.cycle("pos")
    report = await w.engine.cycle("web", pull=False)
    assert report.ok
    # compare-and-set failed (web changed): the engine read web live (10) and re-planned without
    # waiting for web's order backlog. The ledger's target (9, the web sale not imported yet) is a
    # decrease from what web shows, so it goes at once; the pull is asked for, increases wait for it
    assert report.push.wants_pull
    assert w.web.items["WEB-MUG"].quantity == 9
    assert w.engine.channels["web"].holds_increases
    await w.engine.cycle("web")
    # the pull brought the web sale in: WH 10 - 2 reserved = 8, STORE max(0, 5 - 3 - 2) = 0, minus
    # 1 buffer -> 7
    assert w.web.items["WEB-MUG"].quantity == 7
    assert not w.engine.channels["web"].holds_increases
    assert w.pos.items["MUG"].quantity == 2


async def test_orders_are_imported_once_and_unknown_skus_quarantined(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0)})
    w.web.seed([SeedItem("MYSTERY", 5, Decimal("1.00"))])
    w.web.place_order("WEB-MUG", 1)
    w.web.place_order("MYSTERY", 1)
    first = await w.engine.pull("web")
    assert first.imported == 2
    assert first.quarantined == 1
    second = await w.engine.pull("web")  # the overlap window re-reads both orders
    assert second.imported == 0
    assert second.unchanged == 2
    with w.ledger.tx() as tx:
        assert len(tx.quarantined_lines()) == 1
        tx.upsert_product("MYSTERY", title="now known", price=Decimal("5"))
    done, still = w.engine.retry_quarantined()
    assert (done, still) == (1, 0)
    with w.ledger.read() as conn:
        pid = w.ledger.product_id(conn, "MYSTERY")
        stock = w.ledger.stock_for(conn, [pid])[pid]
    assert sum(reserved for _, reserved in stock.values()) == 1


async def test_fulfilment_cancellation_and_restock_become_ledger_entries(
    tmp_path: Path, ledger_url: str
) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0)})
    a = w.web.place_order("WEB-MUG", 2)
    b = w.web.place_order("WEB-MUG", 1)
    await w.engine.pull("web")
    w.clock.advance(60)
    w.web.update_order(a, status="fulfilled", fulfilled=2)
    w.web.update_order(b, status="cancelled")
    await w.engine.pull("web")
    w.clock.advance(60)
    w.web.update_order(a, restocked=1)
    await w.engine.pull("web")
    with w.ledger.read() as conn:
        pid = w.ledger.product_id(conn, "MUG")
        stock = w.ledger.stock_for(conn, [pid])[pid]
    wh = w.ledger.location_id(w.ledger.engine.connect(), "WH")
    assert stock[wh] == (9, 0)  # 10 - 2 sold + 1 returned; nothing reserved any more


async def test_failing_channel_does_not_stall_the_other(tmp_path: Path, ledger_url: str) -> None:
    from omnisync.testing.harness import Fault

    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (4, 4)})
    w.web.fail_next(Fault.UNAUTHORIZED, times=50)
    reports = await w.engine.sync_once()
    assert not reports["web"].ok
    assert "credentials" in (reports["web"].error or "")
    assert reports["pos"].ok
    assert w.pos.items["MUG"].quantity == 4
    assert w.engine.channels["web"].health.state == "configuration"


async def test_a_failed_order_on_an_early_page_keeps_the_cursor(tmp_path: Path, ledger_url: str) -> None:
    from omnisync.sdk.models import OrderPage

    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0)})
    connector = w.engine.channels["web"].connector
    real = connector.pull_orders
    calls = {"n": 0}

    async def flaky(cursor):  # type: ignore[no-untyped-def]
        page = await real(cursor)
        calls["n"] += 1
        if calls["n"] == 1:  # the first page reports an order it could not read
            return OrderPage(page.orders, page.next_page_token, failed=[("BROKEN-1", "malformed")])
        return page

    connector.pull_orders = flaky  # type: ignore[method-assign]
    for _ in range(7):
        w.web.place_order("WEB-MUG", 1)
    report = await w.engine.pull("web")
    assert ("BROKEN-1", "malformed") in report.failed
    with w.ledger.tx() as tx:
        assert tx.cursor(w.engine.channels["web"].channel_id) is None, "cursor must not pass a failed order"
    again = await w.engine.pull("web")
    assert not again.failed
    with w.ledger.tx() as tx:
        assert tx.cursor(w.engine.channels["web"].channel_id) is not None


async def test_a_channels_own_sale_is_not_pushed_back_to_it(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0)})
    await w.engine.sync_once()
    assert w.web.items["WEB-MUG"].quantity == 9
    pushes = len([r for r in w.web.requests if r[1] == "/inventory"])
    w.web.place_order("WEB-MUG", 2)  # the fake lowers its own quantity on order, like the real platforms
    report = await w.engine.cycle("web")
    assert report.orders.imported == 1
    assert len([r for r in w.web.requests if r[1] == "/inventory"]) == pushes, "nothing to push back"
    assert w.web.items["WEB-MUG"].quantity == 7
    assert w.engine.plan("web") == []


async def test_a_batch_that_landed_but_was_never_recorded_is_replayed_verbatim(
    tmp_path: Path, ledger_url: str
) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0), "TEE": (5, 0)})
    _die_once_the_batch_lands(w)
    await w.engine.pull("web")  # increases wait until the channel's orders are pulled
    with pytest.raises(SystemExit):
        await w.engine.push("web")
    sent = [r for r in w.web.requests if r[1] == "/inventory"]
    assert len(sent) == 1

    restarted = World.__new__(World)  # a new process on the same ledger and the same channel
    restarted.__dict__.update(w.__dict__)
    from omnisync.engine.runtime import Engine

    restarted.engine = Engine(
        w.loaded, w.ledger, clock=w.clock, transports={"web": w.web.transport(), "pos": w.pos.transport()}
    )
    await restarted.engine.start()
    keys_before = dict(w.web.keys)
    await restarted.engine.pull("web")
    await restarted.engine.push("web")
    inventory_calls = [r for r in w.web.requests if r[1] == "/inventory"]
    assert len(inventory_calls) == 2, "the outbox batch is replayed once, then nothing is left to push"
    assert w.web.keys.keys() == keys_before.keys(), "the replay carried the original idempotency key"
    with w.ledger.tx() as tx:
        assert tx.outbox_pending(w.engine.channels["web"].channel_id) == []
    assert w.web.items["WEB-MUG"].quantity == 9
    assert restarted.engine.plan("web") == []


async def test_a_dropped_batch_leaves_no_over_show_when_the_offer_returns_to_the_old_value(
    tmp_path: Path, ledger_url: str
) -> None:
    """A channel without idempotent pushes drops a batch whose outcome died with its process; the
    batch may have landed, so the compare value is forgotten and the offer is sent again even when it
    equals the value acknowledged before the batch."""
    from omnisync.engine.runtime import Engine
    from omnisync.sdk.models import Capability

    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0)})
    await w.engine.sync_once()
    assert w.web.items["WEB-MUG"].quantity == 9
    _die_once_the_batch_lands(w)
    _adjust(w, "MUG", 1, "found-one")  # the offer rises to 10 ...
    await w.engine.pull("web")
    with pytest.raises(SystemExit):
        await w.engine.push("web")
    assert w.web.items["WEB-MUG"].quantity == 10, "the batch landed"
    _adjust(w, "MUG", -1, "lost-one")  # ... and is back at 9, what the ledger last acknowledged

    restarted = Engine(
        w.loaded, w.ledger, clock=w.clock, transports={"web": w.web.transport(), "pos": w.pos.transport()}
    )
    await restarted.start()
    web = restarted.channels["web"].connector
    web.capabilities = web.capabilities - {Capability.IDEMPOTENT_PUSH}  # type: ignore[misc]
    await restarted.pull("web")
    await restarted.push("web")
    assert w.web.items["WEB-MUG"].quantity == 9, (
        "the channel no longer shows a unit the ledger does not offer"
    )
    assert restarted.plan("web") == []


def _die_once_the_batch_lands(w: World) -> None:
    """The web channel's next push lands on the channel, then its process dies before recording it."""
    connector = w.engine.channels["web"].connector
    real = connector.push_inventory

    async def lands_then_dies(updates):  # type: ignore[no-untyped-def]
        await real(updates)
        raise SystemExit("killed after the channel applied the batch")

    connector.push_inventory = lands_then_dies  # type: ignore[method-assign]


def _adjust(w: World, sku: str, units: int, key: str) -> None:
    with w.ledger.tx() as tx:
        tx.record_movement(sku, "WH", "adjustment", units, key, at=w.clock.now())


async def test_a_reconcile_read_that_holds_an_order_is_not_shifted_again(
    tmp_path: Path, ledger_url: str
) -> None:
    # Regression: the page-level intake path moved the acknowledged value for an order the live read
    # already held, so the ledger believed web showed one unit less than it did. With a decrease
    # elsewhere at the same time the two agreed by accident and the over-show stayed hidden.
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0)})
    await w.engine.sync_once()
    assert w.web.items["WEB-MUG"].quantity == 9
    w.web.place_order("WEB-MUG", 1)  # web shows 8; the ledger has not seen the order
    _adjust(w, "MUG", -1, "adj:1")  # a unit found broken in the warehouse
    w.clock.advance(1)
    report = await w.engine.reconcile("web")
    assert report.ok
    assert report.orders.imported == 1
    # 10 - 1 broken - 1 reserved - 1 buffer
    assert w.web.items["WEB-MUG"].quantity == 7
    assert w.engine.plan("web") == []


async def test_units_a_channel_puts_back_on_cancel_move_its_acknowledged_value(
    tmp_path: Path, ledger_url: str
) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0)})
    await w.engine.sync_once()
    order = w.web.place_order("WEB-MUG", 2)
    await w.engine.cycle("web")
    assert w.web.items["WEB-MUG"].quantity == 7
    w.clock.advance(60)
    w.web.update_order(order, status="cancelled")  # the platform puts the 2 units back: 9
    _adjust(w, "MUG", -2, "adj:2")
    await w.engine.cycle("web")
    # 10 - 2 adjusted - 1 buffer; before, the ledger thought web still showed 7 and pushed nothing
    assert w.web.items["WEB-MUG"].quantity == 7
    assert w.engine.plan("web") == []


async def test_increases_wait_until_the_channels_orders_are_pulled(tmp_path: Path, ledger_url: str) -> None:
    # After a start-up (or a failed pull) the channel may have sold units the ledger has not seen; a
    # raise pushed then would go over those sales. Decreases go at once, increases after a pull.
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0), "TEE": (5, 0)})
    await w.engine.sync_once()
    assert w.web.items["WEB-MUG"].quantity == 9
    w.web.place_order("WEB-MUG", 2)  # web shows 7; the ledger has not seen it
    _adjust(w, "TEE", -2, "adj:tee")  # a decrease elsewhere
    _adjust(w, "MUG", 5, "adj:mug")  # a receipt: web would be raised
    connector = w.engine.channels["web"].connector
    real = connector.pull_orders

    async def down(cursor):  # type: ignore[no-untyped-def]
        raise RetryableError("web's order API is down", channel="web")

    connector.pull_orders = down  # type: ignore[method-assign]
    failed = await w.engine.cycle("web", push=False)
    assert not failed.ok
    connector.pull_orders = real  # type: ignore[method-assign]
    w.clock.advance(600)  # any breaker closes
    report = await w.engine.cycle("web", pull=False)
    assert report.push.held == 1
    assert w.web.items["TEE"].quantity == 2  # the decrease went
    assert w.web.items["WEB-MUG"].quantity == 7  # the raise waits
    await w.engine.cycle("web")
    # 15 - 2 reserved - 1 buffer: the unseen order is counted before the raise
    assert w.web.items["WEB-MUG"].quantity == 12


async def test_a_stale_push_never_waits_behind_a_pull_in_flight(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 5)})
    await w.engine.sync_once()
    w.web.place_order("WEB-MUG", 2)  # web shows 10; the ledger has not seen the sale
    w.pos.place_order("MUG", 3)
    await w.engine.cycle("pos")  # the floor sale lowers web's target: its push will meet the sale
    rt = w.engine.channels["web"]
    release = asyncio.Event()
    original = rt.connector.pull_orders

    async def backlog(cursor: OrderCursor) -> OrderPage:  # a pull paced by the platform's budget
        await release.wait()
        return await original(cursor)

    rt.connector.pull_orders = backlog  # type: ignore[method-assign]
    pulling = asyncio.create_task(w.engine.cycle("web", push=False))
    await asyncio.sleep(0)
    assert rt.gate.busy("pull")
    report = await asyncio.wait_for(w.engine.cycle("web", pull=False), 10)  # a guard, not a wait
    assert report.ok
    assert report.push.wants_pull
    assert w.web.items["WEB-MUG"].quantity == 9, "the decrease went while the backlog was pulled"
    release.set()
    await pulling
    # that pull started before the live read: it may have missed sales the read holds
    assert rt.holds_increases
    await w.engine.cycle("web")
    assert not rt.holds_increases
    assert w.web.items["WEB-MUG"].quantity == 7


async def test_the_order_cursor_moves_with_every_page_so_a_kill_keeps_the_progress(
    tmp_path: Path, ledger_url: str
) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (50, 0)})
    placed = []
    for _ in range(7):  # three pages of the fake's three orders
        w.clock.advance(1)
        placed.append(w.web.place_order("WEB-MUG", 1))
    rt = w.engine.channels["web"]
    original = rt.connector.pull_orders
    pages = 0

    async def dies_on_the_second_page(cursor: OrderCursor) -> OrderPage:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise RetryableError("the process was killed here")
        return await original(cursor)

    rt.connector.pull_orders = dies_on_the_second_page  # type: ignore[method-assign]
    report = await w.engine.cycle("web", push=False)
    assert not report.ok
    assert report.orders.imported == 0, "the failed cycle's report has no figures"
    with w.ledger.tx() as tx:
        cursor = tx.cursor(rt.channel_id)
        orders = tx.order_digests(rt.channel_id, placed)
    assert sorted(orders) == sorted(placed[:3]), "the first page is in the ledger"
    assert cursor == w.web.orders[placed[2]].updated_at, "and the cursor moved with it"
    rt.connector.pull_orders = original  # type: ignore[method-assign]
    again = await w.engine.cycle("web", push=False)
    assert again.orders.imported == 4
    assert again.orders.unchanged == 3, "the overlap re-reads the first page, applied once"


async def test_a_winding_down_engine_stops_pulling_between_pages(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (50, 0)})
    placed = []
    for _ in range(7):
        w.clock.advance(1)
        placed.append(w.web.place_order("WEB-MUG", 1))
    rt = w.engine.channels["web"]
    original = rt.connector.pull_orders

    async def shutdown_after_first_page(cursor: OrderCursor) -> OrderPage:
        page = await original(cursor)
        w.engine.winding_down = True  # SIGTERM arrives while the page is read
        return page

    rt.connector.pull_orders = shutdown_after_first_page  # type: ignore[method-assign]
    report = await w.engine.cycle("web", push=False)
    assert report.ok
    assert (report.orders.imported, report.orders.incomplete) == (3, True)
    assert rt.holds_increases, "the window is not read to its end: increases still wait"
    with w.ledger.tx() as tx:
        assert tx.cursor(rt.channel_id) == w.web.orders[placed[2]].updated_at
    rt.connector.pull_orders = original  # type: ignore[method-assign]
    w.engine.winding_down = False
    again = await w.engine.cycle("web", push=False)
    assert again.orders.imported == 4
    assert not rt.holds_increases


async def test_a_plan_settles_only_the_pairs_it_read_dirty(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 5), "TEE": (3, 0)})
    await w.engine.sync_once()
    web = w.engine.channels["web"].channel_id
    # in step with every channel: a full plan has nothing to change and nothing to settle (no write)
    assert list(w.engine.iter_plan("web", all_pairs=True)) == [([], [])]
    with w.ledger.engine.begin() as conn:
        tee = w.ledger.product_id(conn, "TEE")
        conn.execute(update(LI).where(LI.c.product_id == tee).values(dirty=True))
    ((changes, unchanged),) = w.engine.iter_plan("web", all_pairs=True)
    assert changes == []
    assert [pid for pid, _, _ in unchanged] == [tee], "dirty with nothing to push: settled"
    report = await w.engine.push("web", all_pairs=True)
    assert report.pushed == 0
    with w.ledger.read() as conn:
        dirty = dict(conn.execute(select(LI.c.channel_id, LI.c.dirty).where(LI.c.product_id == tee)).all())
    assert dirty.pop(web) is False, "the push settled it on web"
    assert all(dirty.values()), "the other channels' marks stay until they are planned"


def _dirty(w: World, sku: str) -> dict[int, bool]:
    with w.ledger.read() as conn:
        pid = w.ledger.product_id(conn, sku)
        return dict(conn.execute(select(LI.c.channel_id, LI.c.dirty).where(LI.c.product_id == pid)).all())


async def test_a_mark_between_the_plans_read_and_its_settle_is_kept(tmp_path: Path, ledger_url: str) -> None:
    """A pair read dirty with nothing to push is settled after the read; a mark made in between without
    a version bump (a listing push gave the pair new ids, a drop window opened) must survive it."""
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 5), "TEE": (3, 0)})
    await w.engine.sync_once()
    web = w.engine.channels["web"].channel_id
    with w.ledger.read() as conn:
        tee = w.ledger.product_id(conn, "TEE")
    with w.ledger.tx() as tx:
        tx.mark_products_dirty([tee])
    reading = w.engine.iter_plan

    def racing(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for chunk in reading(*args, **kwargs):  # type: ignore[arg-type]
            _, unchanged = chunk
            assert [pid for pid, *_ in unchanged] == [tee], "read dirty, nothing to push"
            with w.ledger.tx() as tx:  # the read is done, the settle not yet
                tx.mark_products_dirty([tee])
            yield chunk

    w.engine.iter_plan = racing  # type: ignore[method-assign]
    report = await w.engine.push("web")
    assert report.pushed == 0
    assert _dirty(w, "TEE")[web] is True, "the mark made after the plan's read is not wiped"
    w.engine.iter_plan = reading  # type: ignore[method-assign]
    await w.engine.push("web")
    assert _dirty(w, "TEE")[web] is False, "planned again, then settled"


async def test_a_mark_while_a_push_is_in_flight_survives_its_acknowledgement(
    tmp_path: Path, ledger_url: str
) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 5)})
    await w.engine.sync_once()
    rt = w.engine.channels["web"]
    with w.ledger.read() as conn:
        mug = w.ledger.product_id(conn, "MUG")
    with w.ledger.tx() as tx:
        tx.record_movement("MUG", "WH", "receipt", 4, "more-mugs", at=w.clock.now())
    sending = rt.connector.push_inventory

    async def racing(updates):  # type: ignore[no-untyped-def]
        with w.ledger.tx() as tx:  # planned and sent, not yet acknowledged
            tx.mark_products_dirty([mug])
        return await sending(updates)

    rt.connector.push_inventory = racing  # type: ignore[method-assign]
    report = await w.engine.push("web")
    assert report.accepted >= 1
    assert w.web.items["WEB-MUG"].quantity == 16
    assert _dirty(w, "MUG")[rt.channel_id] is True, "the acknowledgement keeps the later mark"
    rt.connector.push_inventory = sending  # type: ignore[method-assign]
    again = await w.engine.push("web")
    assert again.pushed == 0
    assert _dirty(w, "MUG")[rt.channel_id] is False


async def test_a_listing_created_while_its_ids_are_looked_up_is_not_marked_unknown(
    tmp_path: Path, ledger_url: str
) -> None:
    """A push looks up the ids of a pair that has none; the channel does not know the SKU yet. Before
    that answer is written, the listing job creates the listing and gives the pair its ids (and a
    mark): the stale "not known" must not take the pair out of planning (the demo saw an Amazon
    variant stay unpushed this way)."""
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 5)})
    await w.engine.sync_once()
    with w.ledger.tx() as tx:
        tx.upsert_product("SCARF", title="Scarf", price=Decimal("30.00"), currency="EUR")
        tx.record_movement("SCARF", "WH", "receipt", 4, "seed:SCARF:WH", at=w.clock.now())
    rt = w.engine.channels["web"]
    w.engine.ensure_listings()
    with w.ledger.read() as conn:
        scarf = w.ledger.product_id(conn, "SCARF")
    reading = rt.connector.read_listings

    async def racing(channel_skus):  # type: ignore[no-untyped-def]
        found = await reading(channel_skus)  # before the listing exists
        if "SCARF" in channel_skus:
            w.web.seed([SeedItem("SCARF", 0, Decimal("30.00"))])  # the listing job creates it
            (created,) = await reading(["SCARF"])
            with w.ledger.tx() as tx:
                tx.set_listing_ids(rt.channel_id, scarf, created.ids)
                tx.mark_products_dirty([scarf])
        return found

    rt.connector.read_listings = racing  # type: ignore[method-assign]
    await w.engine.push("web")
    rt.connector.read_listings = reading  # type: ignore[method-assign]
    with w.ledger.read() as conn:
        (row,) = w.ledger.listings(conn, rt.channel_id, product_ids=[scarf])
    assert (row.missing, row.dirty, bool(row.ids)) == (False, True, True)
    await w.engine.push("web")
    assert w.web.items["SCARF"].quantity == 3  # WH 4, minus web's buffer unit


async def test_a_catalogue_product_the_listing_job_has_still_to_create_is_awaited_not_missing(
    tmp_path: Path, ledger_url: str
) -> None:
    """On a channel whose mapping says ``listings: create``, a new catalogue product's stock pair may be
    pushed before the listing job created the listing: the channel does not know it yet, which is
    expected (an info line), not a warning; a SKU outside the catalogue that the channel lacks stays a
    warning."""
    from structlog.testing import capture_logs

    from omnisync.catalogue.template import ListingMode
    from omnisync.testing.catalogue_sync import SCARF, put

    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 5)})
    await w.engine.sync_once()
    rt = w.engine.channels["web"]
    rt.rules.mapping.mapping = rt.rules.mapping.mapping.model_copy(update={"listings": ListingMode.CREATE})
    with w.ledger.tx() as tx:
        put(tx, SCARF, currency="EUR", at=w.clock.now(), actor="test", locations={"WH": "WH"})
        tx.upsert_product("LOOSE", title="Loose", price=Decimal("5.00"), currency="EUR")
        tx.record_movement("LOOSE", "WH", "receipt", 2, "seed:LOOSE:WH", at=w.clock.now())
    w.engine.ensure_listings()
    with capture_logs() as logs:
        await w.engine.push("web")
    said = {(e["event"], e["sku"]) for e in logs if e["event"].startswith("listing.")}
    assert said == {
        ("listing.awaits_creation", "SCARF-GREY"),
        ("listing.awaits_creation", "SCARF-NAVY"),
        ("listing.missing", "LOOSE"),
    }
    levels = {e["sku"]: e["log_level"] for e in logs if e["event"].startswith("listing.")}
    assert levels == {"SCARF-GREY": "info", "SCARF-NAVY": "info", "LOOSE": "warning"}


async def test_a_late_webhook_with_an_older_version_of_an_order_takes_back_nothing(
    tmp_path: Path, ledger_url: str
) -> None:
    """Pulled shipped, then an older version (open) arrives by a late webhook, then the shipped one
    again: the sale stays journalled once and the stock is what it was after the sale."""
    from datetime import UTC, datetime, timedelta

    from omnisync.engine.intake import import_orders
    from omnisync.sdk.models import Order, OrderLine, OrderStatus

    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 5)})
    rt = w.engine.channels["web"]
    placed = datetime(2026, 1, 1, tzinfo=UTC)

    def version(minutes: int, fulfilled: int) -> Order:
        status = OrderStatus.FULFILLED if fulfilled else OrderStatus.OPEN
        line = OrderLine("l1", "WEB-MUG", 1, fulfilled=fulfilled)
        return Order("o1", status, placed + timedelta(minutes=minutes), (line,), created_at=placed)

    def mugs() -> tuple[int, int]:
        with w.ledger.read() as conn:
            pid = w.ledger.product_id(conn, "MUG")
            wh = w.ledger.location_id(conn, "WH")
            return w.ledger.stock_for(conn, [pid])[pid][wh]

    import_orders(w.ledger, rt.intake, [version(0, 0)], at=w.clock.now())
    import_orders(w.ledger, rt.intake, [version(5, 1)], at=w.clock.now())
    assert mugs() == (9, 0)
    late = import_orders(w.ledger, rt.intake, [version(0, 0)], at=w.clock.now())
    assert (late.stale, late.imported) == (1, 0)
    assert mugs() == (9, 0), "the late open version takes back neither the sale nor the reservation"
    import_orders(w.ledger, rt.intake, [version(5, 1)], at=w.clock.now())
    assert mugs() == (9, 0)
