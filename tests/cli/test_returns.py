"""Returns disposition: only restockable units go back to what channels are offered; damaged units and
units to inspect are counted apart, every step journalled, conservation holding per bucket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import deploy, run

from omnisync import invariants, returns
from omnisync.config import load_config
from omnisync.ledger import queries
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CLI_TOKEN", raising=False)
    monkeypatch.delenv("OMNISYNC_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    deploy(tmp_path)
    run("init")
    run("ledger", "import", "stock.csv")  # MUG: WH 3, STORE 4
    return tmp_path


def levels() -> dict[str, dict[str, int]]:
    return {r["location"]: r for r in json.loads(run("stock", "levels", "MUG", "--json").stdout)}


def test_only_restockable_units_go_back_to_the_sellable_stock(folder: Path) -> None:
    said = run("returns", "receive", "MUG", "STORE", "--restockable", "1", "--damaged", "2", "--inspect", "1")
    assert "5 on hand, 2 damaged, 1 to inspect" in said.stdout
    store = levels()["STORE"]
    assert (store["on_hand"], store["available"], store["damaged"], store["inspect"]) == (5, 5, 2, 1)
    run("returns", "inspect", "MUG", "STORE", "--restock", "1")
    run("stock", "write-off", "MUG", "STORE", "2")
    store = levels()["STORE"]
    assert (store["on_hand"], store["damaged"], store["inspect"]) == (6, 0, 0)
    history = json.loads(run("history", "MUG", "--json").stdout)
    assert {(r["kind"], r["bucket"]) for r in history} >= {
        ("return", None),
        ("return", "damaged"),
        ("return", "inspect"),
        ("inspected", "inspect"),
        ("inspected", None),
        ("write_off", "damaged"),
    }


def test_the_journal_still_sums_to_on_hand_with_buckets(folder: Path) -> None:
    run("returns", "receive", "MUG", "WH", "--damaged", "3", "--inspect", "2")
    run("returns", "inspect", "MUG", "WH", "--restock", "1", "--damaged", "1")
    ledger = Ledger(make_engine(load_config(folder / "omnisync.yaml", offline=True).ledger_url()))
    with ledger.read() as conn:
        books = queries.stock_books(conn)
    assert invariants.conservation_problems(books.stock, books.journal, books.held) == []
    wh = levels()["WH"]
    assert (wh["on_hand"], wh["damaged"], wh["inspect"]) == (4, 4, 0)


def test_a_repeated_key_changes_nothing(folder: Path) -> None:
    run("returns", "receive", "MUG", "WH", "--damaged", "1", "--key", "rma-7")
    again = run("returns", "receive", "MUG", "WH", "--damaged", "1", "--key", "rma-7")
    assert "nothing changed" in again.stdout
    assert levels()["WH"]["damaged"] == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["returns", "receive", "MUG", "WH"], "nothing returned"),
        (["returns", "inspect", "MUG", "WH", "--restock", "2"], "only 0 units wait for inspection"),
        (["stock", "write-off", "MUG", "WH", "1"], "only 0 damaged units"),
        (["returns", "receive", "NOPE", "WH", "--damaged", "1"], "unknown SKU 'NOPE'"),
    ],
)
def test_impossible_dispositions_are_one_line_and_write_nothing(
    folder: Path, args: list[str], words: str
) -> None:
    before = levels()
    result = run(*args, code=2)
    assert words in result.stderr
    assert "Traceback" not in result.output
    assert levels() == before


def test_rules_refuse_what_cannot_be() -> None:
    with pytest.raises(returns.DispositionError):
        returns.received(-1, 0, 0)
    assert [(m.kind, m.quantity, m.bucket) for m in returns.inspected(2, 1, waiting=3)] == [
        ("inspected", -3, "inspect"),
        ("inspected", 2, None),
        ("inspected", 1, "damaged"),
    ]
    with pytest.raises(returns.DispositionError, match="only 1 damaged"):
        returns.written_off(2, damaged=1)
