"""Engine set-up: the config turned into channel rules, the schema migrated and seeded, one
connector per channel, and drop-window timing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx
import structlog

from omnisync.allocation import QuantityRules, get_policy
from omnisync.clock import Clock, SystemClock
from omnisync.config import ChannelConfig, LoadedConfig
from omnisync.drops import next_edge
from omnisync.http import CallStats
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger
from omnisync.mapping import ChannelMapping, MappingFile
from omnisync.pricing import PriceRules
from omnisync.sdk.errors import ConfigurationError, OmnisyncError
from omnisync.sdk.models import Capability
from omnisync.sdk.registry import load_connector
from omnisync.sdk.runtime import instantiate
from omnisync.yamlsource import load_yaml, validate

from .channel import ChannelRuntime
from .intake import ChannelIntake
from .targets import ChannelRules, TargetCalculator

log = structlog.get_logger("omnisync.engine")


def config_provenance(
    origin: str, name: str, config: ChannelConfig
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Where ``origin`` (the config file) sets the channel's quantity and price rules, as explanation
    lines naming the key path (``omnisync.yaml channels.web.allocation: buffer_units=1``); a rule left
    at its default is not named."""
    where = f"{origin} channels.{name}"
    a, p = config.allocation, config.pricing
    quantity = [f"{where}.allocation: {f}={getattr(a, f)}" for f in a.model_fields_set]
    quantity += [f"{where}: source_buffers[{code}]={units}" for code, units in config.source_buffers.items()]
    price = [f"{where}.pricing: {f}={getattr(p, f)}" for f in p.model_fields_set]
    return tuple(sorted(quantity)), tuple(sorted(price))


def channel_rules(
    name: str, config: ChannelConfig, mapping: ChannelMapping, origin: str = ""
) -> ChannelRules:
    """The channel's rules from its config (``origin``: the config file's name, for explanations)."""
    a = config.allocation
    quantity = QuantityRules(
        share=a.share,
        buffer_units=a.buffer_units,
        buffer_percent=a.buffer_percent,
        max_quantity=a.max_quantity,
        out_of_stock_below=a.out_of_stock_below,
        source_buffers=dict(config.source_buffers),
        priority=a.priority,
        preorder_limit=a.preorder_limit,
    )
    p = config.pricing
    price = PriceRules(
        markup_percent=p.markup_percent,
        fixed_add=p.fixed_add,
        currency=p.currency,
        rate=p.rate,
        rounding=p.rounding,
        floor=p.floor,
        ceiling=p.ceiling,
    )
    quantity_from, price_from = config_provenance(origin, name, config) if origin else ((), ())
    return ChannelRules(
        name,
        tuple(config.sources),
        quantity,
        price,
        mapping,
        config.push_prices,
        quantity_from,
        price_from,
        config.share_components,
    )


def load_mapping(loaded: LoadedConfig, name: str, config: ChannelConfig) -> ChannelMapping:
    if not config.mapping:
        return ChannelMapping(name, MappingFile())
    path = loaded.resolve(config.mapping)
    doc = load_yaml(path)
    try:
        return ChannelMapping(name, validate(doc, MappingFile), source=path.name)
    except ValueError as exc:
        raise doc.error((), str(exc)) from None


class EngineSetup:
    """The state every part of the engine reads: config, ledger, clock, channels and their rules."""

    def __init__(
        self,
        loaded: LoadedConfig,
        ledger: Ledger,
        *,
        clock: Clock | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.ledger = ledger
        self.clock = clock or SystemClock()
        self.transports = dict(transports or {})
        self.worker_id = worker_id
        self.winding_down = False
        """Set while the daemon shuts down: order pulls stop between pages (:meth:`winding`)."""
        self.channels: dict[str, ChannelRuntime] = {}
        self.mappings: dict[str, ChannelMapping] = {}
        policy_cfg = self.config.allocation
        options: dict[str, Any] = {}
        if policy_cfg.policy == "priority":
            options = {"threshold": policy_cfg.low_stock_threshold}
        elif policy_cfg.policy == "adaptive":
            options = {"risk": policy_cfg.adaptive.risk, "max_units": policy_cfg.adaptive.max_units}
        self.policy = get_policy(policy_cfg.policy, **options)
        for name, ch in self.config.channels.items():
            if ch.enabled:
                self.mappings[name] = load_mapping(loaded, name, ch)
        self.calculator = TargetCalculator(
            [
                channel_rules(n, self.config.channels[n], m, loaded.path.name)
                for n, m in self.mappings.items()
            ],
            self.policy,
        )
        self._next_drop_edge = self.next_drop_edge()

    # -- drops: the planner turns window edges into pushes ---------------------------------------------
    def next_drop_edge(self) -> datetime | None:
        """The next instant a drop window opens or closes, on any channel (None: no drops)."""
        now = self.clock.now()
        edges = [
            edge
            for mapping in self.mappings.values()
            for rule in mapping.mapping.drops
            if (edge := next_edge(rule.schedule(mapping.channel), now)) is not None
        ]
        return min(edges, default=None)

    def mark_due_drops(self) -> int:
        """At a window edge, mark every drop SKU dirty on every channel. Returns the SKUs marked."""
        edge = self._next_drop_edge
        if edge is None or self.clock.now() < edge:
            return 0
        rules = [rule for mapping in self.mappings.values() for rule in mapping.mapping.drops]
        with self.ledger.read() as conn:
            pids = [p.id for p in self.ledger.products(conn) if any(r.matches(p.sku, p.tags) for r in rules)]
        with self.ledger.tx() as tx:
            tx.mark_products_dirty(pids)
        self._next_drop_edge = self.next_drop_edge()
        log.info("drop.edge", edge=edge.isoformat(), skus=len(pids))
        return len(pids)

    # -- set-up ---------------------------------------------------------------------------------------
    def migrate_and_seed(self) -> None:
        """Schema to head; locations and channels from the config exist in the ledger."""
        upgrade(self.ledger.engine)
        with self.ledger.tx() as tx:
            for loc in self.config.locations:
                tx.ensure_location(loc.code, loc.name, loc.kind)
            for name in self.mappings:
                tx.ensure_channel(name, self.config.channels[name].connector)

    async def start(self, *, prepare: bool = True) -> None:
        self.migrate_and_seed()
        built = {}
        for name in self.mappings:
            ch = self.config.channels[name]
            cls = load_connector(ch.connector)
            if self.calculator.channels[name].preorders and Capability.PREORDER not in cls.capabilities:
                raise ConfigurationError(
                    f"channel {name}: preorder_limit is set, but the {ch.connector} connector gives the "
                    "platform no preorder signal"
                )
            built[name] = (cls, self.loaded.channel_settings(name, cls.Settings))
        self.loaded.check_kept_locations({n: cls.kept_locations(st) for n, (cls, st) in built.items()})
        for name, (cls, settings) in built.items():
            ch = self.config.channels[name]
            stats = CallStats()
            connector = instantiate(
                cls,
                settings,
                channel=name,
                clock=self.clock,
                transport=self.transports.get(name),
                locations=self.config.location_kinds(),
                stats=stats,
            )
            with self.ledger.read() as conn:
                channel_id = self.ledger.channel_id(conn, name)
            mapping = self.mappings[name]
            intake = ChannelIntake(
                name,
                channel_id,
                tuple(ch.sources),
                mapping.master_sku,
                cls.decrements,
                connector.external_locations(),
            )
            rt = ChannelRuntime(
                name, ch, connector, self.calculator.channels[name], channel_id, stats, intake
            )
            self.channels[name] = rt
        if prepare:
            # side by side: a channel whose host takes no connection never delays the others' checks
            errors = await asyncio.gather(*(self._prepare(rt) for rt in self.channels.values()))
            for name, error in zip(self.channels, errors, strict=True):
                self._record_setup(name, error)
        self.ensure_listings()

    async def _prepare(self, rt: ChannelRuntime) -> str | None:
        """The connector's start-up check; the error text when it failed (the channel is then failing)."""
        try:
            await rt.connector.prepare()
            if rt.connector.notification_queue() is not None:  # Amazon's SQS: destination, subscriptions
                for line in await rt.connector.subscribe_notifications():
                    log.info("channel.notifications", channel=rt.name, detail=line)
        except OmnisyncError as exc:
            rt.health.failed(exc, self.clock.now())
            log.error("channel.prepare_failed", channel=rt.name, error=str(exc))
            return str(exc)
        return None

    def ensure_listings(self) -> None:
        """Every product listed on every channel, in set-based statements per channel; every catalogue
        product given its listing content state on every channel."""
        with self.ledger.read() as conn:
            catalogue = self.ledger.catalogue_ids(conn)
        with self.ledger.tx() as tx:
            for name, rt in self.channels.items():
                tx.ensure_listings(rt.channel_id, self.mappings[name].mapping.sku_aliases)
                tx.ensure_listing_content(rt.channel_id, catalogue)

    def _record_setup(self, channel: str, error: str | None) -> None:
        """A channel's setup (its connector's ``prepare``) as a run, so ``status`` and the page show a
        failed one (a Square location that does not exist, credentials refused) until it succeeds."""
        now = self.clock.now()
        with self.ledger.tx() as tx:
            run_id = tx.start_run(channel, "setup", now, self.worker_id)
            tx.finish_run(
                run_id,
                {
                    "finished_at": now,
                    "ok": error is None,
                    "orders_imported": 0,
                    "lines_quarantined": 0,
                    "items_planned": 0,
                    "items_pushed": 0,
                    "accepted": 0,
                    "rejected": 0,
                    "retried": 0,
                    "drift": 0,
                    "api_calls": 0,
                    "throttled": 0,
                    "error": error,
                },
            )

    @contextlib.contextmanager
    def winding(self) -> Iterator[None]:
        """While inside, order pulls stop after the page in hand (a shutdown's runs finish soon)."""
        self.winding_down = True
        try:
            yield
        finally:
            self.winding_down = False

    async def aclose(self) -> None:
        for rt in self.channels.values():
            await rt.connector.aclose()
