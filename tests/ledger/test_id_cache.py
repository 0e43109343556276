"""The ledger's id caches hold only ids that exist: one learned in a rolled-back transaction is not kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger
from omnisync.ledger.tables import LedgerError


class Abandon(Exception):
    pass


def create_and_abandon(ledger: Ledger) -> None:
    with ledger.tx() as tx:
        ghost = tx.upsert_product("GHOST", title="Ghost", price=Decimal("1"))
        tx.ensure_location("POPUP")
        # known inside its own transaction, by one lookup and by many
        assert ledger.product_id(tx.conn, "GHOST") == ghost
        assert ledger.find_product_ids(tx.conn, ["GHOST", "MUG"])["GHOST"] == ghost
        assert ledger.location_id(tx.conn, "POPUP")
        with ledger.read() as other:  # not to another connection before it commits
            assert ledger.find_product_id(other, "GHOST") is None
        raise Abandon


def test_an_id_learned_in_a_rolled_back_transaction_is_not_cached(ledger_url: str) -> None:
    engine = make_engine(ledger_url)
    upgrade(engine)
    ledger = Ledger(engine)
    with ledger.tx() as tx:
        tx.upsert_product("MUG", title="Mug", price=Decimal("5"))
    with pytest.raises(Abandon):
        create_and_abandon(ledger)
    with ledger.read() as conn:
        assert ledger.find_product_id(conn, "GHOST") is None
        assert ledger.find_product_ids(conn, ["GHOST", "MUG"]).keys() == {"MUG"}
        with pytest.raises(LedgerError, match="unknown SKU 'GHOST'"):
            ledger.product_id(conn, "GHOST")
        with pytest.raises(LedgerError, match="unknown location 'POPUP'"):
            ledger.location_id(conn, "POPUP")
    with ledger.tx() as tx:  # created again for real: the new id, cached once committed
        again = tx.upsert_product("GHOST", title="Ghost", price=Decimal("1"))
    with ledger.read() as conn:
        assert ledger.product_id(conn, "GHOST") == again
    engine.dispose()
