"""Global options anywhere, expected errors as one line, brackets and words in tables (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import CONFIG, cli, deploy, ok

from omnisync.cligroup import hoist_global_options


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAKE_TOKEN", "fake-token-123")
    monkeypatch.chdir(tmp_path)
    deploy(tmp_path)
    ok("init")
    ok("ledger", "import", "stock.csv")
    return tmp_path


def test_hoisting_moves_globals_front_and_json_back() -> None:
    assert hoist_global_options(["status", "-c", "x.yaml", "--json", "-v"]) == [
        "-c", "x.yaml", "-v", "status", "--json",
    ]  # fmt: skip
    assert hoist_global_options(["--json", "stock", "adjust", "A", "B", "-2"]) == [
        "stock", "adjust", "A", "B", "-2", "--json",
    ]  # fmt: skip
    assert hoist_global_options(["plan", "--config=a.yaml"]) == ["--config=a.yaml", "plan"]


def test_config_after_the_subcommand(
    folder: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    cfg = str(folder / "omnisync.yaml")
    assert "web" in json.loads(ok("status", "-c", cfg, "--json"))["channels"]
    assert "web" in json.loads(ok("--json", "status", "--config", cfg))["channels"]
    assert "web" in json.loads(ok("-c", cfg, "status", "--json", "--debug"))["channels"]


def test_unknown_sku_is_one_line_without_traceback(folder: Path) -> None:
    result = cli("explain", "NOPE")
    assert result.exit_code == 2
    assert result.output.strip() == "error: unknown SKU 'NOPE'"
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(folder: Path) -> None:
    result = cli("explain", "NOPE", "--debug")
    assert result.exit_code != 0
    assert result.exception is not None  # re-raised for the traceback


def test_bad_policy_is_one_line(folder: Path) -> None:
    (folder / "omnisync.yaml").write_text(CONFIG.replace("    sources:", "    policy: bufferd\n    sources:"))
    result = cli("validate")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) >= 1
    assert "policy" in result.output


def test_brackets_visible_in_explain(folder: Path) -> None:
    text = ok("explain", "MUG")
    assert "[mapping web.yaml: buffer_units=1]" in text
    assert "None" not in text


def test_words_not_python_values(folder: Path) -> None:
    text = ok("status")
    assert "None" not in text
    assert "True" not in text
    assert "never" in text
    plan = ok("plan")
    assert "None" not in plan
