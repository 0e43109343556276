"""Per-channel runtime state: the connector, its rules, its health and circuit breaker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from omnisync.config import ChannelConfig
from omnisync.http import CallStats
from omnisync.sdk.connector import Connector
from omnisync.sdk.errors import ConfigurationError
from omnisync.sdk.models import Capability

from .intake import ChannelIntake
from .planner import ChannelRules

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
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by whatever pushes to the channel (cycles with a push, reconcile)."""
    pull_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by an order pull (one at a time per channel: the cursor moves in order), and by a live
    read with the pull that follows it. A push does not wait for it, nor a pull for ``lock``; when
    both are needed, ``lock`` is taken first. Webhook payloads are imported without either."""

    @property
    def holds_increases(self) -> bool:
        """Quantity increases wait: the channel pulls orders and its pull is not caught up."""
        return self.health.orders_behind and self.connector.supports(Capability.PULL_ORDERS)
