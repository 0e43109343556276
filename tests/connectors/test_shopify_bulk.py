"""Shopify listings in bulk: from ``bulk_listings_from`` products, one ``productSet`` bulk operation
(stagedUploadsCreate, the JSONL posted to the staged target without the access token,
bulkOperationRunMutation, polls, the result file read by ``__lineNumber``) and one for the
publications where needed; each listing's userErrors come back as its own answer."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from graphql import GraphQLSchema
from omnisync_connectors.shopify import documents as docs
from omnisync_connectors.shopify.bulk import jsonl, parse_results
from shopify_fixtures import answer_errors, make, published_schema, request_errors

from omnisync.clock import VirtualClock
from omnisync.sdk import ItemStatus, ListingRef, ProtocolError
from omnisync.testing.conformance_listings import kit_listing


def listings(n: int, prefix: str = "B") -> list:
    return [
        kit_listing(f"{prefix}{i:03d}", f"Tee {i}", [f"{prefix}{i:03d}-S", f"{prefix}{i:03d}-M"], "")
        for i in range(n)
    ]


def operations(emulator) -> list[str]:  # type: ignore[no-untyped-def]
    return [re.search(r"(?:query|mutation) (\w+)", r["query"]).group(1) for r in emulator.requests]  # type: ignore[union-attr]


async def test_many_products_go_as_one_bulk_operation_and_are_published() -> None:
    emulator, conn = make(bulk_listings_from=10)
    results = await conn.upsert_listings(listings(25))
    assert [r.status for r in results] == [ItemStatus.ACCEPTED] * 25, results[0].issues
    ops = operations(emulator)
    assert ops.count("OmnisyncStagedUploads") == 1, "one bulk operation: the products"
    assert ops.count("OmnisyncBulkRun") == 1
    assert ops.count("OmnisyncPublicationUpdate") == 1, "25 new products: one publicationUpdate (50 a call)"
    assert "OmnisyncProductSet" not in ops, "nothing one by one"
    assert "OmnisyncPublish" not in ops
    assert (emulator.bulk.uploads, emulator.bulk.downloads) == (1, 1)
    polls = ops.count("OmnisyncBulkOperation")
    assert len(ops) == 3 + polls
    for n, result in enumerate(results):
        shown = emulator.listing(f"b{n:03d}")
        assert shown is not None
        assert (shown["published"], shown["title"]) == (True, f"Tee {n}")
        assert result.ids == {"product_id": shown["id"]}
        assert set(result.variant_ids) == {f"B{n:03d}-S", f"B{n:03d}-M"}
        assert (result.published, result.issues) == (None, ())

    # an update of the same products, published already, is the one bulk operation and nothing else
    emulator.requests.clear()
    edits = [
        replace(x, title=f"{x.title} (new)", ids=r.ids, published=True)
        for x, r in zip(listings(25), results, strict=True)
    ]
    again = await conn.upsert_listings(edits)
    assert [r.ids for r in again] == [r.ids for r in results]
    assert len(emulator.state.products) == 25
    assert emulator.listing("b007")["title"] == "Tee 7 (new)"  # type: ignore[index]
    ops = operations(emulator)
    assert (ops.count("OmnisyncStagedUploads"), ops.count("OmnisyncBulkRun")) == (1, 1)
    assert len(ops) == 2 + ops.count("OmnisyncBulkOperation"), "no publication call for published products"
    await conn.aclose()


async def test_many_new_products_are_published_by_a_bulk_operation_beyond_250() -> None:
    emulator, conn = make(bulk_listings_from=10)
    emulator.bulk.per_line_s = 0.001
    results = await conn.upsert_listings(listings(260))
    assert all(r.status is ItemStatus.ACCEPTED and r.published is None for r in results), results[0].issues
    ops = operations(emulator)
    assert ops.count("OmnisyncBulkRun") == 2, "productSet, then publishablePublish: 6 publicationUpdate calls"
    assert "OmnisyncPublicationUpdate" not in ops
    assert all(emulator.listing(f"b{n:03d}")["published"] for n in (0, 259))  # type: ignore[index]
    await conn.aclose()


async def test_a_product_the_publication_refuses_is_accepted_but_not_published() -> None:
    emulator, conn = make(bulk_listings_from=10)
    emulator.roots.products.publications.clear()  # the configured publication is gone
    results = await conn.upsert_listings(listings(12))
    assert all(r.status is ItemStatus.ACCEPTED for r in results)
    assert {r.published for r in results} == {False}, "recorded unpublished: the next push publishes again"
    assert results[0].issues == ("publication: Publication not found.",)
    await conn.aclose()


async def test_many_discontinued_products_are_unpublished_by_one_bulk_operation_never_deleted() -> None:
    emulator, conn = make(bulk_listings_from=10)
    made = await conn.upsert_listings(listings(25))
    emulator.requests.clear()
    refs = [ListingRef(r.key, r.ids, ()) for r in made]
    refs.append(ListingRef("GONE", {"product_id": "gid://shopify/Product/999999"}, ()))
    hidden = await conn.unpublish_listings(refs)
    assert [r.status for r in hidden] == [ItemStatus.ACCEPTED] * 25 + [ItemStatus.REJECTED]
    assert hidden[-1].issues == ("identifier.id: Product does not exist",)
    ops = operations(emulator)
    assert (ops.count("OmnisyncBulkRun"), ops.count("OmnisyncPublicationUpdate")) == (1, 1)
    assert "OmnisyncProductStatus" not in ops, "nothing one by one"
    assert len(emulator.state.products) == 25, "never deleted"
    for n in range(25):
        shown = emulator.listing(f"b{n:03d}")
        assert (shown["status"], shown["published"]) == ("DRAFT", False)  # type: ignore[index]
    await conn.aclose()


async def test_below_the_threshold_each_product_is_one_call() -> None:
    emulator, conn = make(bulk_listings_from=10)
    await conn.upsert_listings(listings(3))
    assert operations(emulator).count("OmnisyncProductSet") == 3
    assert emulator.bulk.operations == {}
    await conn.aclose()


async def test_a_line_shopify_refuses_is_that_listing_s_answer_only() -> None:
    emulator, conn = make(bulk_listings_from=2)
    batch = listings(4)
    batch[2] = replace(batch[2], title="")  # a new product without a title
    results = await conn.upsert_listings(batch)
    assert [r.status for r in results] == [
        ItemStatus.ACCEPTED,
        ItemStatus.ACCEPTED,
        ItemStatus.REJECTED,
        ItemStatus.ACCEPTED,
    ]
    assert results[2].issues == ("input.title: Title can't be blank",)
    assert emulator.listing("b002") is None
    await conn.aclose()


async def test_a_failed_operation_keeps_what_it_did_and_retries_the_rest_without_duplicates() -> None:
    emulator, conn = make(bulk_listings_from=2)
    emulator.bulk.fail_next = 1
    batch = listings(10)
    first = await conn.upsert_listings(batch)
    done = [r for r in first if r.status is ItemStatus.ACCEPTED]
    retry = [r for r in first if r.status is ItemStatus.RETRY]
    assert (len(done), len(retry)) == (5, 5), "half the lines ran before the failure (partialDataUrl)"
    assert "ended FAILED (INTERNAL_SERVER_ERROR)" in retry[0].issues[0]
    second = await conn.upsert_listings(batch)  # the engine sends them all again: ids unknown
    assert all(r.status is ItemStatus.ACCEPTED for r in second)
    assert len(emulator.state.products) == 10, "found by handle: nothing created twice"
    await conn.aclose()


async def test_a_running_operation_is_waited_for_then_the_next_one_starts() -> None:
    clock = VirtualClock()
    emulator, conn = make(clock, bulk_listings_from=2, bulk_timeout_s=30.0, bulk_poll_interval_s=5.0)
    emulator.bulk.per_line_s = 4.0  # a slow shop: 10 lines take 40 s, more than one push waits
    slow = await conn.upsert_listings(listings(10))
    assert all(r.status is ItemStatus.RETRY for r in slow)
    assert "still running" in slow[0].issues[0]
    emulator.bulk.per_line_s = 0.01
    later = await conn.upsert_listings(listings(4, prefix="C"))
    assert all(r.status is ItemStatus.ACCEPTED for r in later), later[0].issues
    assert "OmnisyncCurrentBulkMutation" in operations(emulator), "OPERATION_IN_PROGRESS: waited"
    await conn.aclose()


async def test_the_storage_refuses_the_access_token_and_a_forged_form() -> None:
    emulator, conn = make()
    target = emulator.bulk.staged_uploads(
        None, [{"resource": "BULK_MUTATION_VARIABLES", "filename": "v.jsonl", "mimeType": "text/jsonl"}]
    )["stagedTargets"][0]
    form = {p["name"]: p["value"] for p in target["parameters"]}
    assert emulator.bulk.receive(form, b"{}\n", token_sent=True)[0] == 400
    assert emulator.bulk.receive({**form, "x-goog-signature": "0" * 64}, b"{}\n", token_sent=False)[0] == 403
    assert emulator.bulk.receive(form, b"{}\n", token_sent=False)[0] == 201
    await conn.aclose()


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        ("query { location { id } }", "INVALID_MUTATION"),
        (docs.BULK_RUN_MUTATION, "INVALID_MUTATION"),
        ("mutation { productSet(input: {title: 1}) { product { id } } }", "INVALID_MUTATION"),
    ],
)
def test_a_mutation_shopify_would_not_run_in_bulk_is_refused(mutation: str, code: str) -> None:
    emulator, _ = make()
    answer = emulator.bulk.run_mutation(None, mutation, "tmp/1/bulk/x/v.jsonl")
    assert answer["userErrors"][0]["code"] == code


def test_a_missing_file_is_refused() -> None:
    emulator, _ = make()
    answer = emulator.bulk.run_mutation(None, docs.PRODUCT_SET, "tmp/1/bulk/nothing/v.jsonl")
    assert answer["userErrors"][0]["code"] == "NO_SUCH_FILE"


def test_result_lines_are_read_by_line_number_in_any_order() -> None:
    raw = b'{"data":{"x":2},"__lineNumber":1}\n{"data":{"x":1},"__lineNumber":0}\n'
    assert parse_results(raw, "shop") == {
        1: {"data": {"x": 2}, "__lineNumber": 1},
        0: {"data": {"x": 1}, "__lineNumber": 0},
    }
    with pytest.raises(ProtocolError):
        parse_results(b'{"data":{}}\n', "shop")
    assert jsonl([{"a": 1}, {"b": 2}]) == b'{"a":1}\n{"b":2}\n'


# -- against the published schema ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def schema(specs_dir: Path) -> GraphQLSchema:
    return published_schema(specs_dir)


async def test_every_bulk_request_its_lines_and_answers_fit_the_published_schema(
    schema: GraphQLSchema,
) -> None:
    emulator, conn = make(bulk_listings_from=2)
    emulator.bulk.fail_next = 0
    batch = listings(3)
    batch[1] = replace(batch[1], title="")
    await conn.upsert_listings(batch)
    emulator.bulk.per_line_s = 0.001
    made = await conn.upsert_listings(listings(260, prefix="P"))  # published by a bulk operation
    await conn.unpublish_listings([ListingRef(r.key, r.ids, ()) for r in made])  # DRAFT, then off
    seen = set()
    for request in emulator.requests:
        seen.add(re.search(r"(?:query|mutation) (\w+)", request["query"]).group(1))  # type: ignore[union-attr]
        assert request_errors(schema, request["query"], request["variables"]) == []
        response = request["response"]
        assert "errors" not in response, response.get("errors")
        assert [
            str(p) for p in answer_errors(schema, request["query"], request["variables"], response["data"])
        ] == []
    assert {"OmnisyncStagedUploads", "OmnisyncBulkRun", "OmnisyncBulkOperation"} <= seen
    bulk_ops = {re.search(r"mutation (\w+)", op.query).group(1) for op in emulator.bulk.operations.values()}  # type: ignore[union-attr]
    assert bulk_ops == {"OmnisyncProductSet", "OmnisyncPublish", "OmnisyncProductStatus", "OmnisyncUnpublish"}
    for op in emulator.bulk.operations.values():
        for line, raw in zip(op.lines, op.results, strict=True):
            assert request_errors(schema, op.query, line) == [], "each JSONL line is valid variables"
            answer = json.loads(raw)
            assert answer_errors(schema, op.query, line, answer["data"]) == []
    await conn.aclose()
