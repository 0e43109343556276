"""The alert job over a real ledger (SQLite and PostgreSQL) and two fake channels, sending to a real
HTTP receiver and a real SMTP server on loopback: one alert per condition until it clears, one
"cleared" message, nothing re-sent after a restart, a dead receiver told later, the sync never
waiting on a notifier."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alertkit import HOOK_SECRET, Mailbox, Receiver, free_port, serving, smtp_server
from enginekit import World
from structlog.testing import capture_logs

from omnisync.alerts.service import AlertService, alert_service
from omnisync.config import DaemonConfig
from omnisync.daemon import ServiceInfo, serve
from omnisync.testing.harness import SeedItem
from omnisync.yamlsource import ConfigFileError


def alerts_yaml(hook_url: str, smtp_port: int, *, retries: int = 0, extra: str = "") -> str:
    return f"""\
alerts:
  every: 30s
  reorder_points: {{TEE: 2}}
{extra}  notifiers:
    ops:
      type: webhook
      url: {hook_url}
      secret: ${{ALERT_HOOK_SECRET}}
      retries: {retries}
    mail:
      type: email
      host: 127.0.0.1
      port: {smtp_port}
      from: omnisync@shop.example
      to: [ops@shop.example]
      retries: {retries}
"""


ENV = {"ALERT_HOOK_SECRET": HOOK_SECRET}


async def world(tmp_path: Path, url: str, yaml: str) -> tuple[World, AlertService]:
    w = World(tmp_path, url, extra=yaml, env=ENV)
    await w.start({"MUG": (10, 5), "TEE": (3, 0)})
    service = alert_service(w.engine)
    assert service is not None
    service.start()
    for channel in ("web", "pos"):
        assert (await w.engine.cycle(channel)).ok
    return w, service


async def evaluate(service: AlertService) -> list[tuple[str, str]]:
    moves = await service.evaluate()
    await service.settle()
    return [(m.record.key, m.change) for m in moves]


def statuses(rx: Receiver) -> Counter[tuple[str, str]]:
    return Counter((a["key"], a["status"]) for a in rx.alerts())


def mail_lines(box: Mailbox) -> Counter[str]:
    return Counter(
        line for body in box.bodies() for line in body.splitlines() if line.startswith(("ALERT", "RESOLVED"))
    )


async def test_one_alert_per_condition_one_clear_and_nothing_again_after_a_restart(
    tmp_path: Path, ledger_url: str
) -> None:
    box = Mailbox()
    with smtp_server(box) as smtp:
        async with serving(Receiver()) as rx:
            w, service = await world(tmp_path, ledger_url, alerts_yaml(rx.url("/hook"), smtp.port))
            assert await evaluate(service) == [("out_of_stock:pos:TEE", "raised")], "the store has no TEE"

            w.web.place_order("TEE", 5)  # 5 sold, 3 in stock: oversold by 2, far below the reorder point
            assert (await w.engine.cycle("web")).ok
            raised = await evaluate(service)
            assert sorted(raised) == [
                ("out_of_stock:web:TEE", "raised"),  # the web store now shows 0
                ("oversold:TEE", "raised"),
                ("reorder_point:TEE", "raised"),
            ]
            for _ in range(3):  # still true: nothing more is sent
                w.clock.advance(30)
                assert await evaluate(service) == []
            assert statuses(rx) == Counter(
                {
                    ("out_of_stock:pos:TEE", "firing"): 1,
                    ("out_of_stock:web:TEE", "firing"): 1,
                    ("oversold:TEE", "firing"): 1,
                    ("reorder_point:TEE", "firing"): 1,
                }
            )
            assert len(box.mails) == 2, "one mail per flush: the first alert, then the three together"
            await service.aclose()

            # a restart: a new service on the same ledger sends nothing it already sent
            again = alert_service(w.engine)
            assert again is not None
            again.start()
            assert await evaluate(again) == []
            assert len(rx.hooks) == 2
            assert len(box.mails) == 2

            with w.ledger.tx() as tx:  # the merchant receives 10 TEE at the warehouse
                tx.record_movement("TEE", "WH", "receipt", 10, "po-1", at=w.clock.now())
            assert (await w.engine.cycle("web")).ok  # the web store shows TEE again
            cleared = await evaluate(again)
            assert sorted(cleared) == [
                ("out_of_stock:web:TEE", "cleared"),
                ("oversold:TEE", "cleared"),
                ("reorder_point:TEE", "cleared"),
            ]
            await again.aclose()
    assert statuses(rx)[("oversold:TEE", "resolved")] == 1
    assert statuses(rx)[("reorder_point:TEE", "resolved")] == 1
    assert mail_lines(box)["RESOLVED [oversold] TEE is no longer oversold"] == 1
    assert mail_lines(box)["ALERT [oversold] TEE is oversold by 2 unit(s)"] == 1
    assert mail_lines(box)["RESOLVED [out_of_stock] TEE is back in stock on web"] == 1
    assert rx.refused == 0


async def test_a_receiver_that_is_down_is_told_later_once(tmp_path: Path) -> None:
    box = Mailbox()
    with smtp_server(box) as smtp:
        async with serving(Receiver(script=[503, 503])) as rx:
            _w, service = await world(
                tmp_path, f"sqlite:///{tmp_path / 'l.db'}", alerts_yaml(rx.url("/hook"), smtp.port)
            )
            await evaluate(service)  # fails: tried again at the next evaluation
            await evaluate(service)  # fails again: sits out the next evaluation
            await evaluate(service)  # skipped
            assert rx.alerts() == []
            assert service.failures["ops"] == 2
            await evaluate(service)
            await service.aclose()
    assert statuses(rx) == Counter({("out_of_stock:pos:TEE", "firing"): 1})
    assert len(box.mails) == 1, "the mail went at once: one notifier failing holds up no other"


class Holding(Receiver):
    """A receiver that keeps each webhook waiting until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.waiting = 0

    async def _hook(self, request: Any) -> Any:
        self.waiting += 1
        await self.release.wait()
        return await super()._hook(request)


async def test_a_slow_receiver_never_holds_up_the_evaluation_or_the_sync(tmp_path: Path) -> None:
    box = Mailbox()
    with smtp_server(box) as smtp:
        async with serving(Holding()) as rx:
            w, service = await world(
                tmp_path, f"sqlite:///{tmp_path / 'l.db'}", alerts_yaml(rx.url("/hook"), smtp.port)
            )
            await asyncio.wait_for(service.evaluate(), 5)
            for _ in range(50):
                if rx.waiting:
                    break
                await asyncio.sleep(0.01)
            assert rx.waiting == 1, "the webhook is in flight"
            w.web.place_order("TEE", 5)
            for _ in range(5):  # evaluations and cycles go on while it hangs
                assert (await asyncio.wait_for(w.engine.cycle("web"), 5)).ok
                await asyncio.wait_for(service.evaluate(), 5)
            assert service._queues["ops"].qsize() == 1, "bounded: one flush waits, however many evaluations"
            rx.release.set()
            await service.settle()
            await service.aclose()
    assert len(rx.hooks) == 2, "the hung message, then one more with everything since"
    assert statuses(rx) == Counter(
        {
            ("out_of_stock:pos:TEE", "firing"): 1,
            ("out_of_stock:web:TEE", "firing"): 1,
            ("oversold:TEE", "firing"): 1,
            ("reorder_point:TEE", "firing"): 1,
        }
    )


async def test_quarantined_lines_and_reconcile_drift_raise_and_clear(tmp_path: Path) -> None:
    box = Mailbox()
    with smtp_server(box) as smtp:
        async with serving(Receiver()) as rx:
            yaml = alerts_yaml(rx.url("/hook"), smtp.port, extra="  ignore: [out_of_stock, reorder_point]\n")
            w, service = await world(tmp_path, f"sqlite:///{tmp_path / 'l.db'}", yaml)
            w.web.seed([SeedItem("GHOST-1", 5, Decimal("9.00"))])
            w.web.place_order("GHOST-1", 2)  # a SKU the ledger does not know: the line is quarantined
            w.web.items["WEB-MUG"].quantity += 4  # someone edits the web store's stock by hand
            assert (await w.engine.cycle("web")).ok
            assert (await w.engine.reconcile("web")).drift == 1
            assert sorted(await evaluate(service)) == [
                ("drift:web", "raised"),
                ("quarantined:web:GHOST-1", "raised"),
            ]
            quarantined = next(a for a in rx.alerts() if a["condition"] == "quarantined")
            assert quarantined["facts"]["lines"] == 1
            assert quarantined["facts"]["units"] == 2

            with w.ledger.tx() as tx:  # the merchant adds the SKU, then retries the quarantined lines
                tx.upsert_product("GHOST-1", title="Ghost", price=Decimal("9.00"), currency="EUR")
                tx.record_movement("GHOST-1", "WH", "receipt", 5, "count:GHOST-1", at=w.clock.now())
            assert w.engine.retry_quarantined() == (1, 0)
            assert (await w.engine.reconcile("web")).drift == 0
            assert sorted(await evaluate(service)) == [
                ("drift:web", "cleared"),
                ("quarantined:web:GHOST-1", "cleared"),
            ]
            await service.aclose()
    assert statuses(rx) == Counter(
        {
            ("drift:web", "firing"): 1,
            ("drift:web", "resolved"): 1,
            ("quarantined:web:GHOST-1", "firing"): 1,
            ("quarantined:web:GHOST-1", "resolved"): 1,
        }
    )
    assert len(box.mails) == 2


async def test_the_daemon_refuses_to_start_when_a_notifier_secret_is_not_set(tmp_path: Path) -> None:
    yaml = alerts_yaml("http://127.0.0.1:9/hook", 9)
    w = World(tmp_path, f"sqlite:///{tmp_path / 'l.db'}", extra=yaml, env={})  # ALERT_HOOK_SECRET unset
    await w.start({"MUG": (1, 1)})
    with pytest.raises(ConfigFileError) as info:
        await serve(w.engine, DaemonConfig(port=0), install_signals=False, http=False)
    assert "alerts.notifiers.ops.secret: environment variable ALERT_HOOK_SECRET is not set" in str(info.value)
    assert "omnisync.yaml:" in str(info.value)


async def test_a_first_start_over_many_empty_shelves_is_one_mail_and_a_few_webhooks(tmp_path: Path) -> None:
    box = Mailbox()
    with smtp_server(box) as smtp:
        async with serving(Receiver()) as rx:
            w = World(
                tmp_path,
                f"sqlite:///{tmp_path / 'l.db'}",
                extra=alerts_yaml(rx.url("/hook"), smtp.port),
                env=ENV,
            )
            await w.start({f"EMPTY-{n:03d}": (0, 0) for n in range(120)})
            service = alert_service(w.engine)
            assert service is not None
            service.start()
            for channel in ("web", "pos"):
                assert (await w.engine.cycle(channel)).ok
            assert len(await evaluate(service)) == 240, "120 SKUs out of stock on two channels"
            await service.aclose()
    assert [len(body["alerts"]) for body in rx.hooks] == [50, 50, 50, 50, 40], "a machine gets them all"
    assert len(box.mails) == 1, "a person gets one mail"
    assert box.mails[0][2]["Subject"] == "[omnisync] 240 alerts (240 raised)"
    body = box.bodies()[0]
    assert sum(line.startswith("ALERT [out_of_stock]") for line in body.splitlines()) == 50
    assert "... and 190 more (the daemon's /status lists the alerts firing)" in body


async def test_the_reorder_alert_follows_the_reorder_list_recomputed_every_reorder_every(
    tmp_path: Path,
) -> None:
    box = Mailbox()
    with smtp_server(box) as smtp:
        async with serving(Receiver()) as rx:
            yaml = "replenishment: {lead_time_days: 30}\n" + alerts_yaml(
                rx.url("/hook"), smtp.port, extra="  reorder_every: 5m\n  ignore: [out_of_stock]\n"
            )
            w, service = await world(tmp_path, f"sqlite:///{tmp_path / 'l.db'}", yaml)
            assert await evaluate(service) == [], "nothing sold: nothing to reorder"
            w.web.place_order("WEB-MUG", 6)  # the web store sells 6 of 15 mugs
            assert (await w.engine.cycle("web")).ok
            assert await evaluate(service) == [], "the list computed a moment ago stands for 5 minutes"
            w.clock.advance(300)
            assert await evaluate(service) == [("reorder_point:MUG", "raised")]
            await service.aclose()
    (alert,) = rx.alerts()
    assert set(alert["facts"]) == {"WH"}, "the web store sold from the warehouse"
    assert alert["facts"]["WH"]["available"] == 4
    assert alert["facts"]["WH"]["quantity"] > 0


async def test_a_failing_notifier_is_logged_without_its_secret(tmp_path: Path) -> None:
    """Slack's URL is the credential: a Slack that cannot be reached is logged by name and error only."""
    secret_path = "/services/T0SECRET/B0SECRET/xoxSECRETxox"
    yaml = """\
alerts:
  notifiers:
    team:
      type: slack
      url: ${SLACK_URL}
      retries: 1
"""
    w = World(
        tmp_path,
        f"sqlite:///{tmp_path / 'l.db'}",
        extra=yaml,
        env={"SLACK_URL": f"http://127.0.0.1:{free_port()}{secret_path}"},
    )
    await w.start({"MUG": (10, 5), "TEE": (3, 0)})
    service = alert_service(w.engine)
    assert service is not None
    service.start()
    for channel in ("web", "pos"):
        assert (await w.engine.cycle(channel)).ok
    with capture_logs() as logs:
        await evaluate(service)
    await service.aclose()
    events = [e["event"] for e in logs]
    assert "alerts.send_retry" in events
    assert "alerts.send_failed" in events
    failed = next(e for e in logs if e["event"] == "alerts.send_failed")
    assert failed["notifier"] == "team"
    assert failed["temporary"] is True
    assert "SECRET" not in repr(logs)
    assert service.failures["team"] == 1


async def test_the_daemon_runs_the_alert_job_and_stops_it_cleanly(tmp_path: Path) -> None:
    yaml = alerts_yaml(f"http://127.0.0.1:{free_port()}/hook", free_port())
    w = World(tmp_path, f"sqlite:///{tmp_path / 'l.db'}", extra=yaml, env=ENV)
    await w.start({"MUG": (1, 1)})
    stop = asyncio.Event()
    seen: list[ServiceInfo] = []
    task = asyncio.create_task(
        serve(
            w.engine, DaemonConfig(port=0), stop=stop, install_signals=False, http=False, on_ready=seen.append
        )
    )
    for _ in range(500):
        if seen or task.done():
            break
        await asyncio.sleep(0.01)
    assert seen, "the daemon did not start"
    scheduler = seen[0].scheduler
    assert scheduler.alerts is not None
    assert "interval[0:00:30]" in scheduler.jobs()["alerts"]
    stop.set()
    assert await asyncio.wait_for(task, 30) == 0
    assert scheduler.alerts._senders == [], "the senders stopped with the daemon"
