"""Listing issues read back: Amazon raises an issue on a listing it accepted; a later listing run
reads it (getListingsItem, includedData=issues), records it on the listing, where ``status`` and the
page show it, and clears it once Amazon does; a pending change stays pending meanwhile."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from amazonworld import AmazonWorld

from omnisync.engine.listing_issues import ISSUES_EVERY_S, due_for_issues
from omnisync.ledger import queries
from omnisync.ledger.rows import CatalogueItem, ListingContentRow

TEE: CatalogueItem = {
    "handle": "TEE",
    "title": "Classic tee",
    "description": "Plain.",
    "brand": "Acme",
    "condition": "new",
    "status": "active",
    "images": ["https://img.example/tee.jpg"],
    "attributes": {},
    "options": ["Size"],
}


def answers(w: AmazonWorld) -> dict[str, tuple[str, ...]]:
    with w.ledger.read() as conn:
        return {a.product: a.issues for a in queries.catalogue_listings(conn, "amazon").answers}


async def test_issues_amazon_raises_later_are_read_back_recorded_and_cleared(tmp_path: Path) -> None:
    w = AmazonWorld(tmp_path, amazon_mapping={"listings": "create", "listing": {"category": "PRODUCT"}})
    await w.start([], 0)
    with w.ledger.tx() as tx:
        for size, barcode in (("S", "4006381333986"), ("M", "4006381333993")):
            tx.upsert_product(
                f"TEE-{size}", title=f"Tee {size}", barcode=barcode, price=Decimal("20.00"), currency="USD"
            )
        tx.upsert_catalogue([TEE], {"TEE-S": ("TEE", {"Size": "S"}), "TEE-M": ("TEE", {"Size": "M"})})
    w.engine.ensure_listings()
    _, done = await w.engine.push_listings("amazon")
    assert done.created == 1, done.issues
    assert done.issues_read == {}, "just pushed: not read back yet"

    w.amazon.flag_issue(
        "TEE-M", "The image does not meet the requirements.", attribute="main_product_image_locator"
    )
    await w.clock.sleep(ISSUES_EVERY_S + 1)
    _, again = await w.engine.push_listings("amazon", dirty_only=True)
    assert again.issues_read == {"TEE": ("TEE-M: 18027: The image does not meet the requirements.",)}
    assert answers(w) == {"TEE": ("TEE-M: 18027: The image does not meet the requirements.",)}

    with w.ledger.tx() as tx:  # a pending change to the product
        tx.upsert_catalogue([{**TEE, "title": "Classic tee 2"}], {})
    w.amazon.clear_issues("TEE-M")
    await w.clock.sleep(ISSUES_EVERY_S + 1)
    issues_only = await w.engine.read_listing_issues("amazon")
    assert issues_only == {"TEE": ()}
    assert answers(w) == {}, "cleared once Amazon clears it"
    [planned] = w.engine.plan_listings("amazon", dirty_only=True)
    assert planned.decision.action.value == "update", "reading issues leaves a pending change pending"
    await w.close()


def test_listings_with_issues_are_read_first_then_the_longest_unread() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 1, 1, tzinfo=UTC)

    def row(cid: int, minutes_ago: float | None, issues: tuple[str, ...] = (), action: str = "create"):  # type: ignore[no-untyped-def]
        at = None if minutes_ago is None else now - timedelta(minutes=minutes_ago)
        return ListingContentRow(1, cid, {"sku": str(cid)}, "d", {}, True, False, issues, action, at)

    states = {
        1: row(1, 20),
        2: row(2, 60),
        3: row(3, 15, ("x",)),
        4: row(4, 5),  # read 5 minutes ago: not due
        5: row(5, 90, action="rejected"),  # never on the channel
        6: ListingContentRow(1, 6, {}, None, {}, None, True, (), None, None),
    }
    assert due_for_issues(states, now, ISSUES_EVERY_S, 10) == [3, 2, 1]
    assert due_for_issues(states, now, ISSUES_EVERY_S, 2) == [3, 2]
