"""Bad config files answer one line naming the file and the line, exit non-zero, and create nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnisync.cli import app

CORPUS = Path(__file__).parent / "config"

CASES = {
    "billion_laughs.yaml": ("billion_laughs.yaml:", "once aliases are expanded"),
    "garbage_ledger_url.yaml": ("garbage_ledger_url.yaml:2: ledger.url:", "not a usable ledger URL"),
    "bad_policy.yaml": ("bad_policy.yaml:6: allocation.policy:", "unknown allocation policy 'bufferd'"),
    "bad_adaptive.yaml": ("bad_adaptive.yaml:8: allocation.adaptive.risk:", "less than 1"),
    "bad_cron.yaml": ("bad_cron.yaml:10: channels.web.schedule.reconcile_cron:", "higher than the maximum"),
    "latin1.yaml": ("latin1.yaml:2: ", "not UTF-8 (byte 0xf4)"),
    "unclosed_list.yaml": ("unclosed_list.yaml:4: ", "invalid YAML: expected the node content"),
    "tab_indent.yaml": ("tab_indent.yaml:2: ", "found character '\\t' that cannot start"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_config_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(CORPUS / name, tmp_path / name)
    result = CliRunner().invoke(app, ["-c", name, "validate"])
    output = " ".join(result.output.split())
    where, words = CASES[name]
    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert where in output, output
    assert words in output, output
    assert "Traceback" not in output
    assert not (tmp_path / "ledger.db").exists()


def test_every_problem_of_a_config_in_one_run_each_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(CORPUS / "two_problems.yaml", tmp_path / "two_problems.yaml")
    result = CliRunner().invoke(app, ["-c", "two_problems.yaml", "validate"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2
    assert lines == [
        "error: two_problems.yaml:6: locations.2.code: location code 'WH' is already item 0",
        "error: two_problems.yaml:14: channels.pos.sources.1: 'NOPE' is not a configured location "
        "(locations: WH, STORE)",
    ], result.output
    assert not (tmp_path / "ledger.db").exists()


FBA_CASES = {
    "fba_own_source.yaml": [
        "error: fba_own_source.yaml:9: channels.amazon.sources.1: 'FBA-DE' is this channel's own fba "
        "location (settings.fba_locations.FBA-DE): the platform ships the orders it takes from there, so "
        "the channel's merchant-fulfilled offer cannot draw on it; remove it from sources",
    ],
    "fba_unread.yaml": [
        "error: fba_unread.yaml:21: channels.amazon.settings.fba_locations.WH: 'WH' is a warehouse "
        "location: a channel keeps only kind fba",
        "error: fba_unread.yaml:9: channels.web.sources.1: 'FBA-DE' is an fba location that no channel "
        "reads: name it in its channel's settings (Amazon: settings.fba_locations) or remove it from sources",
    ],
}


@pytest.mark.parametrize("name", sorted(FBA_CASES))
def test_an_fba_location_used_unsoundly_is_refused_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Amazon drawing its merchant-fulfilled offer from its own FBA location, a warehouse given as an
    FBA location, a channel drawing on an FBA location nothing reads: one line each, at its key."""
    monkeypatch.chdir(tmp_path)
    for var in ("BAD_INPUT_TOKEN", "BAD_INPUT_AMAZON_SECRET", "BAD_INPUT_AMAZON_TOKEN"):
        monkeypatch.setenv(var, "set")
    shutil.copy(CORPUS / name, tmp_path / name)
    result = CliRunner(env={"COLUMNS": "400"}).invoke(app, ["-c", name, "validate"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2
    assert lines == FBA_CASES[name], result.output
    assert not (tmp_path / "ledger.db").exists()


@pytest.mark.parametrize(
    "command", [["status"], ["plan"], ["orders"], ["explain", "MUG"], ["ledger", "export", "-"]]
)
def test_reading_before_init_says_how_to_start_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(CORPUS / "bad_cron.yaml", tmp_path / "omnisync.yaml")
    text = (tmp_path / "omnisync.yaml").read_text().replace("99 * * * *", "0 3 * * *")
    (tmp_path / "omnisync.yaml").write_text(text)
    result = CliRunner().invoke(app, ["-c", "omnisync.yaml", *command])
    assert result.exit_code == 2
    assert "no ledger yet at sqlite:///ledger.db" in result.output
    assert "run `omnisync init`" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["omnisync.yaml"], "nothing created"


def test_validate_names_every_unset_secret_of_every_channel_in_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRET", "SQUARE_ACCESS_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert CliRunner().invoke(app, ["init", "shop"]).exit_code == 0
    result = CliRunner().invoke(app, ["-c", "shop/omnisync.yaml", "validate"])
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2
    named = {line.split("environment variable ")[1].split()[0] for line in lines}
    assert {"SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRET", "SQUARE_ACCESS_TOKEN"} <= named, result.output
    assert all("shop/omnisync.yaml:" in line and ".settings." in line for line in lines), result.output
    assert "Traceback" not in result.output
