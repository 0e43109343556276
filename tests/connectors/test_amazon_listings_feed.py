"""Amazon listings in bulk: from ``feed_listings_from`` products, JSON_LISTINGS_FEED messages (UPDATE
for a new SKU, PATCH of its content for an existing one) in feeds of at most 25,000 messages,
submitted together and polled in the same rounds; each message checked against the product type's
schema first; the processing report's issues mapped back to their SKU. Documents checked against the
published feed schemas."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from amazon_fixtures import feed_validators, make, make_recorded
from omnisync_connectors.amazon import feeds
from omnisync_connectors.amazon.listings import feed_message, messages

from omnisync.sdk import ItemStatus, ListingRef
from omnisync.testing.conformance_listings import kit_listing


def tees(n: int, category: str = "PRODUCT") -> list:
    out = []
    for i in range(n):
        listing = kit_listing(f"T{i:03d}", f"Tee {i}", [f"T{i:03d}-S", f"T{i:03d}-M"], category)
        out.append(replace(listing, variants=tuple(replace(v, currency="USD") for v in listing.variants)))
    return out


def uploaded(emulator) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(emulator.documents[f.input_doc].content) for f in emulator.feeds.values()]


async def test_many_new_products_go_as_update_messages_in_one_feed() -> None:
    connector, emulator = make(feed_listings_from=5)
    results = await connector.upsert_listings(tees(8))
    assert [r.status for r in results] == [ItemStatus.ACCEPTED] * 8, results[0].issues
    assert emulator.calls["putListingsItem"] == 0, "no listing written one by one"
    assert emulator.calls["createFeed"] == 1
    [document] = uploaded(emulator)
    assert len(document["messages"]) == 8 * 3, "a parent and two children a product"
    assert {m["operationType"] for m in document["messages"]} == {"UPDATE"}
    child = emulator.listings["T003-M"]
    assert child.attributes["child_parent_sku_relationship"][0]["parent_sku"] == "T003"
    assert (child.quantity, child.price) == (0, tees(8)[3].variants[1].price), "0 units: stock takes over"
    assert set(results[3].variant_ids) == {"T003-S", "T003-M"}

    # an edit of the same products patches their content: the quantity Amazon holds stays
    emulator.listings["T003-M"].quantity = 7
    edits = []
    for listing, made in zip(tees(8), results, strict=True):
        variants = tuple(replace(v, ids=made.variant_ids[v.channel_sku]) for v in listing.variants)
        edits.append(replace(listing, title=f"{listing.title} (new)", ids=made.ids, variants=variants))
    again = await connector.upsert_listings(edits)
    assert all(r.status is ItemStatus.ACCEPTED for r in again)
    second = uploaded(emulator)[1]
    assert {m["operationType"] for m in second["messages"] if m["sku"] != "T003"} == {"PATCH"}
    assert emulator.listings["T003"].item_name == "Tee 3 (new)"
    assert emulator.listings["T003-M"].quantity == 7, "a content edit never touches the quantity"
    await connector.aclose()


async def test_more_messages_than_a_feed_takes_go_as_feeds_submitted_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feeds, "MAX_MESSAGES", 10)
    connector, emulator = make(feed_listings_from=5)
    results = await connector.upsert_listings(tees(7))  # 21 messages: feeds of 10, 10 and 1
    assert all(r.status is ItemStatus.ACCEPTED for r in results), results[0].issues
    assert [len(d["messages"]) for d in uploaded(emulator)] == [10, 10, 1]
    assert [f.created for f in emulator.feeds.values()] == [next(iter(emulator.feeds.values())).created] * 3
    await connector.aclose()


async def test_a_product_the_schema_refuses_is_not_sent_and_amazon_s_issues_are_its_own() -> None:
    connector, emulator = make(feed_listings_from=3)
    batch = tees(5)
    batch[1] = replace(batch[1], brand="")  # the schema requires a brand
    emulator.reject_sku("T003-S", "The listing is blocked for this seller.")
    results = await connector.upsert_listings(batch)
    assert results[1].status is ItemStatus.REJECTED
    assert any("brand" in i for i in results[1].issues)
    assert results[3].status is ItemStatus.REJECTED
    assert results[3].issues == ("T003-S: 8572: The listing is blocked for this seller.",)
    assert [results[n].status for n in (0, 2, 4)] == [ItemStatus.ACCEPTED] * 3
    [document] = uploaded(emulator)
    assert not any(m["sku"].startswith("T001") for m in document["messages"]), "checked before sending"
    await connector.aclose()


async def test_a_fatal_feed_leaves_its_listings_to_retry() -> None:
    connector, emulator = make(feed_listings_from=2)
    emulator.fail_next_feed("The feed could not be processed because of an internal error.")
    results = await connector.upsert_listings(tees(3))
    assert {r.status for r in results} == {ItemStatus.RETRY}
    assert "ended FATAL" in results[0].issues[0]
    await connector.aclose()


async def test_many_discontinued_products_lose_their_offers_by_one_feed_never_deleted() -> None:
    connector, emulator = make(feed_listings_from=5)
    made = await connector.upsert_listings(tees(8))
    refs = [ListingRef(r.key, r.ids, tuple(r.variant_ids)) for r in made]
    emulator.reject_sku("T005-M", "The listing is blocked for this seller.")
    hidden = await connector.unpublish_listings(refs)
    assert [r.status for r in hidden] == [ItemStatus.ACCEPTED] * 5 + [ItemStatus.REJECTED] + [
        ItemStatus.ACCEPTED
    ] * 2
    assert hidden[5].issues == ("T005-M: 8572: The listing is blocked for this seller.",)
    assert emulator.calls["patchListingsItem"] == 0, "nothing one by one"
    assert emulator.calls["createFeed"] == 2, "the create, then the unpublish"
    second = uploaded(emulator)[1]
    assert len(second["messages"]) == 8 * 2, "one PATCH a variant"
    assert {m["operationType"] for m in second["messages"]} == {"PATCH"}
    assert "T003-M" in emulator.listings, "never deleted"
    assert "purchasable_offer" not in emulator.listings["T003-M"].attributes, "not buyable"
    await connector.aclose()


async def test_few_products_are_put_one_by_one() -> None:
    connector, emulator = make(feed_listings_from=5)
    await connector.upsert_listings(tees(2))
    assert emulator.calls["putListingsItem"] == 6
    assert emulator.calls["createFeed"] == 0
    await connector.aclose()


async def test_listing_feeds_follow_the_published_feed_schemas(specs_dir: Path) -> None:
    feed_schema, message_schema, report_schema = feed_validators(specs_dir)
    connector, emulator, recording = make_recorded(feed_listings_from=2)
    made = await connector.upsert_listings(tees(3))
    edits = [
        replace(x, title="New", ids=r.ids, variants=tuple(replace(v, ids={"a": "b"}) for v in x.variants))
        for x, r in zip(tees(3), made, strict=True)
    ]
    await connector.upsert_listings(edits)
    await connector.unpublish_listings([ListingRef(r.key, r.ids, tuple(r.variant_ids)) for r in made])
    uploads = [
        q for q, _ in recording.exchanges if q.method == "PUT" and q.url.path.startswith("/NinetyDays/")
    ]
    assert len(uploads) == 3
    kinds = set()
    for upload in uploads:
        assert "x-amz-access-token" not in upload.headers
        document = json.loads(upload.content)
        feed_schema.validate(document)
        for message in document["messages"]:
            message_schema.validate(message)
            kinds.add(message["operationType"])
    assert kinds == {"UPDATE", "PATCH"}
    for feed in emulator.feeds.values():
        stored = emulator.documents[feed.result_doc or ""]
        report_schema.validate(json.loads(stored.content or b"{}"))
    await connector.aclose()


async def test_the_emulator_checks_an_update_message_against_the_whole_schema() -> None:
    """What the local check would have caught, Amazon catches too: an UPDATE is a whole listing."""
    connector, emulator = make()
    [good, *_] = messages_of(tees(1)[0], connector)
    bad = {
        **good,
        "sku": "NOBRAND",
        "attributes": {k: v for k, v in good["attributes"].items() if k != "brand"},
    }
    document = emulator.new_document("application/json; charset=UTF-8")
    document.content = json.dumps(feeds.build_document(emulator.seller_id, [good, bad])).encode()
    feed = emulator.create_feed("JSON_LISTINGS_FEED", [emulator.marketplace_id], document)
    await emulator.clock.sleep(feed.end_s - emulator.clock.monotonic() + 1)
    emulator.advance()
    report = json.loads(emulator.documents[feed.result_doc or ""].content or b"{}")
    assert [(i["messageId"], i["severity"]) for i in report["issues"]] == [(2, "ERROR")]
    assert "brand" in report["issues"][0]["message"]
    assert good["sku"] in emulator.listings
    assert "NOBRAND" not in emulator.listings
    await connector.aclose()


def messages_of(listing, connector) -> list[dict]:  # type: ignore[no-untyped-def]
    return [feed_message(m, "PRODUCT") for m in messages(listing, connector.settings)]
