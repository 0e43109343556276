"""Listing issues read back: what a channel says about listings some time after accepting them (Amazon's
catalogue checks raise issues minutes after a put or a feed), recorded per listing and shown by
``status`` and the page like the push's own answers.

Each listing run reads a few listings (``ISSUES_PER_RUN``), those with known issues first (so a fixed
one clears soon), then the longest unread, each at most once per ``ISSUES_EVERY_S``: a paced safety
net, never in the way of the listing pushes of the same run or of stock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from omnisync.ledger.rows import ListingContentRow
from omnisync.sdk.errors import RetryableError
from omnisync.sdk.helpers import chunked
from omnisync.sdk.listings import ListingRef
from omnisync.sdk.models import Capability

from .channel import ChannelRuntime
from .listings import ListingPlanning

ISSUES_PER_RUN = 25
"""Listings whose issues one listing run reads (Amazon: 25 products of 3 variants, 75 reads at 5/s)."""
ISSUES_EVERY_S = 600.0
"""A listing's issues are read at most this often (the first time this long after its push)."""


def due_for_issues(
    states: Mapping[int, ListingContentRow], now: datetime, every_s: float, limit: int
) -> list[int]:
    """Catalogue ids of the listings to read now: on the channel, last answered ``every_s`` ago or
    more; those with issues first, then the oldest answered. Pure."""
    before = now - timedelta(seconds=every_s)
    due = [
        s
        for s in states.values()
        if s.ids
        and s.last_action not in (None, "rejected", "blocked")
        and (s.answered_at is None or s.answered_at <= before)
    ]
    due.sort(key=lambda s: (not s.issues, s.answered_at or datetime.min.replace(tzinfo=now.tzinfo)))
    return [s.catalogue_product_id for s in due[:limit]]


class ListingIssueReader(ListingPlanning):
    async def read_listing_issues(
        self, channel: str, *, limit: int = ISSUES_PER_RUN, every_s: float = ISSUES_EVERY_S
    ) -> dict[str, tuple[str, ...]]:
        """Read back the issues of the listings due on ``channel``; recorded, and returned by product."""
        rt = self.channels[channel]
        if not rt.connector.supports(Capability.READ_LISTING_ISSUES):
            return {}
        now = self.clock.now()
        with self.ledger.read() as conn:
            states = self.ledger.listing_contents(conn, rt.channel_id)
            due = set(due_for_issues(states, now, every_s, limit))
            catalogue = [p for p in self.ledger.catalogue(conn) if p.id in due] if due else []
        mapping = self.mappings[channel]
        refs = {
            p.handle: (
                p.id,
                ListingRef(
                    p.handle, dict(states[p.id].ids), tuple(mapping.channel_sku(v.sku) for v in p.variants)
                ),
            )
            for p in catalogue
        }
        found = await self._read_issues(rt, [ref for _, ref in refs.values()])
        with self.ledger.tx() as tx:
            for handle, issues in found.items():
                if handle in refs:
                    tx.record_listing_issues(rt.channel_id, refs[handle][0], issues, now)
        return found

    async def _read_issues(self, rt: ChannelRuntime, refs: list[ListingRef]) -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {}
        for chunk in chunked(refs, max(1, rt.connector.limits.read_listings.max_batch)):
            try:
                found |= await rt.connector.read_listing_issues(chunk)
            except RetryableError:  # throttled or down: the next run reads them
                break
        return found
