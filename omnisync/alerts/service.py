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
from typing import Any, cast

import structlog

from omnisync.config import AlertsConfig
from omnisync.engine.runtime import Engine

from .conditions import Kind, findings
from .notifiers import Notifier, SendError, build, send_with_retries
from .settings import NotifierSettings
from .snapshot import gather
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
        """The scheduled job: judge the conditions, record what changed, ask the senders to flush."""
        if self.holds is not None and not self.holds():
            return []
        snap = gather(self.engine, self.cfg, self.works)
        found = findings(snap, self.watched)
        ledger = self.engine.ledger
        with ledger.read() as conn:
            records = {r["key"]: record_of(r) for r in ledger.alert_rows(conn)}
        changed, moves = advance(records, found, snap.now, self.thresholds)
        if changed:
            with ledger.tx() as tx:
                tx.save_alerts([row_of(r) for r in changed.values()], snap.now)
        for move in moves:
            r = move.record
            log_fn = log.warning if move.change == "raised" else log.info
            log_fn(f"alerts.{move.change}", key=r.key, episode=r.episode, summary=r.summary)
        self.kick()
        return moves

    def kick(self) -> None:
        for queue in self._queues.values():
            with contextlib.suppress(asyncio.QueueFull):  # a flush is asked for already: it covers this
                queue.put_nowait(None)

    # -- sending ------------------------------------------------------------------------------------
    def accepts(self, notifier: str) -> Callable[[Kind], bool]:
        only = self.notifiers[notifier].settings.conditions
        return lambda kind: kind in self.watched and (only is None or kind.value in only)

    def owed(self, notifier: str) -> list[Notice]:
        ledger = self.engine.ledger
        with ledger.read() as conn:
            records = [record_of(r) for r in ledger.alert_rows(conn)]
            told = {k: Told(ep, Status(st)) for k, (ep, st) in ledger.told(conn, notifier).items()}
        return owed(records, told, self.accepts(notifier))

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
        for chunk in batches(self.owed(name), notifier.settings.max_per_message):
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
            for n in chunk:
                self.sent[(name, n.status.value)] += 1
            sent += len(chunk)
            log.info("alerts.sent", notifier=name, alerts=len(chunk))
        self._failed_in_a_row[name] = 0
        return sent

    def firing(self) -> list[AlertRecord]:
        """The alerts firing now (for the status page)."""
        with self.engine.ledger.read() as conn:
            rows = self.engine.ledger.alert_rows(conn)
        return sorted((r for r in map(record_of, rows) if r.status is Status.FIRING), key=lambda r: r.key)


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


__all__ = ["AlertService", "alert_service", "batches", "record_of", "row_of"]
