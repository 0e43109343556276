"""The demo names omnisync as the person can call it again."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from omnisync.demo.next_steps import next_commands, program, spelled


def script(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "omnisync"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_the_name_on_path_when_it_is_this_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = script(tmp_path / "venv" / "bin")
    monkeypatch.setenv("PATH", str(started.parent))
    monkeypatch.setattr(sys, "argv", [str(started), "demo"])
    assert program() == ["omnisync"]


def test_the_path_it_was_started_by_when_path_finds_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = script(tmp_path / "venv" / "bin")
    other = script(tmp_path / "elsewhere")
    monkeypatch.setenv("PATH", str(other.parent))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(started), "demo"])
    assert program() == [os.path.join("venv", "bin", "omnisync")]


def test_python_dash_m_when_not_started_as_omnisync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["/usr/bin/pytest"])
    assert program() == [sys.executable, "-m", "omnisync.cli"]


def test_read_only_commands_on_the_config_quoted_for_a_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["/usr/bin/pytest"])
    commands = [spelled(c) for c in next_commands(tmp_path / "my demo" / "omnisync.yaml", "SKU-0001")]
    tail = [c.split(" -m omnisync.cli ", 1)[1] for c in commands]
    assert tail == [
        "status -c 'my demo/omnisync.yaml'",
        "plan -c 'my demo/omnisync.yaml'",
        "explain SKU-0001 -c 'my demo/omnisync.yaml'",
        "orders -c 'my demo/omnisync.yaml'",
    ]
