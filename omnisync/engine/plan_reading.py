"""Plan reading: the ledger read chunk by chunk (the next chunk read ahead on a thread) and planned
for one or several channels at once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Connection

from omnisync.allocation import AdaptivePolicy, LocationStock
from omnisync.kits import kit_stock
from omnisync.ledger import kits as kit_rows
from omnisync.ledger import pace as pace_reads
from omnisync.ledger.plan_rows import PlanChunk, PlanQueries
from omnisync.ledger.repository import ListingRow, PlanDecoder
from omnisync.ledger.supply import incoming_for
from omnisync.pace import Paces, SalesWindows, Schedule, measure_paces

from .planner import Changes, ChunkPlan, PlannedItem, paused_gc
from .setup import EngineSetup
from .targets import SkuState, Target

PLAN_CHUNK = 10000
"""Products per chunk of a plan: the per-chunk costs (statements, numpy calls) fall with larger chunks,
the memory of a chunk read ahead and of its items built rises; 10,000 planned 3 % less CPU than 5,000
at 300k SKUs, 20,000 no less than 10,000."""
UNSEEN_HORIZON_S = 86400.0
"""How far back (from the latest import) the adaptive policy looks for a channel's pulls."""
DIRTY_SCAN_THRESHOLD = 100_000
"""Dirty pairs above which a dirty-only plan reads every product instead of the dirty index."""


class PlanReader(EngineSetup):
    def read_paces(self, conn: Connection, product_ids: Sequence[int] | None = None) -> Paces | None:
        """Under the adaptive policy, the sales velocities (of ``product_ids``, else of every product
        that sold lately) and every channel's sync latency and unseen time, as the ledger's records
        stand (see :mod:`omnisync.pace`); None under other policies."""
        if not isinstance(self.policy, AdaptivePolicy):
            return None
        settings = self.config.allocation.adaptive
        windows = SalesWindows(tuple(settings.velocity_windows))
        # the ledger's own clock: its latest import (nothing imported yet: nothing sold, no pace)
        latest = pace_reads.last_import(conn)
        schedules = {
            name: Schedule(rt.config.schedule.pull_every, rt.config.schedule.push_every)
            for name, rt in self.channels.items()
        }
        if latest is None:
            return measure_paces({}, windows, [], {}, {}, ({}, {}), schedules)
        recent = latest - timedelta(seconds=settings.latency_window)
        horizon = latest - timedelta(seconds=max(UNSEEN_HORIZON_S, windows.longest))
        last_read = pace_reads.last_pulls(conn, horizon)
        return measure_paces(
            # a channel's velocity as of its last order pull: what it sold since is not known yet
            pace_reads.units_sold(conn, windows.seconds, latest, last_read, product_ids),
            windows,
            pace_reads.sales_imported(conn, recent),
            pace_reads.pushes_acknowledged(conn, recent),
            last_read,
            pace_reads.failed_since(conn, horizon),
            schedules,
        )

    def iter_plan_channels(
        self,
        channels: Sequence[str],
        *,
        all_pairs: bool = False,
        product_ids: Sequence[int] | None = None,
    ) -> Iterator[ChunkPlan]:
        """Plan several channels in one pass: one ledger read per chunk of products serves them all.

        Yields, chunk by chunk, each channel's (changes, unchanged (product id, version, mark)). Without
        ``all_pairs`` or ``product_ids`` only dirty pairs are planned.
        """
        from .chunk_planner import ChunkPlanner  # numpy: imported when a plan runs, not at start-up

        names = list(dict.fromkeys(channels))
        channel_ids = [self.channels[name].channel_id for name in names]
        rules = self.calculator.channels
        # the stock the arithmetic reads: the planned channels' sources, or every channel's when the
        # policy compares channels
        drawing = names if self.calculator.independent else list(rules)
        codes: list[str] = []
        location_ids: list[int] = []
        with self.ledger.read() as conn:
            known = {row.code: lid for lid, row in self.ledger.locations(conn).items()}
            for code in dict.fromkeys(c for name in drawing for c in rules[name].sources):
                if code in known:  # a source the ledger does not know has no stock record: 0
                    codes.append(code)
                    location_ids.append(known[code])
        dirty_only = not all_pairs and product_ids is None
        wanted = sorted(set(product_ids)) if product_ids is not None else []
        after: int | None = None
        by_ids = product_ids is not None
        if dirty_only:
            with self.ledger.read() as conn:
                dirty = sum(self.ledger.dirty_count(conn, cid) for cid in channel_ids)
                # a few dirty pairs are found through the dirty index; when most of the catalogue is
                # dirty (a price list imported), one pass over every product costs less
                if dirty <= DIRTY_SCAN_THRESHOLD:
                    by_ids, wanted = True, self.ledger.dirty_product_ids(conn, channel_ids)
        with self.ledger.read() as conn:
            paces = self.read_paces(conn, None if dirty_only or not by_ids else wanted)
        if dirty_only and by_ids and paces is not None:
            # the adaptive buffers of the SKUs that sold lately move with time (velocities decay,
            # latencies change), not only with their stock: they are planned on every pass
            wanted = sorted(set(wanted) | set(paces.sold_per_hour))
        if by_ids and not wanted:
            return
        with self.ledger.read() as conn:
            planner = ChunkPlanner(
                self.calculator,
                names,
                codes,
                PlanDecoder(conn.dialect),
                self.clock.now(),
                paces,
            )

        preorders = any(rules[name].preorders for name in drawing)
        queries = PlanQueries.of(
            self.ledger.engine.dialect,
            tuple(channel_ids),
            tuple(location_ids),
            by_ids=by_ids,
            incoming=preorders,
            lean=planner.lean,
        )
        listing_names = queries.names_in(self.ledger.read)
        product_details = queries.details_in(self.ledger.read)

        def read() -> tuple[PlanChunk, bool]:
            """The next chunk, and whether more may follow."""
            nonlocal wanted, after
            with self.ledger.read() as conn:
                if by_ids:
                    ids, wanted = wanted[:PLAN_CHUNK], wanted[PLAN_CHUNK:]
                    chunk, more = queries.read(conn, product_ids=ids), bool(wanted)
                else:
                    chunk = queries.read(conn, after_product_id=after, limit=PLAN_CHUNK)
                    after = int(chunk.products[0].max()) if len(chunk) else after
                    more = len(chunk) == PLAN_CHUNK
            # the names of the pairs the plan pushes are read when it knows which they are: their
            # channel SKU and ids cannot change but through this channel's own setup and discovery;
            # nor can a SKU, and a lean read's tags decide no rule (no mapping names a tag)
            details = None if chunk.details is None else product_details
            return replace(chunk, names=listing_names, details=details), more

        chunk, more = read()
        if not more:
            if len(chunk):
                yield planner.plan(chunk, dirty_only=dirty_only)
            return
        # A large plan: one thread reads the next chunk while this one is planned and consumed (the
        # database driver works without the GIL). Each chunk is read in a transaction of its own, as
        # it always was; a chunk read ahead is as fresh as the ledger when it was read. The cyclic
        # collector stays off for the whole plan (back as it was when the plan ends or is closed):
        # switched on between chunks it would walk every item held so far, ~10 % of a full plan's
        # CPU. What the consumer does between chunks runs without it too.
        with (
            paused_gc(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnisync-plan-read") as reader,
        ):
            while True:
                ahead = reader.submit(read) if more else None
                yield planner.plan(chunk, dirty_only=dirty_only)
                if ahead is None:
                    return
                chunk, more = ahead.result()

    def iter_plan(
        self, channel: str, *, all_pairs: bool = False, product_ids: Sequence[int] | None = None
    ) -> Iterator[tuple[Changes, list[tuple[int, int, int]]]]:
        """Yield (changes, unchanged (product id, version, mark)), chunk by chunk, read lazily."""
        for chunk in self.iter_plan_channels([channel], all_pairs=all_pairs, product_ids=product_ids):
            yield chunk[channel]

    def plan(self, channel: str, *, all_pairs: bool = False) -> list[PlannedItem]:
        return [item for changes, _ in self.iter_plan(channel, all_pairs=all_pairs) for item in changes]

    def explain(self, sku: str) -> dict[str, tuple[Target, ListingRow | None]]:
        with self.ledger.read() as conn:
            pid = self.ledger.product_id(conn, sku)
            rows: dict[str, ListingRow | None] = {}
            for name, rt in self.channels.items():
                found = self.ledger.listings(conn, rt.channel_id, product_ids=[pid])
                rows[name] = found[0] if found else None
            product = self.ledger.products(conn, [sku])[0]
            codes = {lid: row.code for lid, row in self.ledger.locations(conn).items()}
            stock = self.ledger.stock_for(conn, [pid]).get(pid, {})
            incoming = incoming_for(conn, [pid]).get(pid, {})
            paces = self.read_paces(conn, [pid])
            components = kit_rows.kits_of(conn, [pid]).get(pid)
            kit = None
            parts = components or ((pid, sku, 1),)  # a plain SKU: its own one component
            held = self.ledger.stock_for(conn, [c for c, _, _ in parts])
            by_sku = {
                c_sku: {codes[lid]: numbers for lid, numbers in held.get(c, {}).items()}
                for c, c_sku, _ in parts
            }
            pairs = [(c_sku, quantity) for _, c_sku, quantity in parts]
            if components:  # a kit: its stock is its components'
                kit = kit_stock(pairs, by_sku)
                stock = {lid: (kit[code].kits, 0) for lid, code in codes.items() if code in kit}
            # on a channel where it draws on a component with other listings: its share
            draws = kit_rows.draws_on(conn, {c: c_sku for c, c_sku, _ in parts})
            drawn = {
                name: kit_stock(pairs, by_sku, sku, draws[rt.channel_id])
                for name, rt in self.channels.items()
                if rt.rules.share_components
                and any(
                    d.listing == sku
                    for c_sku, _ in pairs
                    for d in draws.get(rt.channel_id, {}).get(c_sku, ())
                )
            }
        state = SkuState(
            sku,
            product.tags,
            product.price,
            product.currency,
            product.active,
            {
                codes[lid]: LocationStock(codes[lid], *stock.get(lid, (0, 0)), *incoming.get(lid, (0, None)))
                for lid in {*stock, *incoming}
            },
            None if paces is None else paces.of(pid),
            kit,
            drawn or None,
        )
        targets = self.calculator.targets(state, self.clock.now())
        return {name: (targets[name], rows.get(name)) for name in self.channels if name in targets}
