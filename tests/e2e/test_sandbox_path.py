"""The merchant's path of the README's "Using it", command for command, on a fresh folder with no
secret set: init --sandbox, the emulators on loopback (a real process), validate --connect, ledger
import, plan, sync --once, explain, status with -c after the subcommand. Then the emulators stop and
sync --once fails fast, one line per channel."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner, Result

from omnisync.cli import app
from omnisync.sandbox import CHANNELS, SAMPLE_CATALOGUE


def free_base_port() -> int:
    """A port P such that P..P+4 are free on loopback (the daemon's and the four emulators')."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + len(CHANNELS) > 65535:
            continue
        socks = []
        try:
            for port in range(base, base + len(CHANNELS) + 1):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return base
    raise RuntimeError("no five free ports in a row")


def omnisync(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in list(os.environ):
        if var.startswith(("SANDBOX_", "DEMO_", "OMNISYNC_")) or var.endswith(("_TOKEN", "_SECRET")):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    structlog.reset_defaults()  # the sandbox logs at "warning": later tests capture info events


@pytest.fixture
def emulators(fresh: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    port = free_base_port()
    omnisync("init", "--sandbox", "mystore", "--port", str(port))
    store = fresh / "mystore"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnisync.cli", "emulators", "-c", "omnisync.yaml", "--json"],
        cwd=store,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline() or "null")  # blocks until the four are listening
        assert ready, proc.stderr.read() if proc.stderr else ""
        assert [e["channel"] for e in ready["emulators"]] == [ch.name for ch in CHANNELS]
        assert [e["url"] for e in ready["emulators"]] == [
            f"http://127.0.0.1:{port + ch.offset}" for ch in CHANNELS
        ]
        assert ready["skus"] == len(SAMPLE_CATALOGUE)
        yield proc, store
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_readme_path_against_the_emulators(
    emulators: tuple[subprocess.Popen[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, store = emulators
    monkeypatch.chdir(store)

    checked = json.loads(omnisync("validate", "--connect", "--json").stdout)
    assert checked["ok"] is True
    assert {c["channel"]: c["ok"] for c in checked["connect"]} == {ch.name: True for ch in CHANNELS}

    imported = json.loads(omnisync("ledger", "import", "catalogue.csv", "--json").stdout)
    assert imported["rows"] == len(SAMPLE_CATALOGUE)

    planned = json.loads(omnisync("plan", "--json").stdout)
    assert {(r["channel"], r["sku"]) for r in planned} >= {(ch.name, "MUG-RED") for ch in CHANNELS}

    synced = json.loads(omnisync("sync", "--once", "--json").stdout)
    for name, row in synced.items():
        assert row["ok"], (name, row["error"])
        assert row["rejected"] == 0
        assert row["accepted"] >= len(SAMPLE_CATALOGUE), name

    explained = json.loads(omnisync("explain", "MUG-RED", "--json").stdout)
    assert explained["webstore"]["offered"] == 39  # 40 at WH, minus the one-unit buffer
    assert explained["pos"]["offered"] == 6  # the store's own count
    for name, row in explained.items():
        assert row["acked_quantity"] == row["offered"], f"{name} holds what the ledger offers"

    status = omnisync("status", "-c", "omnisync.yaml", "--json")
    channels = json.loads(status.stdout)["channels"]
    assert set(channels) == {ch.name for ch in CHANNELS}
    assert all(c["last_ok"] for c in channels.values())

    proc.terminate()
    proc.wait(timeout=30)
    down = omnisync("sync", "--once", code=1)
    said = [line for line in down.stderr.splitlines() if line.startswith("[")]  # logs are JSON lines
    lines = [line for line in said if "cannot connect to 127.0.0.1" in line]
    assert len(lines) == len(CHANNELS), down.stderr  # one line per channel, no table cell folding it
    assert "gave up after 2 attempts" in lines[0]


def test_validate_connect_names_a_missing_secret_per_channel(fresh: Path) -> None:
    omnisync("init", "--sandbox", "mystore", "--port", str(free_base_port()))
    config = fresh / "mystore" / "omnisync.yaml"
    text = config.read_text().replace("${SANDBOX_POS_ACCESS_TOKEN:-emulator-square-token}", "${POS_TOKEN}")
    config.write_text(text)
    result = omnisync("validate", "--connect", "--json", "-c", str(config), code=1)
    rows = {r["channel"]: r for r in json.loads(result.stdout)["connect"]}
    assert "POS_TOKEN is not set" in rows["pos"]["detail"]
    # the others were tried (no emulator runs: each says it cannot connect, not that a secret is missing)
    assert all("cannot connect" in rows[n]["detail"] for n in ("webstore", "amazon", "instagram"))
