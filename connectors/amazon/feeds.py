"""JSON_LISTINGS_FEED: build the document, submit it, wait for it on the injected clock, read the report.

createFeedDocument → PUT to the presigned URL → createFeed → getFeed every ``feed_poll_interval_s``
until DONE/FATAL/CANCELLED → getFeedDocument(resultFeedDocumentId) → download the processing report.
Several feeds of one push are submitted together and polled in the same rounds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from omnisync.sdk import ItemResult, ProtocolError

from .client import SpApi

FEED_TYPE = "JSON_LISTINGS_FEED"
MAX_MESSAGES = 25_000
"""Most messages one JSON_LISTINGS_FEED may carry (listings-feed-schema-v2.json, messages.maxItems)."""
TERMINAL = frozenset({"DONE", "FATAL", "CANCELLED"})

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One message of a feed: the master SKU it answers for, the patch and the value it sets."""

    sku: str
    channel_sku: str
    product_type: str
    patch: Json
    value: Any


@dataclass
class FeedOutcome:
    feed_id: str | None
    status: str
    issues: dict[int, list[Json]] = field(default_factory=dict)
    """Report issues by messageId."""
    feed_issues: list[Json] = field(default_factory=list)
    """Report issues not tied to a message (formatting, fatal errors)."""
    reason: str | None = None


def patch_message(item: FeedItem) -> Json:
    """A PATCH message setting one attribute of an existing listing (stock or price)."""
    return {
        "sku": item.channel_sku,
        "operationType": "PATCH",
        "productType": item.product_type,
        "patches": [item.patch],
    }


def build_document(seller_id: str, messages: Sequence[Json], issue_locale: str | None = None) -> Json:
    """A listings feed (v2); messageId n is messages[n-1]."""
    header: Json = {"sellerId": seller_id, "version": "2.0"}
    if issue_locale:
        header["issueLocale"] = issue_locale
    numbered = [{"messageId": index, **message} for index, message in enumerate(messages, start=1)]
    return {"header": header, "messages": numbered}


def parse_report(raw: bytes, channel: str) -> tuple[dict[int, list[Json]], list[Json]]:
    """Issues of a processing report (v2), by messageId, and the ones tied to no message."""
    try:
        report = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError("feed processing report is not valid JSON", channel=channel) from exc
    if not isinstance(report, dict) or not isinstance(report.get("issues", []), list):
        raise ProtocolError("feed processing report lacks its issues list", channel=channel)
    by_message: dict[int, list[Json]] = {}
    loose: list[Json] = []
    for issue in report.get("issues", []):
        if not isinstance(issue, dict):
            continue
        message_id = issue.get("messageId")
        if isinstance(message_id, int):
            by_message.setdefault(message_id, []).append(issue)
        else:
            loose.append(issue)
    return by_message, loose


def describe(issues: Sequence[Json]) -> str:
    return "; ".join(f"{i.get('code', 'issue')}: {i.get('message', '')}".strip() for i in issues)


def results_for(items: Sequence[FeedItem], outcome: FeedOutcome) -> list[ItemResult]:
    """One result per item: ERROR issues reject their message; a failed feed leaves the rest to retry."""
    results: list[ItemResult] = []
    done = outcome.status == "DONE"
    for message_id, item in enumerate(items, start=1):
        errors = [i for i in outcome.issues.get(message_id, []) if i.get("severity") == "ERROR"]
        if errors:
            results.append(
                ItemResult.rejected(item.sku, f"Amazon feed {outcome.feed_id}: {describe(errors)}")
            )
        elif done:
            results.append(ItemResult.accepted(item.sku, item.value))
        else:
            reason = outcome.reason or f"feed {outcome.feed_id} ended {outcome.status}"
            results.append(ItemResult.retry(item.sku, reason))
    return results


class FeedRunner:
    def __init__(self, api: SpApi) -> None:
        self.api = api
        self.context = api.context
        self.settings = api.settings

    async def run(self, items: Sequence[FeedItem]) -> list[ItemResult]:
        """Submit the items as PATCH messages, wait for the feeds, map the reports back."""
        results: list[ItemResult] = []
        for chunk, outcome in await self.run_messages([patch_message(i) for i in items]):
            results.extend(results_for(items[chunk.start : chunk.stop], outcome))
        return results

    async def run_messages(self, messages: Sequence[Json]) -> list[tuple[range, FeedOutcome]]:
        """Submit the messages as feeds of at most MAX_MESSAGES, wait for all; each feed's outcome with
        the positions of its messages (its messageId n is position ``start + n - 1``)."""
        chunks = [
            range(start, min(start + MAX_MESSAGES, len(messages)))
            for start in range(0, len(messages), MAX_MESSAGES)
        ]
        feeds = [(chunk, await self._submit(messages[chunk.start : chunk.stop])) for chunk in chunks]
        outcomes = await self._wait([feed_id for _, feed_id in feeds])
        for (chunk, feed_id), outcome in zip(feeds, outcomes, strict=True):
            self.context.log.info(
                "amazon.feed_done",
                feed_id=feed_id,
                status=outcome.status,
                messages=len(chunk),
                message_issues=sum(len(v) for v in outcome.issues.values()),
            )
        return [(chunk, outcome) for (chunk, _), outcome in zip(feeds, outcomes, strict=True)]

    async def _submit(self, messages: Sequence[Json]) -> str:
        document = build_document(self.settings.seller_id, messages, self.settings.issue_locale)
        content = json.dumps(document, separators=(",", ":")).encode()
        doc_id, url = await self.api.create_feed_document()
        await self.api.upload(url, content)
        feed_id = await self.api.create_feed(FEED_TYPE, doc_id)
        self.context.log.info("amazon.feed_submitted", feed_id=feed_id, messages=len(messages))
        return feed_id

    async def _wait(self, feed_ids: Sequence[str]) -> list[FeedOutcome]:
        clock = self.context.clock
        deadline = clock.monotonic() + self.settings.feed_timeout_s
        outcomes: dict[str, FeedOutcome] = {}
        while True:
            await clock.sleep(self.settings.feed_poll_interval_s)
            for feed_id in feed_ids:
                if feed_id in outcomes:
                    continue
                feed = await self.api.get_feed(feed_id)
                status = str(feed.get("processingStatus"))
                if status in TERMINAL:
                    outcomes[feed_id] = await self._outcome(feed_id, status, feed)
            if len(outcomes) == len(feed_ids):
                return [outcomes[f] for f in feed_ids]
            if clock.monotonic() >= deadline:
                for feed_id in feed_ids:
                    outcomes.setdefault(
                        feed_id,
                        FeedOutcome(
                            feed_id, "TIMEOUT", reason=f"feed {feed_id} still processing, check later"
                        ),
                    )
                return [outcomes[f] for f in feed_ids]

    async def _outcome(self, feed_id: str, status: str, feed: Json) -> FeedOutcome:
        outcome = FeedOutcome(feed_id, status)
        result_id = feed.get("resultFeedDocumentId")
        if isinstance(result_id, str):
            document = await self.api.get_feed_document(result_id)
            raw = await self.api.download(document)
            outcome.issues, outcome.feed_issues = parse_report(raw, self.context.channel)
        if status != "DONE":
            detail = describe([i for i in outcome.feed_issues if i.get("severity") == "ERROR"])
            outcome.reason = f"feed {feed_id} ended {status}" + (f": {detail}" if detail else "")
            self.context.log.warning("amazon.feed_failed", feed_id=feed_id, status=status, detail=detail)
        return outcome
