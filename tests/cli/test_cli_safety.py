"""The merchant's CLI: global options anywhere, one-line errors, no secret needed offline, safe stock."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from clikit import CONFIG, deployed, run
from typer.testing import CliRunner

from omnisync.cli import app
from omnisync.testing.harness import SeedItem


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return deployed(tmp_path, monkeypatch)


def test_config_option_after_the_subcommand(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder.parent)
    cfg = str(folder / "omnisync.yaml")
    data = json.loads(run("status", "-c", cfg, "--json").stdout)
    assert "web" in data["channels"]
    assert json.loads(run("--json", "-c", cfg, "status").stdout) == data


def test_read_only_commands_need_no_secret(folder: Path) -> None:
    run("status")
    run("plan")
    run("explain", "MUG")
    run("orders")
    run("stock", "receive", "MUG", "WH", "1")


def test_contacting_a_channel_names_its_missing_variable(folder: Path) -> None:
    result = run("sync", "--once", code=2)
    assert "CLI_TOKEN" in result.stderr
    assert "web" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_sku_is_one_line(folder: Path) -> None:
    result = run("explain", "NOPE", code=2)
    assert result.stderr.count("\n") == 1
    assert "NOPE" in result.stderr
    assert "Traceback" not in result.output


def test_bad_policy_is_one_line(folder: Path) -> None:
    (folder / "omnisync.yaml").write_text(CONFIG + "allocation:\n  policy: bufferd\n")
    result = run("validate", code=2)
    assert "bufferd" in result.stderr
    assert "Traceback" not in result.output
    result = run("status", code=2)
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(folder: Path) -> None:
    result = CliRunner().invoke(app, ["explain", "NOPE", "--debug"])
    assert result.exit_code != 0
    assert result.exception is not None
    assert not isinstance(result.exception, SystemExit)


def test_mapping_notes_keep_their_brackets(folder: Path) -> None:
    text = run("explain", "MUG").stdout
    assert "[mapping web.yaml: buffer_units=1]" in text
    assert "None" not in text
    plan = run("plan").stdout
    assert "None" not in plan
    assert "True" not in plan


def test_explain_names_the_config_keys_and_no_mapping_file_that_is_not_there(folder: Path) -> None:
    config = CONFIG.replace(
        "    mapping: web.yaml\n",
        "    source_buffers: {STORE: 2}\n    allocation: {buffer_units: 3}\n",
    )
    (folder / "omnisync.yaml").write_text(config)
    (folder / "web.yaml").unlink()
    text = run("explain", "MUG").stdout
    assert "web.yaml" not in text
    assert "[omnisync.yaml channels.web.allocation: buffer_units=3]" in text
    assert "[omnisync.yaml channels.web: source_buffers[STORE]=2]" in text
    rows = json.loads(run("explain", "MUG", "--json").stdout)
    assert rows["web"]["rules_from"] == [
        "omnisync.yaml channels.web.allocation: buffer_units=3",
        "omnisync.yaml channels.web: source_buffers[STORE]=2",
    ]


def test_status_names_a_failing_channel_once_before_its_error(folder: Path) -> None:
    from datetime import UTC, datetime

    from omnisync.ledger.db import make_engine
    from omnisync.ledger.repository import Ledger

    engine = make_engine(f"sqlite:///{folder / 'ledger.db'}")
    ledger, at = Ledger(engine), datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with ledger.tx() as tx:
        run_id = tx.start_run("web", "pull", at, None)
        tx.finish_run(
            run_id,
            {"finished_at": at, "ok": False, "orders_imported": 0, "lines_quarantined": 0,
             "items_planned": 0, "items_pushed": 0, "accepted": 0, "rejected": 0, "retried": 0,
             "drift": 0, "api_calls": 2, "throttled": 0,
             "error": "[web] pull_orders: gave up after 2 attempts (cannot connect)"},
        )  # fmt: skip
    engine.dispose()
    text = run("status").stderr
    assert ": pull: pull_orders: gave up after 2 attempts (cannot connect)" in text
    assert text.count("[web]") == 1, text


def test_orders_show_times_as_status_does(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``orders`` printed ``2026-12-04 15:19:58.361808+00:00`` under ``updated_at``."""
    from omnisync.clock import SystemClock
    from omnisync.testing.fake import FakeChannelAPI, register_fake

    api = register_fake("cli-kit", FakeChannelAPI(clock=SystemClock()))  # within the first pull's lookback
    api.seed([SeedItem("MUG", 5, Decimal("1"))])
    api.place_order("MUG", 1)
    monkeypatch.setenv("CLI_TOKEN", "fake-token-123")
    run("sync", "--once")
    text = run("orders").stdout
    assert "updated at" in text
    assert "+00:00" not in text
    assert json.loads(run("orders", "--json").stdout)[0]["updated_at"]


def test_transfer_cannot_take_stock_below_zero(folder: Path) -> None:
    result = run("stock", "transfer", "MUG", "WH", "STORE", "50", code=2)
    assert "3 on hand" in result.stderr
    assert "--allow-negative" in result.stderr
    plan = json.loads(run("plan", "--json").stdout)
    assert [r["quantity"] for r in plan] == [6], "nothing moved"
    out = run("stock", "transfer", "MUG", "WH", "STORE", "2").stdout
    assert "WH 1" in out
    assert "STORE 6" in out


def test_negative_adjustment_parses_and_prints_on_hand(folder: Path) -> None:
    out = run("stock", "adjust", "MUG", "STORE", "-2").stdout
    assert "STORE 2" in out
    run("stock", "adjust", "MUG", "STORE", "-5", code=2)
    out = run("stock", "adjust", "MUG", "STORE", "-5", "--allow-negative").stdout
    assert "STORE -3" in out
    data = json.loads(run("stock", "receive", "MUG", "WH", "4", "--json").stdout)
    assert data["on_hand"] == 7
    assert data["recorded"] is True


def test_demo_refuses_a_folder_it_did_not_create(folder: Path) -> None:
    (folder / "omnisync.db").write_bytes(b"not the demo's")
    result = run("demo", "--folder", str(folder), code=2)
    assert "--force" in result.stderr
    assert (folder / "omnisync.db").read_bytes() == b"not the demo's"
    assert (folder / "omnisync.yaml").read_text() == CONFIG
    assert not (folder / ".omnisync-demo").exists()


def test_help_reads_as_sentences_not_as_the_source_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """A docstring's line breaks showed in ``--help`` ("... and bring the ledger" / "schema to head")."""
    monkeypatch.setenv("COLUMNS", "250")
    text = CliRunner().invoke(app, ["--help"]).output
    assert "and bring the ledger schema to head. No channel is contacted" in text
    for group in ("stock", "ledger", "returns", "listings", "catalog", "report"):
        result = CliRunner().invoke(app, [group, "--help"])
        assert result.exit_code == 0, group
