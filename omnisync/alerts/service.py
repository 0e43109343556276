"""The daemon's alert job: evaluate, record, and send off the sync path.

Every ``alerts.every`` the scheduler calls :meth:`AlertService.evaluate`: a snapshot of the ledger and
the channels' states (:mod:`.snapshot`), the conditions that hold (:func:`.conditions.findings`),
the records that change (:func:`.state.advance`), written in one transaction. It then *asks* each
notifier's sender to flush: a bounded queue of one request per notifier, put without waiting (a
full queue means a flush is already asked for and will see these changes too), so evaluation never
waits on a network and a slow or dead receiver never holds up the sync or another notifier.

A flush reads what the notifier is owed from the ledger (:func:`.state.owed`), sends it in messages
of at most ``max_per_message`` (retried with backoff, :func:`.notifiers.send_with_retries`), and
records each message as told in the ledger once it is accepted. A notifier that still fails is
logged (never a secret) and skips the next 1, 3, 7, ... evaluations (at most ``MAX_SKIPS``) before
it is tried again; what it is owed waits in the ledger, across restarts too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import structlog

from omnisync.config import AlertsConfig
from omnisync.engine.runtime import Engine

from .conditions import Kind, ReorderNeed, findings
from .notifiers import Notifier, SendError, build, send_with_retries
from .settings import NotifierSettings
from .snapshot import gather, to_order
from .state import AlertRecord, Notice, Status, Told, Transition, advance, owed

log = structlog.get_logger("omnisync.alerts")

CLOSE_WAIT_S = 5.0
"""Real seconds a shutdown waits for the flushes in flight."""
MAX_SKIPS = 60
"""Evaluations a failing notifier sits out at most between two tries."""


def record_of(row: Mapping[str, Any]) -> AlertRecord:
    return AlertRecord(
        key=row["key"],
        kind=Kind(row["kind"]),
        channel=row["channel"],
        sku=row["sku"],
        status=Status(row["status"]),
        since=row["since"],
        episode=int(row["episode"]),
        summary=row["summary"],
        facts=dict(row["facts"] or {}),
        raised_at=row["raised_at"],
        resolved_at=row["resolved_at"],
    )


def row_of(rec: AlertRecord) -> dict[str, Any]:
    return {
        "key": rec.key,
        "kind": rec.kind.value,
        "channel": rec.channel,
        "sku": rec.sku,
        "status": rec.status.value,
        "since": rec.since,
        "episode": rec.episode,
        "summary": rec.summary,
        "facts": dict(rec.facts),
        "raised_at": rec.raised_at,
        "resolved_at": rec.resolved_at,
    }


def batches(notices: Sequence[Notice], size: int) -> Iterator[Sequence[Notice]]:
    for start in range(0, len(notices), size):
        yield notices[start : start + size]


class AlertService:
    def __init__(
        self,
        engine: Engine,
        cfg: AlertsConfig,
        notifiers: Mapping[str, Notifier],
        *,
        works: Callable[[str], bool] | None = None,
        holds: Callable[[], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.cfg = cfg
        self.notifiers = dict(notifiers)
        self.works = works or (lambda channel: channel in engine.channels)
        """Whether this daemon works a channel now (its state is judged only there)."""
        self.holds = holds
        """Whether this daemon is the one that evaluates (the alerts job's lease); None: always."""
        self.watched = frozenset(Kind(k) for k in cfg.watched())
        self.thresholds = cfg.thresholds()
        self.sent: Counter[tuple[str, str]] = Counter()
        """(notifier, firing | resolved) -> alerts delivered."""
        self.failures: Counter[str] = Counter()
        """Notifier -> messages given up on (all retries failed)."""
        self._queues: dict[str, asyncio.Queue[None]] = {n: asyncio.Queue(maxsize=1) for n in self.notifiers}
        self._senders: list[asyncio.Task[None]] = []
        self._failed_in_a_row: Counter[str] = Counter()
        self._cache: dict[str, AlertRecord] | None = None
        self._evaluating = asyncio.Lock()
        self._reorder: Mapping[str, tuple[ReorderNeed, ...]] = {}
        self._reorder_at: datetime | None = None
        self._told_cache: dict[str, dict[str, Told]] = {}
        self._skips: Counter[str] = Counter()

    @property
    def every_s(self) -> float:
        return self.cfg.every

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """One sender task per notifier (inside the running event loop)."""
        if not self._senders:
            loop = asyncio.get_running_loop()
            self._senders = [loop.create_task(self._sender(name)) for name in self.notifiers]

    async def settle(self) -> None:
        """Wait until every flush asked for has run (tests, and shutdown)."""
        await asyncio.gather(*(q.join() for q in self._queues.values()))

    async def aclose(self) -> None:
        """Let the flushes asked for finish (for at most ``CLOSE_WAIT_S`` real seconds), then stop: what
        is not sent is still owed in the ledger and goes after the next start."""
        if self._senders:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.settle(), CLOSE_WAIT_S)
            for task in self._senders:
                task.cancel()
            await asyncio.gather(*self._senders, return_exceptions=True)
            self._senders = []
        for notifier in self.notifiers.values():
            await notifier.aclose()

    # -- evaluation ---------------------------------------------------------------------------------
    async def evaluate(self) -> list[Transition]:
        """The scheduled job: judge the conditions, record what changed, ask the senders to flush.

        The reads, the judging and the write run on a worker thread (a first start over a large
        catalogue judges and writes tens of thousands of alerts), so the event loop, and with it every
        channel's sync, goes on meanwhile. The records in memory change only here, on the loop."""
        async with self._evaluating:
            if self.holds is not None and not await asyncio.to_thread(self.holds):
                self._forget()  # another daemon evaluates: what is in memory goes stale
                return []
            if self._cache is None:
                self._cache = await asyncio.to_thread(self._load)
            records = self._cache
            changed, moves = await asyncio.to_thread(self._judge, records)
            records.update(changed)
        _log(moves)
        self.kick()
        return moves

    def _judge(self, records: Mapping[str, AlertRecord]) -> tuple[dict[str, AlertRecord], list[Transition]]:
        """Snapshot, findings, transitions, and their write in one transaction (worker thread)."""
        snap = gather(self.engine, self.cfg, self.works, self._reorder_needs())
        found = findings(snap, self.watched)
        changed, moves = advance(records, found, snap.now, self.thresholds)
        if changed:
            fresh = [row_of(r) for k, r in changed.items() if k not in records]
            again = [row_of(r) for k, r in changed.items() if k in records]
            with self.engine.ledger.tx() as tx:
                tx.save_alerts(fresh, again, snap.now)
        return changed, moves

    def _reorder_needs(self) -> Mapping[str, tuple[ReorderNeed, ...]] | None:
        """The reorder list's needs, recomputed at most every ``alerts.reorder_every`` (its cost grows
        with the catalogue and its sales; stock moves between two computations wait for the next)."""
        if Kind.REORDER_POINT not in self.watched:
            return None
        now = self.engine.clock.now()
        if self._reorder_at is None or (now - self._reorder_at).total_seconds() >= self.cfg.reorder_every:
            self._reorder, self._reorder_at = to_order(self.engine, now), now
        return self._reorder

    def _load(self) -> dict[str, AlertRecord]:
        """Every alert record, read from the ledger once, then kept in step with what is written (this
        daemon is the only one writing them while it holds the job)."""
        with self.engine.ledger.read() as conn:
            return {r["key"]: record_of(r) for r in self.engine.ledger.alert_rows(conn)}

    def _records(self) -> dict[str, AlertRecord]:
        if self._cache is None:
            self._cache = self._load()
        return self._cache

    def _told(self, notifier: str) -> dict[str, Told]:
        if notifier not in self._told_cache:
            with self.engine.ledger.read() as conn:
                told = self.engine.ledger.told(conn, notifier)
            self._told_cache[notifier] = {k: Told(ep, Status(st)) for k, (ep, st) in told.items()}
        return self._told_cache[notifier]

    def _forget(self) -> None:
        self._cache = None
        self._told_cache.clear()

    def kick(self) -> None:
        for queue in self._queues.values():
            with contextlib.suppress(asyncio.QueueFull):  # a flush is asked for already: it covers this
                queue.put_nowait(None)

    # -- sending ------------------------------------------------------------------------------------
    def accepts(self, notifier: str) -> Callable[[Kind], bool]:
        only = self.notifiers[notifier].settings.conditions
        return lambda kind: kind in self.watched and (only is None or kind.value in only)

    def owed(self, notifier: str, accepts: Callable[[Kind], bool] | None = None) -> list[Notice]:
        """What ``notifier`` has not been told yet (of the kinds it ``accepts``: by default, its own)."""
        return owed(self._records().values(), self._told(notifier), accepts or self.accepts(notifier))

    async def _sender(self, name: str) -> None:
        queue = self._queues[name]
        while True:
            await queue.get()
            try:
                await self.flush(name)
            except Exception:  # a bug here must not stop the sender (nor anything else)
                log.exception("alerts.flush_crashed", notifier=name)
            finally:
                queue.task_done()

    async def flush(self, name: str) -> int:
        """Send what ``name`` is owed; returns how many alerts it accepted."""
        if self._skips[name] > 0:
            self._skips[name] -= 1
            return 0
        notifier = self.notifiers[name]
        clock = self.engine.clock
        sent = 0
        owed_now = self.owed(name)
        size = len(owed_now) if notifier.summarises else notifier.settings.max_per_message
        for chunk in batches(owed_now, max(1, size)):
            try:
                await send_with_retries(notifier, chunk, clock)
            except SendError as exc:
                self.failures[name] += 1
                self._failed_in_a_row[name] += 1
                self._skips[name] = min(MAX_SKIPS, 2 ** (self._failed_in_a_row[name] - 1) - 1)
                log.error(
                    "alerts.send_failed",
                    notifier=name,
                    alerts=len(chunk),
                    error=str(exc),
                    temporary=exc.temporary,
                    skips_evaluations=self._skips[name],
                )
                return sent
            with self.engine.ledger.tx() as tx:
                tx.mark_told(
                    name, [(n.record.key, n.record.episode, n.status.value) for n in chunk], clock.now()
                )
            self._told(name).update((n.record.key, n.told) for n in chunk)
            for n in chunk:
                self.sent[(name, n.status.value)] += 1
            sent += len(chunk)
            log.info("alerts.sent", notifier=name, alerts=len(chunk))
        self._failed_in_a_row[name] = 0
        return sent

    def firing(self, limit: int = 50) -> tuple[list[AlertRecord], int]:
        """The first ``limit`` alerts firing now (by key) and how many fire in all, for the status page
        (read from the ledger, whichever daemon evaluates)."""
        ledger = self.engine.ledger
        with ledger.read() as conn:
            rows = ledger.alert_rows(conn, Status.FIRING.value, limit)
            total = ledger.alert_count(conn, Status.FIRING.value)
        return [record_of(r) for r in rows], total


LOGGED = 20
"""Raises and clears logged one by one per evaluation; beyond, one line counts them."""


def _log(moves: Sequence[Transition]) -> None:
    for move in moves[:LOGGED]:
        r = move.record
        log_fn = log.warning if move.change == "raised" else log.info
        log_fn(f"alerts.{move.change}", key=r.key, episode=r.episode, summary=r.summary)
    if len(moves) > LOGGED:
        log.warning("alerts.more_changes", count=len(moves) - LOGGED)


def alert_service(
    engine: Engine,
    *,
    works: Callable[[str], bool] | None = None,
    holds: Callable[[], bool] | None = None,
) -> AlertService | None:
    """The service the config's ``alerts:`` asks for (None without one). Each notifier's settings are
    resolved now, its ``${VAR}`` secrets required: the daemon is about to send."""
    cfg = engine.config.alerts
    if cfg is None:
        return None
    notifiers = {
        name: build(name, cast(NotifierSettings, engine.loaded.notifier_settings(name)))
        for name in cfg.notifiers
    }
    return AlertService(engine, cfg, notifiers, works=works, holds=holds)


TEST_SUMMARY = "a test message from omnisync: its alerts reach you here"


async def send_test(engine: Engine) -> dict[str, str | None]:
    """One test message through each configured notifier (not recorded in the ledger):
    notifier -> None when it was accepted, else the error (retries included)."""
    service = alert_service(engine)
    if service is None:
        return {}
    now = engine.clock.now()
    record = AlertRecord("test", Kind.TEST, None, None, Status.FIRING, now, 0, TEST_SUMMARY, raised_at=now)
    results: dict[str, str | None] = {}
    for name, notifier in service.notifiers.items():
        try:
            await send_with_retries(notifier, [Notice(record, Status.FIRING)], engine.clock)
            results[name] = None
        except SendError as exc:
            results[name] = str(exc)
        finally:
            await notifier.aclose()
    return results


__all__ = ["TEST_SUMMARY", "AlertService", "alert_service", "batches", "record_of", "row_of", "send_test"]
