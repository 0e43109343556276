"""The deployment configuration: YAML + ``${ENV}`` -> pydantic models.

Found by ``-c FILE``, then ``$OMNISYNC_CONFIG``, then ``./omnisync.yaml``. Secrets only come from the
environment: a connector setting typed ``SecretStr`` must be written as ``${VAR}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from omnisync.sdk.errors import ConfigurationError
from omnisync.yamlsource import ConfigFileError, YamlDoc, load_yaml, validate

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"


def parse_duration(value: Any) -> float:
    """'90s', '5m', '1h', '1d', '250ms' or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration like '60s', '5m' or '1h'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration like '60s', '5m' or '1h'")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 0:
        raise ValueError("a duration must be ≥ 0")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocationConfig(_Model):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str = ""
    kind: Literal["warehouse", "store", "fba"] = "warehouse"
    """``fba``: stock a marketplace keeps in its own fulfilment centres (Amazon FBA). The connector that
    owns it reads its count (never pushes it) and takes its orders from it; other channels may list it
    in their sources to offer those units (shipping them is the merchant's business: multi-channel
    fulfilment is out of scope)."""


class AllocationConfig(_Model):
    """A channel's quantity rules (see ARCHITECTURE.md, 'Allocation')."""

    share: int = Field(100, ge=0, le=100)
    buffer_units: int = Field(0, ge=0)
    buffer_percent: Decimal = Field(Decimal(0), ge=0, le=100)
    max_quantity: int | None = Field(None, ge=0)
    out_of_stock_below: int | None = Field(None, ge=0)
    priority: int = 0
    preorder_limit: int | None = Field(None, ge=0)
    """Units this channel may sell ahead of the stock on order (``stock incoming``), with the platform's
    preorder signal; None: no preorders. Only channels whose connector declares ``preorder``."""


class PricingConfig(_Model):
    markup_percent: Decimal = Decimal(0)
    fixed_add: Decimal = Decimal(0)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    rate: Decimal | None = Field(None, gt=0)
    rounding: str | None = None
    floor: Decimal | None = Field(None, ge=0)
    ceiling: Decimal | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _rate_with_currency(self) -> PricingConfig:
        if self.currency and self.rate is None:
            raise ValueError("a target currency needs a conversion 'rate'")
        return self


class ScheduleConfig(_Model):
    pull_every: Duration = 60.0
    push_every: Duration = 60.0
    reconcile_every: Duration | None = 3600.0
    reconcile_cron: str | None = None
    """Crontab ('0 3 * * *'): a full reconcile at fixed times besides ``reconcile_every``."""
    listings_every: Duration | None = 300.0
    """How often the listing job sends catalogue changes (channels that manage listings and whose
    mapping does not say ``listings: off``); None turns it off."""

    @field_validator("reconcile_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if len(value.split()) != 5:
            raise ValueError("a crontab expression has five fields, e.g. '0 3 * * *'")
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"not a valid crontab expression: {exc}") from None
        return value


class ChannelConfig(_Model):
    connector: str
    enabled: bool = True
    sources: list[str] = Field(min_length=1)
    """Ledger locations this channel sells from, in routing priority order."""
    source_buffers: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """Units per location kept back from this channel (the shop floor's protection)."""
    allocation: AllocationConfig = AllocationConfig()
    pricing: PricingConfig = PricingConfig()
    push_prices: bool = True
    share_components: bool = True
    """Whether the listings on this channel that draw on one component (a kit, a pack, the component
    itself) share its units, so that together they never show more of it than there is (the default),
    or each shows what the whole component allows, as if it were listed alone: more sales where stock
    is thin and each listing's buffer already keeps a margin, and two of them may sell the same unit."""
    mapping: str | None = None
    """Mapping file (SKU aliases, per-SKU/tag rules, drops), relative to the config file."""
    schedule: ScheduleConfig = ScheduleConfig()
    order_overlap: Duration = 600.0
    initial_lookback: Duration = 86400.0
    settings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _buffers_in_sources(self) -> ChannelConfig:
        for loc in self.source_buffers:
            if loc not in self.sources:
                raise ValueError(f"source_buffers names {loc!r}, which is not one of this channel's sources")
        return self


class AdaptiveConfig(_Model):
    """The adaptive policy's settings (see omnisync.allocation and omnisync.pace)."""

    risk: float = Field(0.5, gt=0, lt=1)
    """A unit is held back from a channel while the chance that the other channels sold it unseen is
    above this: cost of a lost sale ÷ (cost of a lost sale + cost of an oversell). 0.5 counts both
    alike; 0.25 counts an oversell as three lost sales."""
    max_units: int = Field(10, ge=0)
    """Never hold back more than this many units for one channel and SKU."""
    velocity_windows: list[Duration] = Field(default_factory=lambda: [900.0, 3600.0, 86400.0], min_length=1)
    """Trailing windows a SKU's sales velocity is measured over; the highest rate counts."""
    latency_window: Duration = 3600.0
    """The sales over which a channel's sync latency is measured (the most recent this long)."""

    @field_validator("velocity_windows")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(w <= 0 for w in value):
            raise ValueError("every window must be a positive duration")
        return value


class PolicyConfig(_Model):
    policy: str = "buffered"
    """buffered | split | priority | adaptive, or a policy registered under 'omnisync.policies'."""
    low_stock_threshold: int = Field(5, ge=0)
    adaptive: AdaptiveConfig = AdaptiveConfig()

    @field_validator("policy")
    @classmethod
    def _known(cls, value: str) -> str:
        from omnisync.allocation import available_policies

        known = available_policies()
        if value not in known:
            raise ValueError(f"unknown allocation policy {value!r} (known: {', '.join(known)})")
        return value


class LedgerConfig(_Model):
    url: str = "sqlite:///omnisync.db"


class DaemonConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    token: SecretStr | None = None
    """Bearer token for /status, /metrics and the status page (webhooks and health stay open)."""
    lease_ttl: Duration = 30.0
    worker_id: str | None = None
    expedite_decreases: bool = True
    webhook_base_url: str | None = None
    """Public URL the platforms post webhooks to (Square signs it)."""


class ReplenishmentConfig(_Model):
    """How the reorder list judges demand (:mod:`omnisync.replenishment`), and the supplier terms of a
    SKU whose catalogue row names none."""

    lead_time_days: float = Field(14.0, ge=0)
    moq: int = Field(1, ge=1)
    pack: int = Field(1, ge=1)
    service_level: float = Field(0.95, ge=0.5, lt=1)
    history_days: int = Field(56, ge=1, le=730)
    """Days of sales the velocity is read from (today included)."""
    half_life_days: float = Field(7.0, gt=0)
    review_days: float = Field(7.0, ge=0)
    """Days until the list is looked at again: an order covers them too."""


ALERT_CONDITIONS = (
    "channel_failing",
    "channel_behind",
    "drift",
    "oversold",
    "quarantined",
    "reorder_point",
    "out_of_stock",
)
"""What :mod:`omnisync.alerts` watches (README "Alerts" says what each means)."""

AlertCondition = Literal[
    "channel_failing", "channel_behind", "drift", "oversold", "quarantined", "reorder_point", "out_of_stock"
]


class NotifierEntry(_Model):
    """A notifier as the config names it; its own keys are validated by its type's model
    (:mod:`omnisync.alerts.settings`) with the same file:line: key.path errors."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: Literal["webhook", "slack", "email"]


class AlertsConfig(_Model):
    """Alerts out: what is watched, how long before it is sent, and who is told."""

    every: Duration = Field(60.0, gt=0)
    """How often the conditions are evaluated (the daemon's own job, off the sync path)."""
    failing_for: Duration = 300.0
    behind_for: Duration = 900.0
    drift_for: Duration = 0.0
    oversold_for: Duration = 0.0
    quarantined_for: Duration = 0.0
    reorder_for: Duration = 0.0
    out_of_stock_for: Duration = 0.0
    ignore: list[AlertCondition] = Field(default_factory=list)
    """Conditions not watched."""
    reorder_every: Duration = 300.0
    """How often the reorder list behind ``reorder_point`` is recomputed (its cost grows with the
    catalogue; between two computations the last one stands)."""
    reorder_points: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """SKU -> a fixed reorder point (units available over every location) in place of the one the
    reorder list computes from its sales (``omnisync reorder``)."""
    notifiers: dict[Annotated[str, Field(pattern=NAME)], NotifierEntry] = Field(default_factory=dict)

    def thresholds(self) -> dict[str, float]:
        """Condition -> seconds it must hold before it is sent."""
        return {
            "channel_failing": self.failing_for,
            "channel_behind": self.behind_for,
            "drift": self.drift_for,
            "oversold": self.oversold_for,
            "quarantined": self.quarantined_for,
            "reorder_point": self.reorder_for,
            "out_of_stock": self.out_of_stock_for,
        }

    def watched(self) -> frozenset[str]:
        return frozenset(c for c in ALERT_CONDITIONS if c not in self.ignore)


class LoggingConfig(_Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Config(_Model):
    ledger: LedgerConfig = LedgerConfig()
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    locations: list[LocationConfig] = Field(min_length=1)
    allocation: PolicyConfig = PolicyConfig()
    channels: dict[Annotated[str, Field(pattern=NAME)], ChannelConfig] = Field(default_factory=dict)
    daemon: DaemonConfig = DaemonConfig()
    logging: LoggingConfig = LoggingConfig()
    replenishment: ReplenishmentConfig = ReplenishmentConfig()
    alerts: AlertsConfig | None = None

    def reference_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """(key path, message) of every reference that does not hold: a location code given twice,
        a channel source that is no configured location."""
        problems: list[tuple[tuple[str, ...], str]] = []
        first: dict[str, int] = {}
        for n, loc in enumerate(self.locations):
            if loc.code in first:
                problems.append(
                    (
                        ("locations", str(n), "code"),
                        f"location code {loc.code!r} is already item {first[loc.code]}",
                    )
                )
            first.setdefault(loc.code, n)
        for name, channel in self.channels.items():
            for n, src in enumerate(channel.sources):
                if src not in first:
                    known = ", ".join(first)
                    problems.append(
                        (
                            ("channels", name, "sources", str(n)),
                            f"{src!r} is not a configured location (locations: {known})",
                        )
                    )
        return problems

    def location_kinds(self) -> dict[str, str]:
        return {loc.code: loc.kind for loc in self.locations}

    def kept_location_problems(
        self, kept: Mapping[str, Mapping[str, tuple[str, ...]]]
    ) -> list[tuple[tuple[str, ...], str]]:
        """(key path, message) of every unsound use of a location a channel keeps itself (FBA).

        ``kept``: channel -> location code -> the key path under the channel's ``settings`` naming it
        (``Connector.kept_locations``). A kept location must be a configured location of kind ``fba``,
        kept by one channel only, and never a source of its own channel (that channel's orders from it
        are shipped by the platform, so its merchant-fulfilled offer cannot draw on it); a location of
        kind ``fba`` that no channel keeps is never read, so no channel may draw on it.
        """
        kinds = self.location_kinds()
        problems: list[tuple[tuple[str, ...], str]] = []
        keeper: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, codes in kept.items():
            for code, key in codes.items():
                path = ("channels", name, "settings", *key)
                if code not in kinds:
                    problems.append(
                        (path, f"{code!r} is not a configured location (locations: {', '.join(kinds)})")
                    )
                elif kinds[code] != "fba":
                    problems.append(
                        (
                            path,
                            f"{code!r} is a {kinds[code]} location: a channel keeps only kind fba",
                        )
                    )
                elif code in keeper:
                    problems.append((path, f"{code!r} is kept by channel {keeper[code][0]} already"))
                else:
                    keeper[code] = (name, key)
        for name, channel in self.channels.items():
            for n, src in enumerate(channel.sources):
                path = ("channels", name, "sources", str(n))
                owner = keeper.get(src)
                if owner is not None and owner[0] == name:
                    problems.append(
                        (
                            path,
                            f"{src!r} is this channel's own fba location (settings.{'.'.join(owner[1])}): "
                            "the platform ships the orders it takes from there, so the channel's "
                            "merchant-fulfilled offer cannot draw on it; remove it from sources",
                        )
                    )
                elif owner is None and kinds.get(src) == "fba":
                    problems.append(
                        (
                            path,
                            f"{src!r} is an fba location that no channel reads: name it in its channel's "
                            "settings (Amazon: settings.fba_locations) or remove it from sources",
                        )
                    )
        return problems


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path
    doc: YamlDoc
    offline: bool = False
    """Channels will not be contacted: an unset secret is no error (``status``, ``plan``, ...)."""

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p

    def ledger_url(self) -> str:
        url = self.config.ledger.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.resolve(url[len(prefix) :]))
        return url

    def channel_settings(self, channel: str, settings_model: type[BaseModel]) -> BaseModel:
        """Validate a channel's connector settings, enforcing that secrets come from ``${ENV}``."""
        ch = self.config.channels[channel]
        prefix = ("channels", channel, "settings")
        problems = self._unset(prefix, f"contact channel {channel}")
        problems += [
            self.doc.error(path, msg) for path, msg in secret_problems(self.doc, settings_model, prefix)
        ]
        if problems:
            raise ConfigFileError.many(problems)
        return validate(self.doc, settings_model, ch.settings, prefix)

    def check_kept_locations(self, kept: Mapping[str, Mapping[str, tuple[str, ...]]]) -> None:
        """Raise every problem of :meth:`Config.kept_location_problems`, each naming its file line."""
        problems = [self.doc.error(path, msg) for path, msg in self.config.kept_location_problems(kept)]
        if problems:
            raise ConfigFileError.many(problems)

    def _unset(self, prefix: tuple[str, ...], needed_to: str) -> list[ConfigFileError]:
        """Each ``${VAR}`` under ``prefix`` whose variable is not set (none when ``offline``)."""
        if self.offline:
            return []
        return [
            self.doc.error(path, f"environment variable {var} is not set (needed to {needed_to})")
            for path, var in self.doc.unset_env.items()
            if path[: len(prefix)] == prefix
        ]

    def notifier_settings(self, name: str) -> BaseModel:
        """A notifier's validated settings, its ``${VAR}`` secrets required now (it is about to send)."""
        from omnisync.alerts.settings import notifier_model

        alerts = self.config.alerts
        if alerts is None or name not in alerts.notifiers:
            raise ConfigurationError(f"no notifier {name!r} under alerts.notifiers")
        prefix = ("alerts", "notifiers", name)
        problems = self._unset(prefix, f"send alerts through {name}")
        if problems:
            raise ConfigFileError.many(problems)
        return validate(
            self.doc,
            notifier_model(alerts.notifiers[name].type),
            self.doc.data["alerts"]["notifiers"][name],
            prefix,
        )


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(a) for a in getattr(annotation, "__args__", ()))


def find_config(explicit: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get("OMNISYNC_CONFIG"):
        return Path(env["OMNISYNC_CONFIG"])
    path = Path("omnisync.yaml")
    if not path.exists():
        raise ConfigurationError(
            "no configuration: pass -c FILE, set $OMNISYNC_CONFIG or create ./omnisync.yaml"
        )
    return path


def channel_secret(path: tuple[str, ...]) -> bool:
    """A key path under ``channels.<name>.settings`` or ``alerts.notifiers.<name>``: its secret is
    resolved when the channel or the notifier is contacted."""
    return (len(path) > 3 and path[0] == "channels" and path[2] == "settings") or (
        len(path) > 3 and path[:2] == ("alerts", "notifiers")
    )


def load_config(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, *, offline: bool = False
) -> LoadedConfig:
    """Load and validate the config. A channel's unset ``${VAR}`` fails only when that channel's
    settings are resolved to contact it, and never with ``offline``."""
    file = find_config(path, env)
    doc = load_yaml(file, env, defer=channel_secret)
    if not isinstance(doc.data, dict):
        raise ConfigFileError(str(file), 1, "", "the configuration must be a mapping of keys")
    config = validate(doc, Config)
    problems = [doc.error(path, message) for path, message in config.reference_problems()]
    problems += _ledger_url_problems(doc, config.ledger.url)
    problems += _notifier_problems(doc, config)
    if problems:
        raise ConfigFileError.many(problems)
    return LoadedConfig(config, file.resolve(), doc, offline)


def _notifier_problems(doc: YamlDoc, config: Config) -> list[ConfigFileError]:
    """Each notifier's keys against its type's model, and its secrets written as ``${VAR}``."""
    if config.alerts is None:
        return []
    from omnisync.alerts.settings import notifier_model

    problems: list[ConfigFileError] = []
    for name, entry in config.alerts.notifiers.items():
        prefix = ("alerts", "notifiers", name)
        model = notifier_model(entry.type)
        try:
            validate(doc, model, doc.data["alerts"]["notifiers"][name], prefix)
        except ConfigFileError as exc:
            problems.append(exc)
            continue
        problems += [doc.error(path, message) for path, message in secret_problems(doc, model, prefix)]
    return problems


def secret_problems(
    doc: YamlDoc, model: type[BaseModel], prefix: tuple[str, ...]
) -> list[tuple[tuple[str, ...], str]]:
    """(key path, message) of each secret field of ``model`` written in the file instead of ``${VAR}``."""
    data = doc.data
    for part in prefix:
        data = data.get(part, {}) if isinstance(data, dict) else {}
    return [
        ((*prefix, field_name), "a secret must come from the environment, written as ${VAR}")
        for field_name, info in model.model_fields.items()
        if info.annotation is not None
        and _is_secret(info.annotation)
        and (info.alias or field_name) in data
        and (*prefix, info.alias or field_name) not in doc.from_env
    ]


def _ledger_url_problems(doc: YamlDoc, url: str) -> list[ConfigFileError]:
    """A ledger URL SQLAlchemy cannot use (the dialect and its driver are checked, nothing connects)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from omnisync.ledger.db import normalise_url

    try:
        make_url(normalise_url(url)).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        supported = "sqlite:///FILE or postgresql://USER@HOST/DB"
        return [
            doc.error(("ledger", "url"), f"not a usable ledger URL ({type(exc).__name__}); use {supported}")
        ]
    except ImportError as exc:
        return [doc.error(("ledger", "url"), f"the database driver is not installed: {exc}")]
    return []


__all__ = [
    "ALERT_CONDITIONS",
    "AlertsConfig",
    "AllocationConfig",
    "ChannelConfig",
    "Config",
    "ConfigFileError",
    "DaemonConfig",
    "LoadedConfig",
    "PricingConfig",
    "ScheduleConfig",
    "find_config",
    "load_config",
    "parse_duration",
]
