"""The client's model of Shopify's cost bucket (calculated query cost, leaky bucket).

Every answer carries ``extensions.cost``::

    {"requestedQueryCost": 10, "actualQueryCost": 10,
     "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}

Shopify refuses a query whose *requested* cost exceeds the points currently available (HTTP 200 with
``errors[].extensions.code == "THROTTLED"``), charges the requested cost up front and refunds the
difference to the actual cost afterwards. The model below mirrors that: before a call it waits on the
injected clock until the estimated requested cost is available, so a throttled answer is the
exception (another app on the same shop, a wrong estimate), never the way the pace is found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

THROTTLED = "THROTTLED"
MARGIN = 0.01
"""Points of headroom over the estimate, so float rounding never turns a just-in-time call into THROTTLED."""
MAX_QUERY_COST = 1000
"""No single query may request more than this many points, on every plan."""


@dataclass
class CostBucket:
    maximum: float
    restore_rate: float
    available: float
    updated: float
    """Clock reading (monotonic seconds) when ``available`` was last known."""

    @classmethod
    def full(cls, maximum: float, restore_rate: float, now: float) -> CostBucket:
        return cls(maximum, restore_rate, maximum, now)

    def level(self, now: float) -> float:
        elapsed = max(0.0, now - self.updated)
        return min(self.maximum, self.available + elapsed * self.restore_rate)

    def wait_time(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` points are available (0 when they are now)."""
        need = min(cost + MARGIN, self.maximum)
        deficit = need - self.level(now)
        if deficit <= 0:
            return 0.0
        return deficit / self.restore_rate if self.restore_rate > 0 else 1.0

    def spend(self, cost: float, now: float) -> None:
        """Book an estimated cost locally until the answer reports the real level."""
        self.available = self.level(now) - cost
        self.updated = now

    def observe(self, status: Mapping[str, Any], now: float, pending: float = 0.0) -> None:
        """Adopt the level, size and rate the answer reports (they are the truth), less ``pending``:
        the points booked for calls sent after this one and not answered yet, which reached Shopify
        after it (or are still on their way) and so are not in its figure. The level is adopted as of
        now although Shopify measured it when the call arrived: the model errs on the low side by what
        half a round trip restores, never into a THROTTLED answer."""
        try:
            maximum = float(status["maximumAvailable"])
            available = float(status["currentlyAvailable"])
            rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        if maximum > 0:
            self.maximum = maximum
        if rate > 0:
            self.restore_rate = rate
        self.available = min(self.maximum, available) - pending
        self.updated = now


def cost_extension(body: object) -> Mapping[str, Any] | None:
    """``extensions.cost`` of an answer, if present and well formed."""
    if not isinstance(body, Mapping):
        return None
    extensions = body.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    return cost if isinstance(cost, Mapping) else None


def is_throttled(body: object) -> bool:
    if not isinstance(body, Mapping):
        return False
    errors = body.get("errors")
    if not isinstance(errors, list):
        return False
    for error in errors:
        ext = error.get("extensions") if isinstance(error, Mapping) else None
        if isinstance(ext, Mapping) and ext.get("code") == THROTTLED:
            return True
    return False


def throttle_delay(body: object) -> float | None:
    """Seconds until the refused query's requested cost is restored: points needed ÷ restore rate."""
    cost = cost_extension(body)
    if cost is None:
        return None
    status = cost.get("throttleStatus")
    if not isinstance(status, Mapping):
        return None
    try:
        requested = float(cost["requestedQueryCost"])
        available = float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return None
    if rate <= 0:
        return None
    return max(0.0, requested - available) / rate
