"""Short demo runs: four emulators on loopback, the daemon, shoppers; the invariants hold, the same
seed gives the same counts, and the commands it suggests run."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from omnisync.config import load_config
from omnisync.demo import run_demo

SEED = 11
OUTCOME = ("orders_placed", "orders_imported", "sold_out", "offered", "channel_quantity", "oversold_units")
"""What the same seed must reproduce (the API calls and throttles depend on timing)."""


@dataclass
class DemoRun:
    folder: Path
    cwd: Path
    code: int
    summary: dict[str, Any]
    progress: str


def demo_run(cwd: Path, name: str) -> DemoRun:
    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_demo(Path(name), seconds=6, skus=20, as_json=True, seed=SEED)
    finally:
        os.chdir(here)
    text = out.getvalue()
    return DemoRun(cwd / name, cwd, code, json.loads(text[text.index("{") :]), err.getvalue())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoRun, DemoRun]]:
    cwd = tmp_path_factory.mktemp("demo")
    secrets = set(os.environ)
    yield demo_run(cwd, "first"), demo_run(cwd, "second")
    for name in set(os.environ) - secrets:  # the demo sets its channels' secrets in-process
        del os.environ[name]


@pytest.mark.slow
def test_short_demo_run_exits_0_and_leaves_its_folder(runs: tuple[DemoRun, DemoRun]) -> None:
    run = runs[0]
    summary = run.summary
    assert run.code == 0, summary["problems"]
    assert summary["ok"]
    assert summary["oversold_units"] == 0
    assert summary["channels"], summary["notes"]
    for name, c in summary["channels"].items():
        assert c["converged"], (name, c["mismatches"])
        assert c["orders_imported"] == c["orders_placed"], name
        assert c["items_pushed"] > 0, name
    # what the user continues with
    config = run.folder / "omnisync.yaml"
    text = config.read_text()
    assert "${" in text, "secrets are written as ${VAR}"
    assert (run.folder / "omnisync.db").exists()
    loaded = load_config(config)
    assert set(loaded.config.channels) >= set(summary["channels"])
    # the live view, in plain lines off a terminal
    for line in ("trading: ", "wave 1/3", "wave 3/3", "shoppers gone"):
        assert line in run.progress
    # the listing sync: the tote listed before trading, the scarf added and the tote discontinued halfway
    assert "listings: canvas-tote created from the catalogue on" in run.progress
    assert "listings: wool-scarf added and canvas-tote discontinued" in run.progress
    assert [(x["product"], x["published"]) for x in summary["listing_sync"]] == [
        ("canvas-tote", False),
        ("wool-scarf", True),
    ]
    assert {name: c["listings"] for name, c in summary["channels"].items()} == {
        name: "ok" for name in summary["channels"]
    }, "seen on every channel that may create"


@pytest.mark.slow
def test_the_same_seed_gives_the_same_counts(runs: tuple[DemoRun, DemoRun]) -> None:
    first, second = (r.summary for r in runs)
    for notes in (first["notes"], second["notes"]):  # a drift reconciled may be noted, nothing else
        assert [n for n in notes if "reconciled the channel" not in n] == []
    assert sum(c["orders_placed"] for c in first["channels"].values()) > 0, "shoppers bought something"
    assert first["oversold_units"] == second["oversold_units"]
    assert first["channels"].keys() == second["channels"].keys()
    for name, c in first["channels"].items():
        assert {k: c[k] for k in OUTCOME} == {k: second["channels"][name][k] for k in OUTCOME}, name


@pytest.mark.slow
def test_the_commands_it_prints_run_with_no_secret_set(runs: tuple[DemoRun, DemoRun]) -> None:
    run = runs[1]
    commands = run.summary["next_commands"]
    assert [shlex.split(c)[3:5] for c in commands][:2] == [["status", "-c"], ["plan", "-c"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    for command in commands:
        argv = shlex.split(command)
        assert os.path.join(run.cwd, argv[0]) == sys.executable, "the python running now"
        assert argv[1:3] == ["-m", "omnisync.cli"]
        done = subprocess.run(argv, cwd=run.cwd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert done.stdout.strip(), command
        assert "Traceback" not in done.stderr, command
