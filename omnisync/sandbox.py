"""``omnisync init --sandbox``: a deployment wired to the four emulators on loopback.

One table (:data:`CHANNELS`) says, per channel, which connector it uses, its port offset, the
emulator's options and the config entry around the emulator's own settings. ``init --sandbox``
writes the config from it, and ``omnisync emulators`` starts the emulators from the same table at the
ports the config names, so the two always agree. The emulators' credentials are no secrets: the
config holds them as ``${SANDBOX_...:-value}`` defaults, so nothing needs to be set in the
environment, and a real deployment still reads its own from ``${VAR}``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

HOST = "127.0.0.1"
DEFAULT_PORT = 8700
"""The daemon's port; the emulators take the next four."""
CURRENCY = "EUR"
CATALOGUE = "catalogue.csv"
LOCATIONS = (("WH", "Warehouse", "warehouse"), ("STORE1", "Main Street store", "store"))


@dataclass(frozen=True)
class SandboxChannel:
    name: str
    connector: str
    offset: int
    """Port = the daemon's port + offset."""
    sources: tuple[str, ...]
    emulator: Mapping[str, Any] = field(default_factory=dict)
    """Options of the emulator double (the same in ``init --sandbox`` and ``omnisync emulators``)."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Connector settings over the emulator's own."""
    entry: Mapping[str, Any] = field(default_factory=dict)
    """Further keys of the channel's config entry."""


CHANNELS: tuple[SandboxChannel, ...] = (
    SandboxChannel(
        "webstore",
        "shopify",
        1,
        ("WH",),
        {"currency": CURRENCY},
        entry={"allocation": {"buffer_units": 1}},
    ),
    SandboxChannel(
        "amazon",
        "amazon",
        2,
        ("WH",),
        {"currency": CURRENCY, "feed_queue_s": 1.0, "feed_base_s": 1.0, "record_requests": False},
        {"feed_threshold": 20, "feed_poll_interval_s": 1.0},
        {"allocation": {"buffer_units": 1, "buffer_percent": "10"}},
    ),
    SandboxChannel("pos", "square", 3, ("STORE1",), {"currency": CURRENCY}),
    SandboxChannel(
        "instagram",
        "instagram",
        4,
        ("WH",),
        {"currency": CURRENCY, "batch_settle_s": 0.5, "batch_per_item_s": 0.0},
        {"batch_poll_interval_s": 0.5},
        {"allocation": {"buffer_units": 2}},
    ),
)

SAMPLE_CATALOGUE: tuple[tuple[str, str, str, str, str, int, int], ...] = (
    # sku, title, barcode, tags, price, on hand at WH, at STORE1
    ("MUG-RED", "Red mug", "4006381333931", "kitchen|mugs", "12.00", 40, 6),
    ("MUG-BLUE", "Blue mug", "4006381333948", "kitchen|mugs", "12.00", 25, 4),
    ("TEE-BLACK-M", "Black tee, M", "4006381333955", "apparel", "24.90", 18, 3),
    ("TEE-BLACK-L", "Black tee, L", "4006381333962", "apparel", "24.90", 2, 1),
    ("TOTE-NATURAL", "Canvas tote", "4006381333979", "bags|clearance", "9.50", 60, 0),
)


def double_options(ch: SandboxChannel, endpoint: str) -> dict[str, Any]:
    """The emulator double's options for ``ch`` served at ``endpoint``."""
    options: dict[str, Any] = {**ch.emulator, "sources": list(ch.sources)}
    if ch.connector == "amazon":
        options["s3_base"] = endpoint  # the emulator serves the presigned feed storage too
    if ch.connector == "square":  # Square signs its webhooks with the URL they are posted to
        daemon = urlsplit(endpoint).port or DEFAULT_PORT + ch.offset
        options["notification_url"] = f"http://{HOST}:{daemon - ch.offset}/webhooks/{ch.name}"
    return options


def endpoint(port: int) -> str:
    return f"http://{HOST}:{port}"


def secret_fields(connector: str) -> set[str]:
    """The connector's settings that are secrets (``SecretStr``)."""
    from omnisync.config import _is_secret
    from omnisync.sdk.registry import load_connector

    model = load_connector(connector).Settings
    return {n for n, info in model.model_fields.items() if info.annotation and _is_secret(info.annotation)}


def channel_entry(ch: SandboxChannel, settings: Mapping[str, Any], secrets: set[str]) -> dict[str, Any]:
    """The channel's config entry: the emulator's settings with each secret as ``${SANDBOX_..:-value}``."""
    written: dict[str, Any] = {}
    for key, value in {**settings, **ch.settings}.items():
        if key in secrets:
            value = f"${{SANDBOX_{ch.name.upper()}_{key.upper()}:-{value}}}"
        elif isinstance(value, tuple):
            value = list(value)
        written[key] = value
    return {"connector": ch.connector, "sources": list(ch.sources), **ch.entry, "settings": written}


def config_doc(port: int, entries: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "ledger": {"url": "sqlite:///omnisync.db"},
        "currency": CURRENCY,
        "locations": [{"code": c, "name": n, "kind": k} for c, n, k in LOCATIONS],
        "channels": dict(entries),
        "daemon": {"host": HOST, "port": port, "webhook_base_url": endpoint(port)},
        "logging": {"level": "warning"},
    }


HEADER = """\
# Written by `omnisync init --sandbox`: four channels wired to the emulators on loopback.
# Start them with `omnisync emulators -c {config}` (same ports), then validate --connect, import
# catalogue.csv, plan, sync --once, run. The emulators' credentials are no secrets; they are
# written as ${{SANDBOX_..:-value}} so that a real deployment keeps the ${{VAR}} habit.
"""


def config_text(port: int = DEFAULT_PORT, name: str = "omnisync.yaml") -> str:
    """The sandbox config for a daemon on ``port`` and emulators on the next four ports."""
    from omnisync.clock import SystemClock
    from omnisync.testing.doubles import build_double

    entries = {}
    for ch in CHANNELS:
        url = endpoint(port + ch.offset)
        double = build_double(ch.connector, SystemClock(), **double_options(ch, url))
        entries[ch.name] = channel_entry(ch, double.endpoint_settings(url), secret_fields(ch.connector))
    body = yaml.safe_dump(config_doc(port, entries), sort_keys=False)
    return HEADER.format(config=name) + body


def catalogue_rows() -> Iterator[list[str]]:
    yield ["sku", "title", "barcode", "tags", "price", "currency", "active", "stock:WH", "stock:STORE1"]
    for sku, title, barcode, tags, price, wh, store in SAMPLE_CATALOGUE:
        yield [sku, title, barcode, tags, price, CURRENCY, "true", str(wh), str(store)]


def write_sandbox(directory: Path, port: int = DEFAULT_PORT) -> list[Path]:
    """Write the sandbox config and its sample catalogue into ``directory`` (never overwriting)."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    config = directory / "omnisync.yaml"
    if not config.exists():
        config.write_text(config_text(port, str(config)), encoding="utf-8")
        written.append(config)
    catalogue = directory / CATALOGUE
    if not catalogue.exists():
        with catalogue.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(catalogue_rows())
        written.append(catalogue)
    return written


def sandbox_channel(connector: str) -> SandboxChannel | None:
    return next((ch for ch in CHANNELS if ch.connector == connector), None)


def loopback_port(settings: Mapping[str, Any]) -> int | None:
    """The loopback port a channel's settings point at (``endpoint`` or ``base_url``), or None."""
    for key in ("endpoint", "base_url"):
        url = settings.get(key)
        if isinstance(url, str):
            parts = urlsplit(url)
            if parts.hostname in (HOST, "localhost") and parts.port:
                return parts.port
    return None


def catalogue_prices(file: Path) -> list[tuple[str, Decimal]]:
    """(sku, price) of each row of a catalogue CSV: what the emulators list (with no stock yet)."""
    with file.open(newline="", encoding="utf-8") as fh:
        return [
            (r["sku"].strip(), Decimal((r.get("price") or "0").strip() or "0")) for r in csv.DictReader(fh)
        ]
