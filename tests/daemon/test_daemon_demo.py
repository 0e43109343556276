"""A short demo run: four emulators on loopback, the daemon, shoppers; the invariants hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnisync.config import load_config
from omnisync.demo import run_demo


@pytest.mark.slow
def test_short_demo_run_exits_0_and_leaves_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    code = run_demo(folder, seconds=3, skus=30, as_json=True, seed=11)
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{") :])
    assert code == 0, summary["problems"]
    assert summary["ok"]
    assert summary["oversold_units"] == 0
    assert summary["channels"], summary["notes"]
    for name, c in summary["channels"].items():
        assert c["converged"], (name, c["mismatches"])
        assert c["orders_imported"] == c["orders_placed"], name
        assert c["items_pushed"] > 0, name
    # what the user continues with
    config = folder / "omnisync.yaml"
    text = config.read_text()
    assert "${" in text, "secrets are written as ${VAR}"
    assert (folder / "omnisync.db").exists()
    loaded = load_config(config)
    assert set(loaded.config.channels) >= set(summary["channels"])
