"""Counters of what one channel's HTTP client did, for the cycle log line, metrics and benchmarks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class CallStats:
    calls: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    waited_s: float = 0.0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_throttled(self) -> int:
        return sum(self.throttled.values())

    def snapshot(self) -> dict[str, int | float]:
        return {
            "calls": self.total_calls,
            "throttled": self.total_throttled,
            "retries": sum(self.retries.values()),
            "failures": sum(self.failures.values()),
            "waited_s": round(self.waited_s, 3),
        }
