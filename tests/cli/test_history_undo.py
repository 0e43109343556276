"""Audit and undo: every movement names who made it; an import or an adjustment is taken back with
compensating movements, never by deleting, and refused where it would leave less than is reserved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import deploy, run
from sqlalchemy import func, select

from omnisync.config import load_config
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.ledger.tables import M


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CLI_TOKEN", raising=False)
    monkeypatch.delenv("OMNISYNC_CONFIG", raising=False)
    monkeypatch.setenv("OMNISYNC_ACTOR", "alice")
    monkeypatch.chdir(tmp_path)
    deploy(tmp_path)
    run("init")
    return tmp_path


def _ledger() -> Ledger:
    return Ledger(make_engine(load_config(Path("omnisync.yaml"), offline=True).ledger_url()))


def on_hand() -> dict[str, int]:
    ledger = _ledger()
    with ledger.read() as conn:
        pid = ledger.product_id(conn, "MUG")
        codes = {lid: row.code for lid, row in ledger.locations(conn).items()}
        return {codes[lid]: levels[0] for lid, levels in ledger.stock_for(conn, [pid]).get(pid, {}).items()}


def journal_size(folder: Path) -> int:
    with _ledger().read() as conn:
        return int(conn.execute(select(func.count()).select_from(M)).scalar() or 0)


def test_history_names_who_made_each_movement_and_the_import(folder: Path) -> None:
    imported = json.loads(run("ledger", "import", "stock.csv", "--json").stdout)
    run("stock", "adjust", "MUG", "WH", "-1", "--note", "broken")
    rows = json.loads(run("history", "MUG", "--json").stdout)
    assert [(r["kind"], r["quantity"], r["actor"]) for r in rows] == [
        ("adjustment", -1, "cli:alice"),
        ("adjustment", 4, "cli:alice"),
        ("adjustment", 3, "cli:alice"),
    ]
    assert rows[0]["note"] == "broken"
    assert {r["batch"] for r in rows[1:]} == {imported["import_id"]}
    table = run("history", "MUG").stdout
    assert "cli:alice" in table
    assert imported["import_id"] in table


def test_undo_an_import_restores_the_counts_before_it_and_deletes_nothing(folder: Path) -> None:
    run("ledger", "import", "stock.csv")
    run("stock", "receive", "MUG", "WH", "10")
    before = on_hand()
    (folder / "count.csv").write_text((folder / "stock.csv").read_text().replace("true,3,4", "true,5,9"))
    imported = json.loads(run("ledger", "import", "count.csv", "--json").stdout)
    assert on_hand() == {"WH": 5, "STORE": 9}
    size = journal_size(folder)
    undone = json.loads(run("undo", imported["import_id"], "--json").stdout)
    assert len(undone["compensations"]) == 2
    assert on_hand() == before
    assert journal_size(folder) == size + 2, "compensating movements, nothing deleted"
    again = run("undo", imported["import_id"])
    assert "undone already" in again.stdout
    assert on_hand() == before
    # the same file imported again after the undo is a new import, not a repeat of the undone one
    second = json.loads(run("ledger", "import", "count.csv", "--json").stdout)
    assert second["import_id"] != imported["import_id"]
    assert on_hand() == {"WH": 5, "STORE": 9}


def test_undo_one_adjustment_and_both_legs_of_a_transfer(folder: Path) -> None:
    run("ledger", "import", "stock.csv")
    run("stock", "adjust", "MUG", "WH", "-2")
    run("stock", "transfer", "MUG", "STORE", "WH", "3")
    rows = json.loads(run("history", "MUG", "--json").stdout)
    transfer_leg, adjustment = rows[0]["id"], rows[2]["id"]
    run("undo", str(adjustment))
    run("undo", str(transfer_leg))
    assert on_hand() == {"WH": 3, "STORE": 4}


def test_undo_is_refused_where_it_would_leave_less_than_reserved(folder: Path) -> None:
    imported = json.loads(run("ledger", "import", "stock.csv", "--json").stdout)
    run("stock", "adjust", "MUG", "WH", "-3")  # WH now 0: taking the import's +3 back leaves -3
    size = journal_size(folder)
    result = run("undo", imported["import_id"], code=2)
    assert "cannot undo" in result.stderr
    assert "MUG at WH: undoing would leave -3 on hand, below zero" in result.stderr
    assert "Traceback" not in result.output
    assert journal_size(folder) == size, "refused whole: nothing written"


def test_unknown_targets_are_one_line(folder: Path) -> None:
    assert "no movement 999" in run("undo", "999", code=2).stderr
    assert "no import or movement 'import-nope'" in run("undo", "import-nope", code=2).stderr
    assert "unknown SKU 'NOPE'" in run("history", "NOPE", code=2).stderr
