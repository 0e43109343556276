"""The base class every connector derives from.

A connector is declared, not configured by convention::

    class MyConnector(Connector[MySettings]):   # self.settings is a MySettings
        name = "mychannel"
        capabilities = frozenset({Capability.PUSH_INVENTORY, Capability.PULL_ORDERS})
        Settings = MySettings            # a ConnectorSettings subclass; credentials as SecretStr
        limits = Limits(push_inventory=OperationLimits(max_batch=100, rate=5, burst=5))

        @classmethod
        def http_options(cls, settings): return HttpOptions(base_url=..., headers=...)

        async def push_inventory(self, updates): ...

It receives a ready ``httpx.AsyncClient`` (rate budget, retries, redacted logging) built by
:func:`omnisync.http.build_client` from ``http_options``, and its validated settings. Tag each
request with its operation (``extensions=op(Operation.PUSH_INVENTORY)``) so the right budget applies.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic

import httpx
from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

from .errors import UnsupportedOperation
from .listings import CataloguePage, ListingContent, ListingRef, ListingResult, ListingRules
from .models import (
    Capability,
    ChannelListing,
    Decrements,
    InventoryRef,
    InventoryUpdate,
    ItemResult,
    Limits,
    LocationStock,
    NotificationQueue,
    Operation,
    OrderCursor,
    OrderPage,
    PriceUpdate,
    WebhookEvent,
)

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from omnisync.clock import Clock
    from omnisync.http.budget import RateBudgets
    from omnisync.http.stats import CallStats


class ConnectorSettings(BaseModel):
    """Base of every connector's settings. Unknown keys are an error; secrets are ``SecretStr``."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class HttpOptions:
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    """Sent with every request. Values of secret headers are also listed in ``secrets``."""
    secrets: Sequence[str] = ()
    """Strings that must never reach a log line or an error message."""
    timeout: float = 30.0
    max_attempts: int = 5
    """Attempts per call for retryable answers (5xx, 429, timeouts, classified throttles)."""


@dataclass(frozen=True)
class RetryAdvice:
    """A connector's reading of an answer that the HTTP status alone does not reveal."""

    throttled: bool
    delay: float | None = None
    """Seconds to wait before the next attempt, if the channel said so."""


@dataclass
class ConnectorContext:
    channel: str
    clock: Clock
    log: FilteringBoundLogger
    budgets: RateBudgets
    stats: CallStats
    locations: Mapping[str, str] = field(default_factory=dict)
    """Ledger location code -> location kind ('warehouse' or 'store'), for connectors that route."""


def check_operation(name: Operation | str) -> Operation | str:
    """The operation a name stands for: a standard :class:`Operation` where the name is one (a string
    from YAML is accepted), else the name itself, which the connector must list in ``operations``.

    A near miss of a standard name (``"push_inventry"``) is an error here, not a default budget later.
    """
    if isinstance(name, Operation):
        return name
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"operation must be a non-empty string, not {name!r}")
    try:
        return Operation(name)
    except ValueError:
        pass
    close = difflib.get_close_matches(name, [o.value for o in Operation], n=1, cutoff=0.8)
    if close:
        raise ValueError(f"unknown operation {name!r} (did you mean {close[0]!r}?)")
    return name


def op(operation: Operation | str, *, deferrable: bool = False) -> dict[str, Any]:
    """Request extensions naming the operation, so the transport applies that operation's budget.

    ``operation`` is an :class:`Operation` or a name the connector declares in ``operations``; a
    request tagged with an undeclared name fails (see :func:`check_operation`).

    ``deferrable``: the call gives way to the operation's other calls while they wait for its budget
    (a status poll, which only confirms, before a push, which carries a change).
    """
    name = str(check_operation(operation))
    if deferrable:
        return {"omnisync.operation": name, "omnisync.deferrable": True}
    return {"omnisync.operation": name}


SettingsT = TypeVar("SettingsT", bound=ConnectorSettings, default=ConnectorSettings, covariant=True)


class Connector(Generic[SettingsT]):
    """Base of every connector; parametrise it with the settings class (``Connector[MySettings]``)
    so ``self.settings`` is typed, and set ``Settings`` to the same class for validation."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    Settings: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    limits: ClassVar[Limits] = Limits()
    """Per-operation limits; see :class:`OperationLimits` for the units of ``rate``, ``burst``,
    ``in_flight`` and ``max_batch``."""
    operations: ClassVar[frozenset[str]] = frozenset()
    """Names of the connector's own rate-budgeted calls beyond the standard :class:`Operation` ones
    (a token endpoint, a platform's per-endpoint usage plans). Checked when the class is defined."""
    decrements: ClassVar[Decrements] = Decrements.NEVER
    """When the platform lowers its own quantity for its orders: ``on_order`` (Shopify, Amazon, Meta
    take units as an order is placed), ``on_fulfilment`` (Square counts drop when a sale completes,
    and rise with a restocked return), or ``never``. The engine then moves its record of the
    channel's quantity in the same transaction as the imported order, instead of pushing the
    channel's own sale back to it. Leave ``never`` when unsure: the safe side is a redundant push,
    never a channel showing too much."""

    listing_rules: ClassVar[ListingRules | None] = None
    """What the channel refuses in a listing (MANAGE_LISTINGS connectors), checked before any call."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Checks the class declaration where the connector is loaded: ``decrements`` may be written
        as a plain string (``"on_order"``) but must name one of :class:`Decrements`; ``operations``
        must not repeat or near-miss a standard :class:`Operation`."""
        super().__init_subclass__(**kwargs)
        try:
            cls.decrements = Decrements(cls.decrements)
        except ValueError:
            allowed = ", ".join(d.value for d in Decrements)
            raise TypeError(
                f"{cls.__qualname__}.decrements is {cls.decrements!r}; it must be one of: {allowed}"
            ) from None
        for name in cls.__dict__.get("operations", ()):
            if isinstance(check_operation(name), Operation):
                raise TypeError(f"{cls.__qualname__}.operations: {name!r} is a standard Operation already")

    @classmethod
    def known_operations(cls) -> frozenset[str]:
        """Every operation name a request of this connector may carry."""
        return frozenset(o.value for o in Operation) | cls.operations

    def __init__(self, settings: SettingsT, client: httpx.AsyncClient, context: ConnectorContext) -> None:
        self.settings: SettingsT = settings
        self.client = client
        self.context = context

    # -- HTTP wiring ---------------------------------------------------------------------------
    @classmethod
    def http_options(cls, settings: Any) -> HttpOptions:
        raise NotImplementedError(f"{cls.__name__} must define http_options()")

    @classmethod
    def transport(cls, settings: Any) -> httpx.AsyncBaseTransport | None:
        """A transport of the connector's own (an in-process emulator); None means the network."""
        return None

    @classmethod
    def classify(cls, response: httpx.Response) -> RetryAdvice | None:
        """Override to recognise throttling signalled inside a 200 (GraphQL) or special bodies."""
        return None

    # -- lifecycle -------------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Start-up checks (credentials, configured locations exist). Raise ConfigurationError."""

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- operations --------------------------------------------------------------------------------
    async def push_inventory(self, updates: Sequence[InventoryUpdate]) -> list[ItemResult]:
        raise UnsupportedOperation(f"{self.name} cannot push inventory", channel=self.context.channel)

    async def push_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        raise UnsupportedOperation(f"{self.name} cannot push prices", channel=self.context.channel)

    async def pull_orders(self, cursor: OrderCursor) -> OrderPage:
        raise UnsupportedOperation(f"{self.name} cannot pull orders", channel=self.context.channel)

    async def read_inventory(self, refs: Sequence[InventoryRef]) -> dict[str, int | None]:
        """Live quantities keyed by master SKU (None where the channel has no such item)."""
        raise UnsupportedOperation(f"{self.name} cannot read inventory", channel=self.context.channel)

    async def read_listings(self, channel_skus: Sequence[str]) -> list[ChannelListing]:
        """The channel's ids for these SKUs. SKUs the channel lacks are simply absent."""
        raise UnsupportedOperation(f"{self.name} cannot read listings", channel=self.context.channel)

    async def read_catalogue(self, cursor: str | None) -> CataloguePage:
        """A page of every product the channel lists (``cursor`` None: the first page), with content,
        options, images and variants (barcodes included)."""
        raise UnsupportedOperation(f"{self.name} cannot read its catalogue", channel=self.context.channel)

    async def upsert_listings(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        """Create or update each listing (its variants, images, content; published as ``publish``
        says); one result per listing, carrying the channel's ids on acceptance."""
        raise UnsupportedOperation(f"{self.name} cannot manage listings", channel=self.context.channel)

    async def unpublish_listings(self, listings: Sequence[ListingRef]) -> list[ListingResult]:
        """Hide each listing from buyers without deleting it; one result per listing."""
        raise UnsupportedOperation(f"{self.name} cannot manage listings", channel=self.context.channel)

    async def read_listing_issues(self, listings: Sequence[ListingRef]) -> dict[str, tuple[str, ...]]:
        """What the channel says now about each listing (``Capability.READ_LISTING_ISSUES``): its
        issues by listing key, empty when it has none; a listing it could not read is left out."""
        raise UnsupportedOperation(f"{self.name} cannot read listing issues", channel=self.context.channel)

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, url: str | None = None
    ) -> list[WebhookEvent]:
        """Verify the signature (raise WebhookVerificationError) and normalise the events."""
        raise UnsupportedOperation(f"{self.name} accepts no webhooks", channel=self.context.channel)

    async def read_orders(self, external_ids: Sequence[str]) -> OrderPage:
        """These orders alone (a notification named them), as a page with no next token; orders the
        channel cannot read go to ``failed``. The default says the channel cannot: the engine then
        leaves them to the next pull."""
        raise UnsupportedOperation(f"{self.name} cannot read single orders", channel=self.context.channel)

    def external_locations(self) -> frozenset[str]:
        """Ledger location codes whose stock the channel keeps itself (``Capability.EXTERNAL_STOCK``):
        its orders shipped from them reserve there and do not move its own listing quantity."""
        return frozenset()

    async def read_location_stock(self, *, full: bool = True) -> list[LocationStock]:
        """Counts in :meth:`external_locations`: every SKU (``full``), or those changed since the last
        read (a platform that reports changes only)."""
        raise UnsupportedOperation(f"{self.name} keeps no stock of its own", channel=self.context.channel)

    # -- notifications delivered through a queue ---------------------------------------------------
    def notification_queue(self) -> NotificationQueue | None:
        """The queue the platform delivers this channel's notifications to (None: no queue)."""
        return None

    async def subscribe_notifications(self) -> list[str]:
        """Make sure the platform sends its notifications to :meth:`notification_queue`, idempotently
        (what exists is read first and kept). Returns one line per thing in place, for
        ``validate --connect``."""
        return []

    def parse_notification(self, body: str) -> list[WebhookEvent]:
        """The events of one queued message (raise ProtocolError when it cannot be parsed: it goes to
        the dead-letter path)."""
        raise UnsupportedOperation(f"{self.name} takes no queued notifications", channel=self.context.channel)

    def supports(self, capability: Capability) -> bool:
        if capability is Capability.VERIFIED_PUSH and Capability.COMPARE_AND_SET in self.capabilities:
            return True  # an accepted compare-and-set held ``previous`` by definition
        return capability in self.capabilities
