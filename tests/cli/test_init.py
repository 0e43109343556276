"""``omnisync init DIR`` on a fresh machine: config, mapping files and ledger, no secret needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import run


def test_init_writes_config_mappings_and_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SHOPIFY_ACCESS_TOKEN", "OMNISYNC_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    data = json.loads(run("init", "mystore", "--json").stdout)
    store = tmp_path / "mystore"
    assert data["written"][:2] == ["mystore/omnisync.yaml", "mystore/mappings/webstore.yaml"]
    assert (store / "mappings" / "webstore.yaml").is_file()
    assert (store / "omnisync.db").is_file()
    (store / "mappings" / "webstore.yaml").write_text("{}\n")
    again = json.loads(run("init", "mystore", "--json").stdout)
    assert again["written"] == [], "init never overwrites"
    assert (store / "mappings" / "webstore.yaml").read_text() == "{}\n"
    run("status", "-c", str(store / "omnisync.yaml"))
