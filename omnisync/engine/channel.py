"""Per-channel runtime state: the connector, its rules, its health and circuit breaker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from omnisync.config import ChannelConfig
from omnisync.health import ChannelFacts
from omnisync.http import CallStats
from omnisync.sdk.connector import Connector
from omnisync.sdk.errors import ConfigurationError
from omnisync.sdk.models import Capability

from .gate import ChannelGate
from .intake import ChannelIntake
from .targets import ChannelRules

BREAKER_BASE_S = 30.0
BREAKER_MAX_S = 900.0
CONFIG_PAUSE_S = 3600.0


@dataclass
class ChannelHealth:
    state: str = "idle"
    """idle | ok | failing | configuration | open (breaker)."""
    last_pull_at: datetime | None = None
    orders_behind: bool = True
    """No order pull has succeeded since start-up or since the last one failed. The channel may have
    sold units the ledger has not seen, while a live read put them in the acknowledged value: a
    raise pushed now would pass compare-and-set over those sales. Increases wait; decreases go."""
    pulls_started: int = 0
    held_until_pull: int | None = None
    """After a live read that may hold sales not imported yet: ``orders_behind`` stays set until a
    pull numbered above this one (started after the read) succeeds."""
    last_push_at: datetime | None = None
    last_reconcile_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    open_until: datetime | None = None
    orders_imported: int = 0
    items_pushed: int = 0
    items_accepted: int = 0
    items_rejected: int = 0
    quarantined: int = 0
    drift_corrected: int = 0
    push_lag_s: float | None = None

    def read_live(self) -> None:
        """A live read put the channel's own count in the compare values: increases wait for a pull
        that starts after it."""
        self.orders_behind = True
        self.held_until_pull = self.pulls_started

    def pull_started(self) -> int:
        self.pulls_started += 1
        return self.pulls_started

    def pulled(self, pull: int, *, failed: bool) -> None:
        """Order pull number ``pull`` ended (``failed``: some order was not applied)."""
        if failed:
            self.orders_behind = True
        elif self.held_until_pull is None or pull > self.held_until_pull:
            self.orders_behind = False
            self.held_until_pull = None

    def breaker_open(self, now: datetime) -> bool:
        return self.open_until is not None and now < self.open_until

    def failed(self, exc: BaseException, now: datetime) -> None:
        self.consecutive_failures += 1
        self.last_error = str(exc)
        self.last_error_at = now
        if isinstance(exc, ConfigurationError):
            self.state = "configuration"
            pause = CONFIG_PAUSE_S
        else:
            self.state = "failing"
            pause = min(BREAKER_MAX_S, BREAKER_BASE_S * 2 ** (self.consecutive_failures - 1))
        if self.consecutive_failures >= 3 or isinstance(exc, ConfigurationError):
            self.open_until = now + timedelta(seconds=pause)
            if self.state != "configuration":
                self.state = "open"

    def succeeded(self) -> None:
        self.state = "ok"
        self.consecutive_failures = 0
        self.open_until = None


@dataclass
class ChannelRuntime:
    name: str
    config: ChannelConfig
    connector: Connector
    rules: ChannelRules
    channel_id: int
    stats: CallStats
    intake: ChannelIntake
    health: ChannelHealth = field(default_factory=ChannelHealth)
    gate: ChannelGate = field(init=False)
    """Who works on the channel now and who waits (:mod:`omnisync.engine.gate`)."""
    in_flight: dict[int, int] = field(default_factory=dict)
    """Product id -> version, of the pairs in a push that awaits its results (a pipelined channel:
    see :attr:`push_slots`)."""
    deferred: set[int] = field(default_factory=set)
    """Products that changed again while in flight; the push carrying them ends by asking for another."""
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while no push is in flight."""
    external_read: bool = False
    """The channel's own locations (``Capability.EXTERNAL_STOCK``) were read in full once: later reads
    may ask for what changed only."""
    recheck: set[int] = field(default_factory=set)
    """Products whose quantity the channel reported other than acknowledged (a notification): the
    next push reads them live before it plans."""

    def __post_init__(self) -> None:
        self.idle.set()
        self.gate = ChannelGate(self.push_slots)

    @property
    def push_slots(self) -> int:
        """Pushes that may be in flight at once (``limits.push_inventory.in_flight``). With more than
        one, a push holds the gate's ``lock`` only while it plans: it sends the pairs not in flight and
        leaves the others dirty for the push that follows the one carrying them."""
        return max(1, self.connector.limits.push_inventory.in_flight)

    def take(self, versions: dict[int, int]) -> None:
        self.in_flight |= versions
        if self.in_flight:
            self.idle.clear()

    def release(self, product_ids: Iterable[int]) -> bool:
        """The push of these products settled. Returns whether any changed again meanwhile."""
        again = False
        for pid in product_ids:
            self.in_flight.pop(pid, None)
            if pid in self.deferred:
                self.deferred.discard(pid)
                again = True
        if not self.in_flight:
            self.idle.set()
        return again

    async def wait_idle(self) -> None:
        while self.in_flight:
            await self.idle.wait()

    @property
    def has_run(self) -> bool:
        """A pull, a push or an error since start-up: its state is known here."""
        h = self.health
        return h.last_pull_at is not None or h.last_push_at is not None or h.last_error_at is not None

    def facts(self, now: datetime, pending: int | None) -> ChannelFacts:
        """What :func:`omnisync.health.channel_state` judges this channel from."""
        h = self.health
        return ChannelFacts(
            now=now,
            engine_state=h.state,
            last_pull_at=h.last_pull_at,
            last_push_at=h.last_push_at,
            last_error_at=h.last_error_at,
            last_error=h.last_error,
            paused_until=h.open_until,
            orders_behind=self.holds_increases,
            pending=pending,
            throttled_for_s=self.connector.context.budgets.parked_for(),
            push_every_s=self.config.schedule.push_every,
            consecutive_failures=h.consecutive_failures,
        )

    @property
    def holds_increases(self) -> bool:
        """Quantity increases wait: the channel pulls orders and its pull is not caught up."""
        return self.health.orders_behind and self.connector.supports(Capability.PULL_ORDERS)
