"""Listings ensured with set-based SQL: created, named by the mapping, renamed when it changes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update

from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger
from omnisync.ledger.tables import LI, P


def listings(ledger: Ledger, channel_id: int) -> dict[str, tuple[str, dict[str, str], bool, bool]]:
    """master SKU -> (channel SKU, ids, dirty, missing)"""
    with ledger.read() as conn:
        rows = conn.execute(
            select(P.c.sku, LI.c.channel_sku, LI.c.ids, LI.c.dirty, LI.c.missing)
            .join(P, P.c.id == LI.c.product_id)
            .where(LI.c.channel_id == channel_id)
        )
        return {r.sku: (r.channel_sku, r.ids, bool(r.dirty), bool(r.missing)) for r in rows}


def test_every_product_gets_one_listing_named_by_the_mapping(ledger_url: str) -> None:
    engine = make_engine(ledger_url)
    upgrade(engine)
    ledger = Ledger(engine)
    with ledger.tx() as tx:
        web = tx.ensure_channel("web", "fake")
        pos = tx.ensure_channel("pos", "fake")
        for sku in ("MUG", "TEE", "CAP"):
            tx.upsert_product(sku, title=sku, price=Decimal("5"))
        tx.ensure_listings(web, {"MUG": "WEB-MUG", "GONE": "WEB-GONE"})
        tx.ensure_listings(pos, {})
    assert listings(ledger, web) == {
        "MUG": ("WEB-MUG", {}, True, False),
        "TEE": ("TEE", {}, True, False),
        "CAP": ("CAP", {}, True, False),
    }
    assert {sku: name for sku, (name, *_) in listings(ledger, pos).items()} == {
        "MUG": "MUG",
        "TEE": "TEE",
        "CAP": "CAP",
    }
    # the channel answered: ids known, nothing to plan
    with ledger.engine.begin() as conn:
        conn.execute(update(LI).values(ids={"id": "x"}, dirty=False, missing=True))
    with ledger.tx() as tx:
        tx.upsert_product("HAT", title="HAT", price=Decimal("5"))
        # the mapping changed: TEE gets an alias, MUG loses its own
        tx.ensure_listings(web, {"TEE": "WEB-TEE"})
    first = listings(ledger, web)
    with ledger.tx() as tx:
        tx.ensure_listings(web, {"TEE": "WEB-TEE"})
    assert listings(ledger, web) == first, "a second start changes nothing"
    assert first == {
        "MUG": ("MUG", {}, True, False),  # renamed: the channel's ids are found again
        "TEE": ("WEB-TEE", {}, True, False),
        "CAP": ("CAP", {"id": "x"}, False, True),  # untouched
        "HAT": ("HAT", {}, True, False),
    }
    assert listings(ledger, pos)["CAP"] == ("CAP", {"id": "x"}, False, True)
    engine.dispose()
