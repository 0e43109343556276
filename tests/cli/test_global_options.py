"""Global options are hoisted; tables show words, not Python values (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clikit import deploy, run

from omnisync.cligroup import hoist_global_options


def test_hoisting_moves_globals_front_and_json_back() -> None:
    assert hoist_global_options(["status", "-c", "x.yaml", "--json", "-v"]) == [
        "-c", "x.yaml", "-v", "status", "--json",
    ]  # fmt: skip
    assert hoist_global_options(["--json", "stock", "adjust", "A", "B", "-2"]) == [
        "stock", "adjust", "A", "B", "-2", "--json",
    ]  # fmt: skip
    assert hoist_global_options(["plan", "--config=a.yaml"]) == ["--config=a.yaml", "plan"]
    assert hoist_global_options(["--json", "status", "--help"]) == ["status", "--help"]


def test_status_says_never_not_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    deploy(tmp_path)
    run("init")
    text = run("status").stdout
    assert "None" not in text
    assert "True" not in text
    assert "never" in text


def test_every_option_of_every_command_says_what_it_does() -> None:
    import typer.main

    from omnisync.cli import app

    silent: list[str] = []
    seen = 0

    def walk(command: Any, path: list[str]) -> None:
        subcommands: dict[str, Any] | None = getattr(command, "commands", None)
        if subcommands is not None:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
            return
        nonlocal seen
        seen += 1
        for p in command.params:
            is_option = getattr(p, "param_type_name", "") == "option"
            if is_option and not getattr(p, "help", None) and "--help" not in p.opts:
                silent.append(f"{' '.join(path)} {'/'.join(p.opts)}")

    walk(typer.main.get_command(app), [])
    assert seen > 30
    assert silent == [], silent
