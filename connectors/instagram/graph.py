"""Reading Meta Graph API answers: the error envelope, the usage headers, the throttle codes.

Pure functions over an ``httpx.Response``; the connector and ``classify`` share them.

Error envelope (every Graph error, whatever the HTTP status, often 400 even for throttling)::

    {"error": {"message": "...", "type": "OAuthException", "code": 80014, "error_subcode": 0,
               "is_transient": true, "fbtrace_id": "..."}}

Usage headers (JSON strings, percentages of the budget used)::

    X-App-Usage: {"call_count": 28, "total_time": 25, "total_cputime": 25}
    X-Business-Use-Case-Usage: {"<business id>": [{"type": "...", "call_count": 100, "total_cputime": 25,
                                 "total_time": 25, "estimated_time_to_regain_access": 19}]}

``estimated_time_to_regain_access`` is in minutes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

# Codes Meta documents for rate limiting: 4 app, 17 user, 32 page, 613 custom, 80000-80014 business
# use case (80009 catalog management, 80014 catalog batch, ...).
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
# Access token invalid or expired (190, 102) and permission errors (10, 200-299).
CREDENTIAL_CODES = frozenset({102, 190, 10, *range(200, 300)})
# "Object does not exist / cannot be loaded due to missing permissions": a wrong id in the settings.
UNKNOWN_OBJECT_SUBCODE = 33
# "An unknown error occurred" / "Service temporarily unavailable".
TRANSIENT_CODES = frozenset({1, 2})

DEFAULT_THROTTLE_WAIT_S = 60.0
"""Wait after a throttle answer that carries no estimate."""
MAX_INLINE_WAIT_S = 300.0
"""Longer throttles are not waited out inside one call: the channel backs off instead."""

_USAGE_KEYS = ("call_count", "total_cputime", "total_time")


@dataclass(frozen=True, slots=True)
class GraphError:
    code: int
    message: str
    type: str = ""
    subcode: int | None = None
    is_transient: bool = False

    @property
    def throttled(self) -> bool:
        return self.code in THROTTLE_CODES

    @property
    def credentials(self) -> bool:
        return self.code in CREDENTIAL_CODES

    @property
    def unknown_object(self) -> bool:
        return self.code == 100 and self.subcode == UNKNOWN_OBJECT_SUBCODE

    @property
    def transient(self) -> bool:
        return self.is_transient or self.code in TRANSIENT_CODES

    def describe(self) -> str:
        """Short, secret-free text for results and exceptions."""
        sub = f"/{self.subcode}" if self.subcode else ""
        return f"Graph error {self.code}{sub}: {self.message[:300]}"


def graph_error(response: httpx.Response) -> GraphError | None:
    """The error envelope of an answer, or None (success, or not a Graph error body)."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    try:
        code = int(error.get("code", 0))
    except (TypeError, ValueError):
        code = 0
    subcode = error.get("error_subcode")
    return GraphError(
        code=code,
        message=str(error.get("error_user_msg") or error.get("message") or ""),
        type=str(error.get("type") or ""),
        subcode=int(subcode) if isinstance(subcode, int | str) and str(subcode).isdigit() else None,
        is_transient=bool(error.get("is_transient", False)),
    )


@dataclass(frozen=True, slots=True)
class Usage:
    """The highest budget use reported by an answer, and how long until access returns."""

    percent: float = 0.0
    regain_s: float = 0.0

    @property
    def reported(self) -> bool:
        return self.percent > 0 or self.regain_s > 0


def _load(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _entry_usage(entry: Mapping[str, Any]) -> tuple[float, float]:
    percent = 0.0
    for key in _USAGE_KEYS:
        value = entry.get(key)
        if isinstance(value, int | float):
            percent = max(percent, float(value))
    eta = entry.get("estimated_time_to_regain_access")
    regain = float(eta) * 60.0 if isinstance(eta, int | float) and eta > 0 else 0.0
    return percent, regain


def usage(headers: Mapping[str, str]) -> Usage:
    """Fold X-Business-Use-Case-Usage (every business, every type) and X-App-Usage into one reading."""
    percent, regain = 0.0, 0.0
    buc = _load(headers.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if isinstance(entry, dict):
                    p, r = _entry_usage(entry)
                    percent, regain = max(percent, p), max(regain, r)
    app = _load(headers.get("x-app-usage"))
    if isinstance(app, dict):
        p, r = _entry_usage(app)
        percent, regain = max(percent, p), max(regain, r)
    return Usage(percent, regain)


def throttle_wait(response: httpx.Response) -> float:
    """Seconds to wait after a throttle answer: Meta's estimate, else a default minute."""
    regain = usage(response.headers).regain_s
    return regain if regain > 0 else DEFAULT_THROTTLE_WAIT_S
