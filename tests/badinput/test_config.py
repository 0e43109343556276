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
    "latin1.yaml": ("latin1.yaml:2: ", "not UTF-8 (byte 0xf4)"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_config_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(CORPUS / name, tmp_path / name)
    result = CliRunner().invoke(app, ["-c", name, "validate"])
    output = " ".join(result.output.split())
    where, words = CASES[name]
    assert result.exit_code != 0
    assert where in output, output
    assert words in output, output
    assert "Traceback" not in output
    assert not (tmp_path / "ledger.db").exists()
