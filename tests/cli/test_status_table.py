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


def test_plan_says_why_listings_marked_as_changed_send_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clikit import deployed
    from sqlalchemy import create_engine, update

    from omnisync.ledger.tables import LI

    deployed(tmp_path, monkeypatch)
    monkeypatch.setenv("CLI_TOKEN", "fake-token-123")
    run("sync", "--once")
    assert run("plan").stdout.strip() == "nothing to push"
    with create_engine(f"sqlite:///{tmp_path / 'ledger.db'}").begin() as conn:
        conn.execute(update(LI).values(dirty=True))  # marked, as a sale elsewhere marks them
    text = " ".join(run("plan").stdout.split())
    assert "nothing to push: the 1 listing(s) marked as changed already hold what the ledger offers" in text
