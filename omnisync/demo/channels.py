"""The demo's channels: one emulator double per built-in connector on a loopback socket, and the
config entry, mapping and secrets that reach it."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from omnisync.clock import SystemClock
from omnisync.testing.doubles import build_double
from omnisync.testing.harness import EmulatorDouble, SeedItem

HOST = "127.0.0.1"
CURRENCY = "EUR"


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.set_inheritable(True)
    return sock


@dataclass
class DemoChannel:
    """One channel of the demo: its emulator double on loopback and what the config says about it."""

    name: str
    connector: str
    double: EmulatorDouble
    sock: socket.socket
    config: dict[str, Any]
    """The channel's entry in omnisync.yaml (settings with ``${VAR}`` for secrets)."""
    secrets: dict[str, str]
    """Environment variable -> demo value."""
    mapping: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    """Relative share of the simulated shoppers."""
    walk_in: bool = False
    placed: list[str] = field(default_factory=list)
    sold_out: int = 0
    """Shoppers who found the SKU sold out and left."""
    refused: int = 0
    drift_reconciled: int = 0
    """SKUs the demo found drifted after a wave (the daemon believed them in sync) and reconciled."""

    @property
    def emulator(self) -> Any:
        return self.double.emulator

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def seed(self, sku: str, quantity: int, price: Decimal) -> None:
        self.double.seed([SeedItem(sku, quantity, price)])

    def quantity(self, sku: str) -> int | None:
        return self.double.channel_quantity(sku)

    def buy(self, sku: str, quantity: int) -> str:
        return self.double.place_order(sku, quantity)

    def webhook(self, order_id: str) -> tuple[dict[str, str], bytes] | None:
        """The signed webhook a shopper's order sends to the daemon (None: the channel sends none)."""
        hook = self.double.webhook(order_id)
        return None if hook is None else (hook[0], hook[1])


def schedule(pull: str, push: str, **extra: Any) -> dict[str, Any]:
    # A reconcile reads every listing live (Amazon: one getListingsItem a SKU at 5 a second, then an
    # order pull on getOrders' budget): every 5 minutes, not back to back with itself.
    return {"pull_every": pull, "push_every": push, "reconcile_every": "300s", **extra}


# -- the channels: one emulator double per built-in connector (omnisync.emulators) ------------------
def double_on_loopback(
    connector: str, sock: socket.socket | None = None, **options: Any
) -> tuple[EmulatorDouble, socket.socket, dict[str, Any]]:
    """The connector's emulator double on the system clock, its loopback socket and the settings that
    reach it there. Loaded late, so that an unfinished connector costs only its own channel."""
    double = build_double(connector, SystemClock(), **options)
    sock = sock or free_socket()
    return double, sock, double.endpoint_settings(f"http://{HOST}:{sock.getsockname()[1]}")


def shopify_channel(daemon_url: str, plan: str = "standard") -> DemoChannel:
    double, sock, settings = double_on_loopback("shopify", sources=["WH"], currency=CURRENCY, plan=plan)
    emu = double.emulator
    settings["access_token"] = "${DEMO_SHOPIFY_TOKEN}"
    settings["webhook_secret"] = "${DEMO_SHOPIFY_WEBHOOK_SECRET}"
    return DemoChannel(
        name="shopify",
        connector="shopify",
        double=double,
        sock=sock,
        config={
            "connector": "shopify",
            "sources": ["WH", "STORE"],
            "source_buffers": {"STORE": 2},
            "allocation": {"buffer_units": 1},
            "mapping": "mappings/shopify.yaml",
            "schedule": schedule("5s", "5s", reconcile_cron="0 3 * * *"),
            "order_overlap": "30s",
            "settings": settings,
        },
        secrets={"DEMO_SHOPIFY_TOKEN": emu.access_token, "DEMO_SHOPIFY_WEBHOOK_SECRET": emu.webhook_secret},
        mapping={"price": {"markup_percent": "5"}},
        weight=3.0,
    )


def amazon_channel(daemon_url: str) -> DemoChannel:
    sock = free_socket()  # the emulator serves the presigned storage too
    s3_base = f"http://{HOST}:{sock.getsockname()[1]}"
    double, sock, settings = double_on_loopback(
        "amazon",
        sock,
        currency=CURRENCY,
        s3_base=s3_base,
        feed_queue_s=1.0,
        feed_base_s=1.0,
        record_requests=False,
    )
    emu = double.emulator
    settings["marketplace_ids"] = list(settings["marketplace_ids"])
    settings["client_secret"] = "${DEMO_AMAZON_CLIENT_SECRET}"
    settings["refresh_token"] = "${DEMO_AMAZON_REFRESH_TOKEN}"
    settings["feed_threshold"] = 20  # bulk (the first push) as a feed; patches after
    settings["feed_poll_interval_s"] = 1.0
    return DemoChannel(
        name="amazon",
        connector="amazon",
        double=double,
        sock=sock,
        config={
            "connector": "amazon",
            "sources": ["WH"],
            "allocation": {"buffer_units": 1, "buffer_percent": "10"},
            "mapping": "mappings/amazon.yaml",
            "schedule": schedule("10s", "5s"),
            "order_overlap": "30s",
            "settings": settings,
        },
        secrets={
            "DEMO_AMAZON_CLIENT_SECRET": emu.client_secret,
            "DEMO_AMAZON_REFRESH_TOKEN": emu.refresh_token,
        },
        mapping={"price": {"markup_percent": "12"}},
        weight=0.6,
    )


def with_notifications(channel: DemoChannel, queue: Any) -> None:
    """Amazon's notifications through a real SQS (``omnisync.testing.sqs.LocalQueue``, moto's server on
    loopback): the emulator publishes into the queue, the connector subscribes to it and the daemon
    consumes it."""
    from omnisync.testing.sqs import SECRET_KEY

    channel.emulator.attach_queue(queue.arn, queue.sink())
    secret = "DEMO_AWS_SECRET_ACCESS_KEY"
    channel.config["settings"]["notifications"] = queue.settings(aws_secret_access_key="${" + secret + "}")
    channel.secrets[secret] = SECRET_KEY


def square_channel(daemon_url: str) -> DemoChannel:
    double, sock, settings = double_on_loopback(
        "square", sources=["STORE"], currency=CURRENCY, notification_url=f"{daemon_url}/webhooks/pos"
    )
    emu = double.emulator
    settings["access_token"] = "${DEMO_SQUARE_TOKEN}"
    settings["webhook_signature_key"] = "${DEMO_SQUARE_SIGNATURE_KEY}"
    return DemoChannel(
        name="pos",
        connector="square",
        double=double,
        sock=sock,
        config={
            "connector": "square",
            "sources": ["STORE"],
            "schedule": schedule("5s", "5s"),
            "order_overlap": "30s",
            "settings": settings,
        },
        secrets={"DEMO_SQUARE_TOKEN": emu.access_token, "DEMO_SQUARE_SIGNATURE_KEY": emu.signature_key},
        weight=2.0,
        walk_in=True,
    )


def instagram_channel(daemon_url: str) -> DemoChannel:
    double, sock, settings = double_on_loopback(
        "instagram", currency=CURRENCY, page_size=25, batch_settle_s=0.5, batch_per_item_s=0.0
    )
    emu = double.emulator
    settings["access_token"] = "${DEMO_INSTAGRAM_TOKEN}"
    settings["batch_poll_interval_s"] = 0.5
    return DemoChannel(
        name="instagram",
        connector="instagram",
        double=double,
        sock=sock,
        config={
            "connector": "instagram",
            "sources": ["WH"],
            "allocation": {"buffer_units": 2},
            "schedule": schedule("5s", "5s"),
            "order_overlap": "30s",
            "settings": settings,
        },
        secrets={"DEMO_INSTAGRAM_TOKEN": emu.access_token},
        weight=1.5,
    )


FACTORIES: dict[str, Callable[[str], DemoChannel]] = {
    "shopify": shopify_channel,
    "amazon": amazon_channel,
    "square": square_channel,
    "instagram": instagram_channel,
}
