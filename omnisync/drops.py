"""Channel-exclusive drops: time windows in which a SKU is sold on one channel only.

Pure: no clock reads; ``now`` is always a parameter and must be timezone-aware.

A drop's schedule is the union of its explicit windows and its monthly rule. Windows are half-open,
``[start, end)``: open at ``start``, closed again at ``end``. Overlapping or touching windows merge
into one, so :func:`next_edge` only reports instants at which the drop really opens or closes.

Monthly rule: on ``day`` of every month at the wall-clock ``start`` in the IANA ``timezone``, for
``hours`` elapsed hours (so a window across a DST change still lasts exactly ``hours``). A day that a
month lacks (31 in April) falls on that month's last day, so a monthly drop happens every month.

What a drop means for allocation (see :mod:`omnisync.allocation`): inside an open window the
exclusive channel offers by its normal rules and is made visible; every other channel offers 0.
Outside the windows *no* channel offers the SKU and the exclusive channel hides it: the product line
is buyable only on that channel, only inside the window. A non-exclusive drop (``exclusive=False``)
only gates its own channel (visible and offered inside, hidden outside) and leaves the others alone.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MAX_WINDOW_HOURS",
    "DropSchedule",
    "DropState",
    "MonthlyRule",
    "Window",
    "drop_state",
    "is_open",
    "next_edge",
    "windows_near",
    "zone",
]

MAX_WINDOW_HOURS = 24 * 28
"""A monthly window may last at most 28 days, so two consecutive monthly windows never overlap."""


def _require_aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")


def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; ValueError with the name when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {name!r}") from exc


@dataclass(frozen=True)
class Window:
    """One half-open window ``[start, end)`` between two aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware(self.start, "window start")
        _require_aware(self.end, "window end")
        if self.end <= self.start:
            raise ValueError(
                f"window end {self.end.isoformat()} must be after its start {self.start.isoformat()}"
            )

    def contains(self, now: datetime) -> bool:
        return self.start <= now < self.end


@dataclass(frozen=True)
class MonthlyRule:
    """Every month on ``day`` at wall-clock ``start`` in ``timezone``, for ``hours`` hours."""

    day: int
    start: time
    timezone: str
    hours: int = 24

    def __post_init__(self) -> None:
        if not 1 <= self.day <= 31:
            raise ValueError(f"monthly drop day must be 1..31, got {self.day}")
        if not 1 <= self.hours <= MAX_WINDOW_HOURS:
            raise ValueError(f"monthly drop hours must be 1..{MAX_WINDOW_HOURS}, got {self.hours}")
        if self.start.tzinfo is not None:
            raise ValueError("monthly drop start is a wall-clock time; give the zone in 'timezone'")
        zone(self.timezone)

    def window_in(self, year: int, month: int) -> Window:
        """This rule's window in the given (local) month."""
        day = min(self.day, calendar.monthrange(year, month)[1])
        local = datetime.combine(date(year, month, day), self.start, tzinfo=zone(self.timezone))
        start = local.astimezone(UTC)
        return Window(start, start + timedelta(hours=self.hours))


@dataclass(frozen=True)
class DropSchedule:
    """When a SKU's drop is open, and on which channel."""

    exclusive_channel: str
    windows: tuple[Window, ...] = ()
    monthly: MonthlyRule | None = None
    exclusive: bool = True

    def __post_init__(self) -> None:
        if not self.windows and self.monthly is None:
            raise ValueError("a drop needs at least one window or a monthly rule")


@dataclass(frozen=True)
class DropState:
    """A schedule seen at one instant: open or not, and the current (open) or next (closed) window.

    ``window`` is None when the drop is closed and no later window is scheduled.
    """

    channel: str
    open: bool
    window: tuple[datetime, datetime] | None
    exclusive: bool = True


def _shift_month(year: int, month: int, offset: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + offset
    return index // 12, index % 12 + 1


def _merge(windows: Iterable[Window]) -> list[Window]:
    merged: list[Window] = []
    for window in sorted(windows, key=lambda w: (w.start, w.end)):
        if merged and window.start <= merged[-1].end:
            last = merged[-1]
            if window.end > last.end:
                merged[-1] = Window(last.start, window.end)
        else:
            merged.append(window)
    return merged


def windows_near(schedule: DropSchedule, now: datetime) -> list[Window]:
    """The schedule's merged windows that can matter at ``now``: every explicit window and the
    monthly windows from the previous month to two months ahead (in the rule's zone)."""
    _require_aware(now, "now")
    windows = list(schedule.windows)
    rule = schedule.monthly
    if rule is not None:
        local = now.astimezone(zone(rule.timezone))
        for offset in (-1, 0, 1, 2):
            windows.append(rule.window_in(*_shift_month(local.year, local.month, offset)))
    return _merge(windows)


def is_open(schedule: DropSchedule, now: datetime) -> bool:
    """True when ``now`` lies inside one of the schedule's windows."""
    return any(window.contains(now) for window in windows_near(schedule, now))


def next_edge(schedule: DropSchedule, now: datetime) -> datetime | None:
    """The next instant strictly after ``now`` at which the drop opens or closes (None: never)."""
    edges = (edge for window in windows_near(schedule, now) for edge in (window.start, window.end))
    return min((edge for edge in edges if edge > now), default=None)


def drop_state(schedule: DropSchedule, now: datetime) -> DropState:
    """The schedule at ``now``: the open window, or the next one to open."""
    windows = windows_near(schedule, now)
    for window in windows:
        if window.contains(now):
            return DropState(schedule.exclusive_channel, True, (window.start, window.end), schedule.exclusive)
    upcoming = next((w for w in windows if w.start > now), None)
    span = (upcoming.start, upcoming.end) if upcoming is not None else None
    return DropState(schedule.exclusive_channel, False, span, schedule.exclusive)
