"""Times a person reads: the machine's local time, 14:05:09 today, 3 Dec 14:05 another day."""

from __future__ import annotations

from datetime import datetime


def readable(at: datetime, now: datetime | None = None) -> str:
    """``at`` in local time; the date is shown only when it is not ``now``'s (default: the clock's)."""
    local = at.astimezone()
    today = (now or datetime.now().astimezone()).astimezone().date()
    return local.strftime("%H:%M:%S") if local.date() == today else f"{local.day} {local:%b %H:%M}"
