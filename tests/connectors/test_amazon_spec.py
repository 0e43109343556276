"""What the connector sends and what the emulator answers, checked against the official SP-API models."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from amazon_fixtures import Recording, feed_validators, make_recorded, model_for, seed
from omnisync_connectors.amazon import AmazonConnector
from omnisync_connectors.amazon.emulator import AmazonEmulator

from omnisync.sdk import InventoryUpdate, ItemStatus, ListingRef, OrderCursor, PriceUpdate
from omnisync.testing.conformance_listings import kit_listing
from omnisync.testing.harness import Fault

ALL_OPERATIONS = {
    "getListingsItem",
    "patchListingsItem",
    "createFeedDocument",
    "createFeed",
    "getFeed",
    "getFeedDocument",
    "getOrders",
    "getOrderItems",
    "putListingsItem",
    "getDefinitionsProductType",
    "searchListingsItems",
}


async def exercise(connector: AmazonConnector, emulator: AmazonEmulator) -> None:
    """Every operation the connector has: discovery, both push paths for stock and price, orders."""
    skus = seed(emulator, 12)
    emulator.reject_sku(skus[11])
    listings = await connector.read_listings([*skus, "NOT-THERE"])
    ids = {li.channel_sku: li.ids for li in listings}
    await connector.read_inventory([])
    few = [InventoryUpdate(s, s, 3, 10, 2, f"k{s}", ids[s]) for s in skus[:2]]
    await connector.push_inventory(few)
    await connector.push_prices(
        [PriceUpdate(skus[0], skus[0], Decimal("21.50"), "USD", 2, "p", ids=ids[skus[0]])]
    )
    connector.settings = connector.settings.model_copy(update={"feed_threshold": 2})
    connector.api.settings = connector.feeds.settings = connector.settings
    many = [InventoryUpdate(s, s, 4, 10, 3, f"k{s}", ids[s]) for s in skus]
    await connector.push_inventory(many)
    await connector.push_prices([PriceUpdate(s, s, Decimal("9.95"), "USD", 3, "p", ids=ids[s]) for s in skus])
    for sku in skus[:3]:
        emulator.place_order(sku, 1)
    shipped = emulator.place_order(skus[3], 2)
    emulator.ship_order(shipped)
    cancelled = emulator.place_order(skus[4], 1, status="Pending")
    emulator.cancel_order(cancelled)
    cursor = OrderCursor(None)
    while True:
        page = await connector.pull_orders(cursor)
        if page.next_page_token is None:
            break
        cursor = OrderCursor(None, page.next_page_token)
    tee = kit_listing("TEE", "Classic tee", ["TEE-S", "TEE-M"], "PRODUCT")
    tee = replace(tee, variants=tuple(replace(v, currency="USD") for v in tee.variants))
    [made] = await connector.upsert_listings([tee])
    assert made.status is ItemStatus.ACCEPTED, made.issues
    variants = tuple(replace(v, ids=made.variant_ids[v.channel_sku]) for v in tee.variants)
    await connector.upsert_listings([replace(tee, title="Classic tee 2", ids=made.ids, variants=variants)])
    await connector.unpublish_listings([ListingRef("TEE", made.ids, ("TEE-S", "TEE-M"))])
    emulator.flag_issue(
        "TEE-M", "Image too small.", severity="WARNING", attribute="main_product_image_locator"
    )
    issues = await connector.read_listing_issues([ListingRef("TEE", made.ids, ("TEE-S", "TEE-M"))])
    assert issues == {"TEE": ("TEE-M: WARNING 18027: Image too small.",)}
    page = await connector.read_catalogue(None)  # searchListingsItems, two pages of 20
    assert "TEE" in {p.key for p in page.products}


async def test_requests_and_answers_follow_the_models(specs_dir: Path) -> None:
    connector, emulator, recording = make_recorded(orders_page_size=2)
    await exercise(connector, emulator)
    seen: set[str] = set()
    for request, response in recording.sp_api():
        model = model_for(specs_dir, str(request.url))
        seen.add(model.validate_request(request.method, str(request.url), request.content))
        model.validate_response(request.method, str(request.url), response.status_code, response.json())
        assert "x-amz-access-token" in request.headers
        assert response.headers.get("x-amzn-RequestId")
    assert seen == ALL_OPERATIONS


async def test_feed_documents_and_reports_follow_the_feed_schemas(specs_dir: Path) -> None:
    feed_schema, message_schema, report_schema = feed_validators(specs_dir)
    connector, emulator, recording = make_recorded(feed_threshold=2)
    await exercise(connector, emulator)
    uploads = [
        q for q, _ in recording.exchanges if q.method == "PUT" and q.url.path.startswith("/NinetyDays/")
    ]
    assert len(uploads) >= 2
    for upload in uploads:
        assert "x-amz-access-token" not in upload.headers, "the presigned upload must not carry the token"
        document = json.loads(upload.content)
        feed_schema.validate(document)
        for message in document["messages"]:
            message_schema.validate(message)
    reports = [emulator.documents[f.result_doc] for f in emulator.feeds.values() if f.result_doc]
    assert reports
    with_errors = 0
    for stored in reports:
        raw = gzip.decompress(stored.content) if stored.compression == "GZIP" else stored.content
        report = json.loads(raw)
        report_schema.validate(report)
        with_errors += any(i.get("messageId") for i in report["issues"])
    assert with_errors, "the rejected SKU shows up as a per-message issue"


async def test_fatal_and_gzip_reports_follow_the_schema(specs_dir: Path) -> None:
    _, _, report_schema = feed_validators(specs_dir)
    connector, emulator, _ = make_recorded(feed_threshold=1)
    skus = seed(emulator, 3000)
    emulator.reject_sku(skus[0])
    emulator.fail_next_feed("The feed could not be processed.")
    updates = [InventoryUpdate(s, s, 1, None, 1, "k", {"product_type": "PRODUCT"}) for s in skus[:5]]
    await connector.push_inventory(updates)  # FATAL
    await connector.push_inventory(
        [InventoryUpdate(s, s, 1, None, 1, "k", {"product_type": "NO_SUCH_TYPE"}) for s in skus]
    )  # many issues: a large report, gzipped
    compressions = set()
    for feed in emulator.feeds.values():
        stored = emulator.documents[feed.result_doc or ""]
        compressions.add(stored.compression)
        raw = gzip.decompress(stored.content) if stored.compression == "GZIP" else stored.content
        report_schema.validate(json.loads(raw))
    assert {f.status for f in emulator.feeds.values()} == {"FATAL", "DONE"}
    assert compressions == {None, "GZIP"}


async def test_error_answers_follow_the_models(specs_dir: Path) -> None:
    emulator = AmazonEmulator()
    seed(emulator, 1)
    recording = Recording(emulator.transport())
    async with httpx.AsyncClient(
        transport=recording, base_url="https://sellingpartnerapi-na.amazon.com"
    ) as http:
        token = (
            await http.post(
                "https://api.amazon.com/auth/o2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": emulator.refresh_token,
                    "client_id": emulator.client_id,
                    "client_secret": emulator.client_secret,
                },
            )
        ).json()["access_token"]
        headers = {"x-amz-access-token": token}
        item = (
            f"/listings/2021-08-01/items/{emulator.seller_id}/NOPE?marketplaceIds={emulator.marketplace_id}"
        )
        assert (await http.get(item, headers=headers)).status_code == 404
        assert (await http.get(item)).status_code == 403
        emulator.fail_next(Fault.THROTTLE)
        assert (await http.get("/feeds/2021-06-30/feeds/1", headers=headers)).status_code == 429
        assert (await http.get("/feeds/2021-06-30/feeds/1", headers=headers)).status_code == 404
        assert (await http.get("/orders/v0/orders?MarketplaceIds=X", headers=headers)).status_code == 400
        emulator.fail_next(Fault.SERVER_ERROR)
        assert (await http.get("/orders/v0/orders/1-2-3/orderItems", headers=headers)).status_code == 500
        assert (await http.post("/feeds/2021-06-30/feeds", headers=headers, json={})).status_code == 400
    for request, response in recording.sp_api():
        model = model_for(specs_dir, str(request.url))
        model.validate_response(request.method, str(request.url), response.status_code, response.json())


@pytest.mark.parametrize(
    ("region", "marketplace"), [("na", "ATVPDKIKX0DER"), ("eu", "A1PA6795UKMFR9"), ("fe", "A1VC38T7YXB528")]
)
async def test_region_picks_the_documented_endpoint(region: str, marketplace: str) -> None:
    connector, _, recording = make_recorded({"region": region, "marketplace_id": marketplace})
    await connector.read_listings(["X"])
    hosts = {q.url.host for q, _ in recording.sp_api()}
    assert hosts == {f"sellingpartnerapi-{region}.amazon.com"}
    assert {q.url.host for q, _ in recording.exchanges if q.url.path == "/auth/o2/token"} == {
        "api.amazon.com"
    }
