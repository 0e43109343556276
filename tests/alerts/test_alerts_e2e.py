"""End to end (issue 20, "Done when"): the daemon's scheduler on the virtual clock, the Square POS on
its emulator and a fake web store; a real HTTP receiver verifying the webhook's HMAC and a real SMTP
server on loopback.

The POS is made to fail on its emulator (every call answers 500): after ``failing_for`` one webhook
alert and one email; it heals: one "recovered" webhook and one email; a walk-in sale takes a SKU past
its reorder point: one alert, and ``omnisync reorder`` lists it. Nothing else is sent, however many
evaluations run meanwhile.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from alertkit import HOOK_SECRET, Mailbox, Receiver, serving, smtp_server
from omnisync_connectors.square.emulator import SquareEmulator
from typer.testing import CliRunner

from omnisync.alerts.service import alert_service
from omnisync.cli import app
from omnisync.clock import VirtualClock
from omnisync.config import DaemonConfig, load_config
from omnisync.daemon.http import DaemonView, render_status_page
from omnisync.daemon.scheduler import Scheduler
from omnisync.daemon.timetable import ClockTimetable
from omnisync.engine.runtime import Engine
from omnisync.ledger.db import make_engine
from omnisync.ledger.repository import Ledger
from omnisync.reorder import reorder_list
from omnisync.testing.fake import FakeChannelAPI
from omnisync.testing.harness import Fault, SeedItem

STORE_ID = "LSTORE00001AA"
CONFIG = """\
ledger:
  url: sqlite:///{db}
currency: USD
locations:
  - {{code: WH, name: Warehouse, kind: warehouse}}
  - {{code: STORE, name: Main Street store, kind: store}}
channels:
  web:
    connector: fake
    sources: [WH, STORE]
    settings: {{token: "${{FAKE_TOKEN}}", webhook_secret: "${{FAKE_SECRET}}"}}
  pos:
    connector: square
    sources: [STORE]
    push_prices: false
    settings:
      access_token: ${{SQUARE_TOKEN}}
      base_url: http://square.emulator
      locations: {{STORE: {store}}}
      webhook_signature_key: ${{SQUARE_SIGNATURE_KEY}}
      notification_url: http://127.0.0.1:8080/webhooks/square
replenishment:
  lead_time_days: 60
alerts:
  every: 30s
  failing_for: 2m
  reorder_every: 1m
  notifiers:
    ops:
      type: webhook
      url: {hook}
      secret: ${{ALERT_HOOK_SECRET}}
    mail:
      type: email
      host: 127.0.0.1
      port: {smtp}
      from: omnisync@shop.example
      to: [owner@shop.example]
"""


def engine(
    folder: Path, clock: VirtualClock, square: SquareEmulator, web: FakeChannelAPI, hook: str, smtp: int
) -> Engine:
    path = folder / "omnisync.yaml"
    path.write_text(CONFIG.format(db=folder / "ledger.db", store=STORE_ID, hook=hook, smtp=smtp))
    env = {
        "FAKE_TOKEN": "fake-token-123",
        "FAKE_SECRET": "fake-webhook-secret",
        "SQUARE_TOKEN": square.access_token,
        "SQUARE_SIGNATURE_KEY": square.signature_key,
        "ALERT_HOOK_SECRET": HOOK_SECRET,
    }
    loaded = load_config(path, env=env)
    return Engine(
        loaded,
        Ledger(make_engine(loaded.ledger_url())),
        clock=clock,
        transports={"web": web.transport(), "pos": square.transport()},
    )


def sent(rx: Receiver) -> Counter[tuple[str, str]]:
    return Counter((a["key"], a["status"]) for a in rx.alerts())


def mailed(box: Mailbox) -> Counter[str]:
    return Counter(
        line for body in box.bodies() for line in body.splitlines() if line.startswith(("ALERT", "RESOLVED"))
    )


async def test_a_failing_channel_alerts_once_recovers_once_and_a_reorder_point_alerts_once(
    tmp_path: Path,
) -> None:
    # today, so that `omnisync reorder` (the system's clock) finds the day's sales in its window
    clock = VirtualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))
    square = SquareEmulator(clock, locations={STORE_ID: "Main Street"})
    web = FakeChannelAPI(clock=clock)
    box = Mailbox()
    with smtp_server(box) as smtp:
        async with serving(Receiver()) as rx:
            eng = engine(tmp_path, clock, square, web, rx.url("/hook"), smtp.port)
            eng.migrate_and_seed()
            with eng.ledger.tx() as tx:
                tx.upsert_product("MUG", title="Mug", price=Decimal("12.00"), currency="USD")
                tx.record_movement("MUG", "WH", "receipt", 10, "seed:WH", at=clock.now())
                tx.record_movement("MUG", "STORE", "receipt", 5, "seed:STORE", at=clock.now())
            web.seed([SeedItem("MUG", 0, Decimal("1.00"))])
            square.seed_item("MUG", Decimal("12.00"), 0)
            await eng.start()
            scheduler = Scheduler(eng, DaemonConfig(), timetable=ClockTimetable(clock))
            alerts = alert_service(eng, works=scheduler.may_work)
            assert alerts is not None
            scheduler.alerts = alerts
            scheduler.start()
            assert "alerts" in scheduler.jobs(), "its own job on the daemon's timetable"

            await clock.sleep(300)  # five quiet minutes: both channels in step, nothing to say
            await alerts.settle()
            assert rx.alerts() == []
            assert box.mails == []
            assert square.quantity("MUG") == 5

            square.fail_next(Fault.SERVER_ERROR, times=1_000_000)  # the POS answers 500 to everything
            await clock.sleep(900)
            await alerts.settle()
            assert sent(rx) == Counter({("channel_failing:pos", "firing"): 1})
            assert len(box.mails) == 1
            assert box.mails[0][2]["Subject"].startswith("[omnisync] ALERT: pos is failing")
            status = DaemonView(eng, scheduler).status()
            page = status["alerts"]
            assert [a["key"] for a in page["firing"]] == ["channel_failing:pos"], "/status shows it"
            assert page["firing_count"] == 1
            assert page["sent"] == {"mail:firing": 1, "ops:firing": 1}
            html = render_status_page(status)
            assert '<section class="alert" id="alerts"><h2>Alerts firing (1)</h2>' in html
            assert "pos is failing: no order pull has succeeded since the last error (since" in html

            square.faults.clear()  # it heals
            await clock.sleep(1800)
            await alerts.settle()
            assert sent(rx) == Counter(
                {("channel_failing:pos", "firing"): 1, ("channel_failing:pos", "resolved"): 1}
            )
            assert mailed(box) == Counter(
                {
                    "ALERT [channel_failing] pos is failing: no order pull has succeeded"
                    " since the last error": 1,
                    "RESOLVED [channel_failing] pos has recovered": 1,
                }
            )

            assert reorder_list(eng.ledger, eng.config.replenishment, clock.now()) == [], "nothing sold yet"
            square.place_order("MUG", 3)  # a walk-in customer takes 3 of the store's 5
            await clock.sleep(300)
            await alerts.settle()
            await scheduler.shutdown()
    assert sent(rx) == Counter(
        {
            ("channel_failing:pos", "firing"): 1,
            ("channel_failing:pos", "resolved"): 1,
            ("reorder_point:MUG", "firing"): 1,
        }
    )
    # the alert says what `omnisync reorder` lists: the store sold 3 today, with 60 days of lead time
    listed = [r for r in reorder_list(eng.ledger, eng.config.replenishment, clock.now()) if r.quantity > 0]
    assert [(r.sku, r.location, r.available) for r in listed] == [("MUG", "STORE", 2)]
    store = listed[0].suggestion
    reorder = next(a for a in rx.alerts() if a["key"] == "reorder_point:MUG")
    assert reorder["facts"] == {
        "STORE": {
            "available": 2,
            "incoming": 0,
            "reorder_point": store.reorder_point,
            "quantity": store.quantity,
        }
    }
    assert store.quantity > 0
    lines = [line for line in mailed(box).elements() if line.startswith("ALERT [reorder_point]")]
    assert lines == [
        f"ALERT [reorder_point] MUG has reached its reorder point (STORE: 2 available + 0 on order"
        f" ≤ {store.reorder_point}, order {store.quantity})"
    ]
    # and `omnisync reorder` lists it
    answer = CliRunner().invoke(app, ["-c", str(tmp_path / "omnisync.yaml"), "reorder", "--json"])
    assert answer.exit_code == 0, answer.output
    assert [(r["sku"], r["location"]) for r in json.loads(answer.stdout) if r["quantity"] > 0] == [
        ("MUG", "STORE")
    ]
    assert len(box.mails) == 3
    assert rx.refused == 0
    assert alerts.failures == Counter(), "every message was accepted"
