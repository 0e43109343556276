"""status tells the truth: a failing pull is not hidden by a later good push; a failed setup shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from enginekit import World

from omnisync import reports
from omnisync.sdk.errors import ConfigurationError, RetryableError
from omnisync.sdk.models import OrderCursor, OrderPage
from omnisync.testing.fake import FakeConnector


async def test_a_failing_pull_stays_visible_after_a_good_push(tmp_path: Path, ledger_url: str) -> None:
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0)})
    rt = w.engine.channels["web"]

    async def broken(cursor: OrderCursor) -> OrderPage:
        raise RetryableError("the order list answered HTML with status 200")

    rt.connector.pull_orders = broken  # type: ignore[method-assign]
    assert not (await w.engine.cycle("web", push=False)).ok
    w.clock.advance(1)
    assert (await w.engine.cycle("web", pull=False)).ok
    web = reports.status(w.engine)["channels"]["web"]
    assert web["last_kind"] == "push"
    assert web["last_ok"] is False, "the push that worked does not hide the pull that failed"
    assert web["last_error"] == "pull: the order list answered HTML with status 200"
    assert web["last_pull"]["ok"] is False
    assert web["last_push"]["ok"] is True
    pos = reports.status(w.engine)["channels"]["pos"]
    assert pos["last_ok"] is True


async def test_a_failed_setup_is_a_run_that_status_shows(
    tmp_path: Path, ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_location(self: FakeConnector) -> None:
        raise ConfigurationError("has no location WH=L1 for this access token")

    monkeypatch.setattr(FakeConnector, "prepare", no_location)
    w = World(tmp_path, ledger_url)
    await w.start({"MUG": (10, 0)})  # starting with prepare: each channel's setup is a run
    pos = reports.status(w.engine)["channels"]["pos"]
    assert pos["last_ok"] is False
    assert pos["last_error"] == "setup: has no location WH=L1 for this access token"
    assert pos["last_setup"]["ok"] is False
    monkeypatch.undo()  # the merchant fixed it: the next start succeeds and the error is gone
    w.clock.advance(1)
    await w.engine.start()
    pos = reports.status(w.engine)["channels"]["pos"]
    assert (pos["last_ok"], pos["last_error"], pos["last_setup"]["ok"]) == (True, None, True)
