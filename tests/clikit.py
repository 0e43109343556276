"""A small deployment on the in-memory fake channel, for CLI regression tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from omnisync.cli import app
from omnisync.testing.fake import FakeChannelAPI, register_fake
from omnisync.testing.harness import SeedItem

CONFIG = """\
ledger:
  url: sqlite:///ledger.db
locations:
  - {code: WH, kind: warehouse}
  - {code: STORE, kind: store}
channels:
  web:
    connector: fake
    sources: [WH, STORE]
    mapping: web.yaml
    settings:
      base_url: memory://cli-kit
      token: ${CLI_TOKEN}
"""

MAPPING = "quantity:\n  buffer_units: 1\n"

CSV = """\
sku,title,barcode,tags,price,currency,active,stock:WH,stock:STORE
MUG,Blue mug,123,kitchen|blue,12.50,EUR,true,3,4
"""


def deploy(folder: Path) -> FakeChannelAPI:
    """Config, mapping and CSV in ``folder``; the fake channel it talks to."""
    (folder / "omnisync.yaml").write_text(CONFIG)
    (folder / "web.yaml").write_text(MAPPING)
    (folder / "stock.csv").write_text(CSV)
    api = register_fake("cli-kit", FakeChannelAPI())
    api.seed([SeedItem("MUG", 0, Decimal("1"))])
    return api


def run(*args: str, code: int = 0) -> Result:
    """``omnisync ARGS``; asserts the exit code."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def deployed(folder: Path, monkeypatch: pytest.MonkeyPatch, csv: str | None = None) -> Path:
    """``folder`` as the working directory with the deployment, ``omnisync init`` run and the
    catalogue (``csv``, else :data:`CSV`) imported; no secret in the environment."""
    monkeypatch.delenv("CLI_TOKEN", raising=False)
    monkeypatch.delenv("OMNISYNC_CONFIG", raising=False)
    monkeypatch.chdir(folder)
    deploy(folder)
    if csv is not None:
        (folder / "stock.csv").write_text(csv)
    run("init")
    run("ledger", "import", "stock.csv")
    return folder
