"""Feed documents behind presigned URLs, JSON_LISTINGS_FEED processing on the clock, and listings patches:
the part of the Amazon emulator that changes listings. Mixed into ``AmazonEmulator``."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import itertools
import json
import secrets
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from jsonschema import Draft201909Validator

from omnisync.clock import Clock

from .emulator_state import (
    INVALID_CODE,
    Feed,
    FeedDocument,
    Json,
    Listing,
    apply_patches,
    issue,
    parse_feed,
    report_issue,
)
from .schema_check import attribute_issues

DOCUMENT_PREFIX = "/NinetyDays/"
GZIP_ABOVE_BYTES = 64_000


class FeedsMixin:
    clock: Clock
    seller_id: str
    marketplace_id: str
    currency: str
    s3_base: str
    feed_queue_s: float
    feed_base_s: float
    feed_per_message_s: float
    listings: dict[str, Listing]
    documents: dict[str, FeedDocument]
    feeds: dict[str, Feed]
    fatal_feeds: deque[str]
    publish_quantity: Callable[[Listing, int | None], None]
    replace_listing: Callable[[str, str, dict[str, Any], datetime], list[Json]]
    rejections: dict[str, Json]
    product_types: set[str]
    definitions: dict[str, Draft201909Validator]
    _ids: itertools.count[int]
    _busy_until: float
    _signing_key: bytes

    def next_id(self) -> int:
        return next(self._ids)

    # -- feed documents and presigned URLs ------------------------------------------------------------------
    def new_document(self, content_type: str, content: bytes | None = None) -> FeedDocument:
        doc_id = f"amzn1.tortuga.4.na.{secrets.token_hex(16)}"
        document = FeedDocument(doc_id, content_type, self.clock.now() + timedelta(minutes=5), content)
        self.documents[doc_id] = document
        return document

    def presign(self, document: FeedDocument) -> str:
        stamp = document.url_expires.strftime("%Y%m%dT%H%M%SZ")
        signature = self._sign(document.doc_id, stamp)
        query = urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": stamp,
                "X-Amz-Expires": "300",
                "X-Amz-SignedHeaders": "content-type;host",
                "X-Amz-Signature": signature,
            }
        )
        return f"{self.s3_base}{DOCUMENT_PREFIX}{document.doc_id}?{query}"

    def check_presigned(self, doc_id: str, stamp: str, signature: str) -> bool:
        document = self.documents.get(doc_id)
        if document is None or not hmac.compare_digest(self._sign(doc_id, stamp), signature):
            return False
        return self.clock.now() <= document.url_expires

    def _sign(self, doc_id: str, stamp: str) -> str:
        return hmac.new(self._signing_key, f"{doc_id}\n{stamp}".encode(), hashlib.sha256).hexdigest()

    # -- feeds -------------------------------------------------------------------------------------------
    def create_feed(self, feed_type: str, marketplace_ids: list[str], document: FeedDocument) -> Feed:
        messages, _ = parse_feed(document.content, self.seller_id)
        now_s = self.clock.monotonic()
        start = max(now_s + self.feed_queue_s, self._busy_until)  # one seller's feeds run one after another
        end = start + self.feed_base_s + self.feed_per_message_s * len(messages)
        self._busy_until = end
        feed = Feed(
            feed_id=str(50_000_000_000 + self.next_id()),
            feed_type=feed_type,
            marketplace_ids=marketplace_ids,
            input_doc=document.doc_id,
            created=self.clock.now(),
            start_s=start,
            end_s=end,
            messages=len(messages),
        )
        self.feeds[feed.feed_id] = feed
        return feed

    def advance(self) -> None:
        """Bring feeds up to the clock: IN_QUEUE → IN_PROGRESS → DONE/FATAL, applying finished ones."""
        now_s = self.clock.monotonic()
        for feed in self.feeds.values():
            if feed.status in ("DONE", "FATAL", "CANCELLED"):
                continue
            if now_s >= feed.start_s and feed.started is None:
                feed.status = "IN_PROGRESS"
                feed.started = self.clock.now() - timedelta(seconds=now_s - feed.start_s)
            if now_s >= feed.end_s:
                self._process(feed, self.clock.now() - timedelta(seconds=now_s - feed.end_s))

    def _process(self, feed: Feed, ended: datetime) -> None:
        document = self.documents[feed.input_doc]
        messages, fatal = parse_feed(document.content, self.seller_id)
        if fatal is None and self.fatal_feeds:
            fatal = self.fatal_feeds.popleft()
        issues: list[Json] = []
        accepted = invalid = 0
        if fatal is not None:
            issues.append({"code": "FATAL", "severity": "ERROR", "message": fatal})
        else:
            seen: set[int] = set()
            for message in messages:
                found = self._apply_message(message, seen, ended)
                issues.extend(report_issue(message, f) for f in found)
                if any(f["severity"] == "ERROR" for f in found):
                    invalid += 1
                else:
                    accepted += 1
        report = {
            "header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed.feed_id},
            "issues": issues,
            "summary": {
                "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
                "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
                "messagesProcessed": accepted + invalid,
                "messagesAccepted": accepted,
                "messagesInvalid": invalid,
            },
        }
        content = json.dumps(report).encode()
        result = self.new_document("application/json")
        if len(content) > GZIP_ABOVE_BYTES:
            content, result.compression = gzip.compress(content), "GZIP"
        result.content = content
        feed.result_doc = result.doc_id
        feed.status = "FATAL" if fatal is not None else "DONE"
        feed.ended = ended
        feed.fatal = fatal

    def _apply_message(self, message: Json, seen: set[int], now: datetime) -> list[Json]:
        message_id, sku = message.get("messageId"), message.get("sku")
        if not isinstance(message_id, int) or message_id < 1 or message_id in seen:
            return [issue("4000001", "The messageId is missing, invalid or not unique in this feed.")]
        seen.add(message_id)
        if not isinstance(sku, str) or not sku:
            return [issue("4000001", "The message has no sku.")]
        operation = message.get("operationType")
        if operation == "DELETE":
            self.listings.pop(sku, None)
            return []
        product_type = message.get("productType")
        if not isinstance(product_type, str) or not product_type:
            return [issue("4000001", "The message has no productType.")]
        if operation == "UPDATE":
            attributes = message.get("attributes")
            if not isinstance(attributes, dict) or not attributes:
                return [issue(INVALID_CODE, "The attributes are invalid.")]
            return self.replace_listing(sku, product_type, attributes, now)
        if operation == "PATCH":
            patches = message.get("patches")
        elif operation == "PARTIAL_UPDATE" and isinstance(message.get("attributes"), dict):
            patches = [
                {"op": "replace", "path": f"/attributes/{k}", "value": v}
                for k, v in message["attributes"].items()
            ]
        else:
            return [issue("4000001", f"The operationType {operation!r} is not valid for this message.")]
        if not isinstance(patches, list) or not patches:
            return [issue(INVALID_CODE, "The attributes are invalid.")]
        return self.patch(sku, product_type, patches, now)

    def patch(self, sku: str, product_type: str, patches: list[Any], now: datetime) -> list[Json]:
        """Apply a patch as patchListingsItem / a PATCH message does; the ERROR issues if refused."""
        if sku in self.rejections:
            return [self.rejections[sku]]
        if product_type not in self.product_types:
            return [
                issue(
                    INVALID_CODE, f"The product type '{product_type}' is not valid in {self.marketplace_id}."
                )
            ]
        listing = self.listings.get(sku)
        if listing is not None and listing.product_type != product_type:
            return [
                issue(
                    INVALID_CODE,
                    f"The product type '{product_type}' does not match the listing's product type "
                    f"'{listing.product_type}'.",
                )
            ]
        check = self.definitions.get(product_type)
        content = {
            p["path"].removeprefix("/attributes/"): p.get("value")
            for p in patches
            if isinstance(p, dict)
            and p.get("op") in ("add", "replace")
            and isinstance(p.get("path"), str)
            and p["path"].removeprefix("/attributes/")
            not in ("fulfillment_availability", "purchasable_offer")
        }
        if check is not None and content:
            found = [
                issue(INVALID_CODE, message, name or None)
                for name, message in attribute_issues(check, content)
            ]
            if found:
                return found
        if listing is None:
            # Amazon accepts offer data for an unknown SKU and keeps an incomplete, unbuyable listing.
            listing = Listing(sku, product_type, None, None, None, self.currency, sku, now, now)
            found = apply_patches(
                listing, patches, marketplace_id=self.marketplace_id, currency=self.currency, now=now
            )
            if not found:
                self.listings[sku] = listing
            return found
        before = listing.quantity
        found = apply_patches(
            listing, patches, marketplace_id=self.marketplace_id, currency=self.currency, now=now
        )
        self.publish_quantity(listing, before)
        return found
