"""structlog, configured once: console on a TTY, JSON otherwise; secrets redacted everywhere."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog

_secrets: set[str] = set()
_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|api[_-]?key|signature)", re.I)
REDACTED = "***"


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is replaced wherever it would appear in a log line."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact_text(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_url(url: str) -> str:
    """Scheme, host and path only: queries often carry tokens (Meta's access_token=...)."""
    parts = urlsplit(url)
    return redact_text(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEYS.search(key) and isinstance(value, str) and not key.endswith(("_count", "_s")):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(key, v) for v in value)
    if isinstance(value, BaseException):
        return redact_text(str(value))
    return value


def redact_processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        event[key] = _redact_value(key, event[key])
    return event


_configured = False


def configure(level: str = "info", json: bool | None = None, stream: Any = None) -> None:
    """Configure structlog once per process (later calls only change level/format)."""
    global _configured
    explicit = stream
    stream = stream or sys.stderr
    use_json = (not stream.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_processor,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # Without an explicit stream, look sys.stderr up at each call (it may be swapped, e.g. by tests).
        logger_factory=(
            structlog.PrintLoggerFactory(explicit)
            if explicit is not None
            else (lambda *_a: structlog.PrintLogger(sys.stderr))
        ),
        cache_logger_on_first_use=False,
    )
    _configured = True
