"""``omnisync alerts``: what fires or waits in the ledger; ``--send-test``: does each notifier take a
message (a real SMTP server on loopback takes it, a receiver that is not there does not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alertkit import Mailbox, free_port, smtp_server
from clikit import CONFIG, MAPPING, run

ALERTS = """\
alerts:
  reorder_points: {{MUG: 10}}
  notifiers:
    mail:
      type: email
      host: 127.0.0.1
      port: {smtp}
      from: omnisync@shop.example
      to: [owner@shop.example]
      retries: 0
    ops:
      type: webhook
      url: http://127.0.0.1:{dead}/hook
      secret: ${{ALERT_HOOK_SECRET}}
      retries: 0
"""


def deploy(folder: Path, smtp: int) -> None:
    (folder / "omnisync.yaml").write_text(CONFIG + ALERTS.format(smtp=smtp, dead=free_port()))
    (folder / "web.yaml").write_text(MAPPING)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("OMNISYNC_CONFIG", raising=False)
    monkeypatch.setenv("CLI_TOKEN", "fake-token-123")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_send_test_says_which_notifier_takes_a_message(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = Mailbox()
    with smtp_server(box) as smtp:
        deploy(here, smtp.port)
        missing = run("alerts", "--send-test", code=2)
        assert (
            "alerts.notifiers.ops.secret: environment variable ALERT_HOOK_SECRET is not set" in missing.output
        )
        monkeypatch.setenv("ALERT_HOOK_SECRET", "hook-secret-1234")
        result = run("alerts", "--send-test", "--json", code=1)
    answer = json.loads(result.stdout)
    assert answer["mail"] == {"ok": True, "error": None}
    assert answer["ops"]["ok"] is False
    assert "ConnectError" in answer["ops"]["error"]
    assert box.subjects() == ["[omnisync] ALERT: a test message from omnisync: its alerts reach you here"]
    assert "hook-secret-1234" not in result.output


def test_alerts_lists_what_fires_in_the_ledger(here: Path) -> None:
    deploy(here, free_port())
    run("init")
    (here / "stock.csv").write_text(
        "sku,title,barcode,tags,price,currency,active,stock:WH,stock:STORE\nMUG,Mug,1,,12.50,EUR,true,3,4\n"
    )
    run("ledger", "import", "stock.csv")
    assert "no alert firing or pending" in run("alerts").stdout
    from omnisync.alerts.service import AlertService
    from omnisync.config import load_config
    from omnisync.engine.runtime import Engine
    from omnisync.ledger.db import make_engine
    from omnisync.ledger.repository import Ledger

    loaded = load_config(here / "omnisync.yaml", offline=True)
    assert loaded.config.alerts is not None
    engine = Engine(loaded, Ledger(make_engine(loaded.ledger_url())))
    import asyncio

    asyncio.run(AlertService(engine, loaded.config.alerts, {}).evaluate())  # 7 available ≤ 10
    listed = json.loads(run("alerts", "--json").stdout)
    assert [(r["key"], r["status"]) for r in listed] == [("reorder_point:MUG", "firing")]
    assert "MUG has reached its reorder point: 7 available ≤ 10" in run("alerts").stdout
