"""Undo, as rules and on a real ledger: an import undone restores the counts before it exactly."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync import ledgerio
from omnisync.audit import Journalled, plan_undo
from omnisync.clock import VirtualClock
from omnisync.ledger import journal
from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger, LedgerError

SKUS = ("A", "B", "C")
LOCATIONS = ("WH", "STORE")


def mv(id_: int, kind: str, quantity: int, pair: tuple[int, int] = (1, 1)) -> Journalled:
    return Journalled(id_, "A", "WH", kind, quantity, *pair)


def test_an_undo_negates_each_movement_once() -> None:
    plan = plan_undo([mv(1, "receipt", 5), mv(2, "adjustment", -2)], {(1, 1): (10, 0)}, undone=[])
    assert [(c.undoes.id, c.quantity, c.key) for c in plan.compensations] == [
        (1, -5, "undo:1"),
        (2, 2, "undo:2"),
    ]
    again = plan_undo([mv(1, "receipt", 5)], {(1, 1): (5, 0)}, undone=[1])
    assert again.compensations == ()
    assert again.already == (1,)


def test_an_undo_never_takes_back_what_an_order_did() -> None:
    plan = plan_undo([mv(1, "receipt", 5), mv(2, "sale", -1)], {(1, 1): (10, 0)}, undone=[])
    assert plan.compensations == ()
    assert "cancel or refund the order" in plan.refusals[0]


def test_an_undo_never_leaves_less_than_is_reserved() -> None:
    plan = plan_undo([mv(1, "receipt", 5)], {(1, 1): (7, 3)}, undone=[])
    assert plan.compensations == ()
    assert plan.refusals == ("A at WH: undoing would leave 2 on hand, below the 3 reserved by open orders",)
    assert plan_undo([mv(1, "receipt", 5)], {(1, 1): (8, 3)}, undone=[]).refusals == ()


counts = st.fixed_dictionaries({(s, loc): st.integers(0, 30) for s in SKUS for loc in LOCATIONS})


@settings(max_examples=25, deadline=None)
@given(before=counts, target=counts, later=st.tuples(st.sampled_from(SKUS), st.integers(-30, 30)))
def test_undo_of_an_import_restores_what_it_changed_or_refuses_whole(
    before: dict[tuple[str, str], int], target: dict[tuple[str, str], int], later: tuple[str, int]
) -> None:
    clock = VirtualClock()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ledger = Ledger(make_engine(f"sqlite:///{folder / 'ledger.db'}"))
        upgrade(ledger.engine)
        with ledger.tx() as tx:
            for code in LOCATIONS:
                tx.ensure_location(code, code, "warehouse")
        header = "sku,title,barcode,tags,price,currency,active,stock:WH,stock:STORE\n"

        def write(name: str, levels: dict[tuple[str, str], int]) -> Path:
            path = folder / name
            rows = "".join(
                f"{s},{s},,,1.00,EUR,true,{levels[(s, 'WH')]},{levels[(s, 'STORE')]}\n" for s in SKUS
            )
            path.write_text(header + rows)
            return path

        def levels() -> dict[tuple[str, str], int]:
            with ledger.read() as conn:
                codes = {lid: row.code for lid, row in ledger.locations(conn).items()}
                ids = {s: ledger.product_id(conn, s) for s in SKUS}
                stock = ledger.stock_for(conn, list(ids.values()))
            found = {
                (s, codes[lid]): oh for s, pid in ids.items() for lid, (oh, _) in stock.get(pid, {}).items()
            }
            return {(s, loc): found.get((s, loc), 0) for s in SKUS for loc in LOCATIONS}

        ledgerio.import_csv(ledger, write("before.csv", before), clock.now())
        start = levels()
        imported = ledgerio.import_csv(ledger, write("count.csv", target), clock.now())
        sku, delta = later
        with ledger.tx() as tx:  # a sale-floor correction between the import and its undo
            tx.record_movement(sku, "WH", "adjustment", delta, "later", at=clock.now())
        after_later = levels()
        if imported["import_id"] is None:
            return  # the file changed nothing: there is nothing to undo
        try:
            with ledger.tx() as tx:
                plan = journal.undo(ledger, tx, imported["import_id"], actor="test", at=clock.now())
                if plan.refusals:
                    raise LedgerError("refused")
        except LedgerError:
            assert levels() == after_later, "a refused undo writes nothing"
            assert any(v < 0 for v in _expected(start, sku, delta).values())
            return
        assert levels() == _expected(start, sku, delta)
        ledger.engine.dispose()


def _expected(start: dict[tuple[str, str], int], sku: str, delta: int) -> dict[tuple[str, str], int]:
    expected = dict(start)
    expected[(sku, "WH")] += delta
    return expected
