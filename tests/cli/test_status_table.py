"""``omnisync status`` on an 80-column terminal: channel names and times whole, errors on their own line."""

from __future__ import annotations

from pathlib import Path

import pytest
from clikit import CONFIG, MAPPING, run
from rich.console import Console

import omnisync.cli

LONG = "webstore-europe-main"


def test_names_are_not_cut_at_80_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNISYNC_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "omnisync.yaml").write_text(CONFIG.replace("  web:\n", f"  {LONG}:\n"))
    (tmp_path / "web.yaml").write_text(MAPPING)
    run("init")
    monkeypatch.setattr(omnisync.cli, "out", Console(markup=False, highlight=False, width=80))
    text = run("status").stdout
    assert LONG in text, text
    assert "never" in text
    assert max(len(line) for line in text.splitlines()) <= 80
