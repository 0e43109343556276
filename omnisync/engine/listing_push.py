"""Listing pushes: the planned listings of a channel sent within its limits, and each answer recorded.

Runs in the channel's own ``listings`` lane, never under the plan lock, so a slow bulk listing job
does not hold back a stock decrease. A listing whose content breaks the channel's rules is not sent
(its problems are recorded as its issues); an accepted one records the content digest the channel
now holds, and its variants' ids go to their stock listings, which are marked dirty so that stock
and price follow the new listing at the next push. Nothing is ever deleted: a discontinued product
is unpublished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from omnisync.catalogue.plan import ListingAction
from omnisync.catalogue.template import ListingMode
from omnisync.sdk.errors import ItemError, RetryableError
from omnisync.sdk.helpers import chunked
from omnisync.sdk.listings import ListingRef, ListingResult
from omnisync.sdk.models import Capability, ItemStatus

from .channel import ChannelRuntime
from .listing_issues import ListingIssueReader
from .listings import PlannedListing
from .runs import CycleReport, RunRecorder

SENT = (ListingAction.CREATE, ListingAction.UPDATE, ListingAction.UNPUBLISH)


@dataclass
class ListingPushReport:
    created: int = 0
    updated: int = 0
    unpublished: int = 0
    rejected: int = 0
    retry: int = 0
    blocked: int = 0
    issues: dict[str, list[str]] = field(default_factory=dict)
    """Product -> the channel's words (or the rules' problems) for listings not accepted."""
    issues_read: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Product -> what the channel says now about a listing it holds, read back after the pushes."""


class ListingPusher(ListingIssueReader, RunRecorder):
    async def push_listings(
        self, channel: str, *, dirty_only: bool = False, admit: Callable[[], bool] | None = None
    ) -> tuple[CycleReport, ListingPushReport]:
        """Plan the channel's listings and send what changed; recorded as a ``listings`` run."""
        outcome = ListingPushReport()

        async def work(rt: ChannelRuntime, report: CycleReport) -> None:
            await self._push_listings(rt, report, outcome, dirty_only)

        report = await self._run(channel, "listings", work, lane="listings", exclusive=False, admit=admit)
        return report, outcome

    def manages_listings(self, channel: str) -> bool:
        """Whether the listing job has anything to do on this channel."""
        rt = self.channels[channel]
        mode = self.mappings[channel].mapping.listings
        return rt.connector.supports(Capability.MANAGE_LISTINGS) and mode is not ListingMode.OFF

    async def _push_listings(
        self, rt: ChannelRuntime, report: CycleReport, out: ListingPushReport, dirty_only: bool
    ) -> None:
        plans = self.plan_listings(rt.name, dirty_only=dirty_only)
        now = self.clock.now()
        sending = [p for p in plans if p.decision.action in SENT and not p.blocked]
        report.push.planned = len(sending)
        with self.ledger.tx() as tx:
            for p in plans:
                if p.blocked:
                    out.blocked += 1
                    out.issues[p.product] = [f"{x.field}: {x.rule}" for x in p.problems]
                    tx.record_listing_answer(
                        rt.channel_id,
                        p.catalogue_id,
                        planned_version=p.version,
                        issues=out.issues[p.product],
                        last_action="blocked",
                        answered_at=now,
                    )
                elif p.decision.action not in SENT:
                    tx.record_listing_answer(rt.channel_id, p.catalogue_id, planned_version=p.version)
        size = max(1, rt.connector.limits.push_listings.max_batch)
        upserts = [p for p in sending if p.decision.action is not ListingAction.UNPUBLISH]
        for chunk in chunked(upserts, size):
            assert all(p.wanted is not None for p in chunk)
            results = await self._send(rt, chunk, [p.wanted.content for p in chunk if p.wanted is not None])
            self._record(rt, chunk, results, report, out)
        hides = [p for p in sending if p.decision.action is ListingAction.UNPUBLISH]
        for chunk in chunked(hides, size):
            refs = [self._ref(p) for p in chunk]
            results = await self._send(rt, chunk, refs, unpublish=True)
            self._record(rt, chunk, results, report, out)
        out.issues_read = await self.read_listing_issues(rt.name)

    @staticmethod
    def _ref(p: PlannedListing) -> ListingRef:
        assert p.wanted is not None
        c = p.wanted.content
        variants = {v.channel_sku: dict(v.ids) for v in c.variants if v.ids}
        return ListingRef(c.key, dict(c.ids), tuple(v.channel_sku for v in c.variants), variants)

    async def _send(
        self,
        rt: ChannelRuntime,
        chunk: Sequence[PlannedListing],
        payload: Sequence[Any],
        *,
        unpublish: bool = False,
    ) -> dict[str, ListingResult]:
        try:
            if unpublish:
                results = await rt.connector.unpublish_listings(payload)
            else:
                results = await rt.connector.upsert_listings(payload)
        except RetryableError as exc:  # throttled or unavailable after the transport's retries
            return {p.product: ListingResult.retry(p.product, str(exc)) for p in chunk}
        except ItemError as exc:  # the whole call refused for its content
            return {p.product: ListingResult.rejected(p.product, str(exc)) for p in chunk}
        by_key = {r.key: r for r in results}
        return {
            p.product: by_key.get(p.product) or ListingResult.retry(p.product, "no answer") for p in chunk
        }

    def _record(
        self,
        rt: ChannelRuntime,
        chunk: Sequence[PlannedListing],
        results: dict[str, ListingResult],
        report: CycleReport,
        out: ListingPushReport,
    ) -> None:
        now = self.clock.now()
        report.push.pushed += len(chunk)
        with self.ledger.tx() as tx:
            for p in chunk:
                result, wanted = results[p.product], p.wanted
                assert wanted is not None
                action = p.decision.action
                if result.status is ItemStatus.ACCEPTED:
                    report.push.accepted += 1
                    values: dict[str, Any] = {
                        "issues": list(result.issues),
                        "last_action": action.value,
                        "answered_at": now,
                    }
                    if action is ListingAction.UNPUBLISH:
                        out.unpublished += 1
                        values["published"] = False
                    else:
                        out.created += action is ListingAction.CREATE
                        out.updated += action is ListingAction.UPDATE
                        ids = dict(result.ids) or dict(wanted.content.ids)
                        values |= {
                            "ids": ids,
                            "acked_digest": wanted.content.digest,
                            "acked_fields": dict(wanted.fields),
                            "published": wanted.content.publish
                            if result.published is None
                            else result.published,
                        }
                        self._adopt_variants(tx, rt, wanted.content.variants, result)
                    tx.record_listing_answer(
                        rt.channel_id, p.catalogue_id, planned_version=p.version, **values
                    )
                    continue
                out.issues[p.product] = list(result.issues)
                if result.status is ItemStatus.RETRY:
                    out.retry += 1
                    report.push.retry += 1
                    tx.record_listing_answer(
                        rt.channel_id, p.catalogue_id, issues=list(result.issues), keep_dirty=True
                    )
                else:
                    out.rejected += 1
                    report.push.rejected += 1
                    tx.record_listing_answer(
                        rt.channel_id,
                        p.catalogue_id,
                        planned_version=p.version,
                        issues=list(result.issues),
                        last_action="rejected",
                        answered_at=now,
                    )

    def _adopt_variants(
        self, tx: Any, rt: ChannelRuntime, variants: Sequence[Any], result: ListingResult
    ) -> None:
        """The channel's ids for the listing's variants go to their stock listings, marked dirty, so
        the next push sends their stock and price."""
        pids: list[int] = []
        for v in variants:
            ids = result.variant_ids.get(v.channel_sku)
            if not ids:
                continue
            pid = self.ledger.product_id(tx.conn, v.sku)
            tx.set_listing_ids(rt.channel_id, pid, ids)
            pids.append(pid)
        tx.mark_products_dirty(pids)
