"""Instantiate a connector: validate its settings, build its HTTP client, hand it its context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from pydantic import ValidationError

from omnisync.clock import Clock, SystemClock
from omnisync.http import CallStats, RateBudgets, build_client

from .connector import Connector, ConnectorContext
from .errors import ConfigurationError


def validate_settings(cls: type[Connector], raw: Mapping[str, Any], channel: str) -> Any:
    try:
        return cls.Settings.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigurationError(
            f"settings for connector {cls.name!r}: {problems}", channel=channel
        ) from None


def instantiate(
    cls: type[Connector],
    raw_settings: Mapping[str, Any] | Any,
    *,
    channel: str,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    locations: Mapping[str, str] | None = None,
    stats: CallStats | None = None,
) -> Connector:
    clock = clock or SystemClock()
    settings = (
        raw_settings
        if isinstance(raw_settings, cls.Settings)
        else validate_settings(cls, raw_settings, channel)
    )
    budgets = RateBudgets(cls.limits, clock, operations=cls.known_operations())
    stats = stats or CallStats()
    client = build_client(
        cls.http_options(settings),
        channel=channel,
        clock=clock,
        budgets=budgets,
        stats=stats,
        classify=cls.classify,
        transport=transport or cls.transport(settings),
    )
    context = ConnectorContext(
        channel=channel,
        clock=clock,
        log=structlog.get_logger("omnisync.connector").bind(channel=channel, connector=cls.name),
        budgets=budgets,
        stats=stats,
        locations=dict(locations or {}),
    )
    return cls(settings, client, context)
