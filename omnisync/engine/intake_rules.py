"""Intake's rules, pure: from a page of orders and what the ledger holds for them to the changes.

Each order line carries cumulative numbers (quantity, fulfilled, cancelled, restocked). The ledger
stores what it has applied so far per line and applies only the difference, as compensating
entries: the reservation set to the open units, a sale movement for newly fulfilled units, a return
movement for newly restocked units, each keyed so a redelivery journals nothing twice. A re-delivered
unchanged order is skipped by its digest; a changed one applies exactly its change. A line whose SKU
is unknown is quarantined, never dropped. An order that breaks a rule fails alone, with nothing of it
in the changes.

New lines are routed against the page's stock with a running tally, so two orders of a page route as
if imported one after the other. Every rule here is written once; :mod:`omnisync.engine.intake`
reads the view, calls :func:`decide` and applies the result in one ledger call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from omnisync.audit import channel_actor
from omnisync.kits import component_lines, kit_stock
from omnisync.ledger.intake_rows import (
    IntakeChanges,
    IntakeView,
    LineValues,
    StoredLine,
    StoredOrder,
    StoredVersion,
)
from omnisync.ledger.stock import order_movement_key
from omnisync.returns import DAMAGED, INSPECT
from omnisync.sdk.models import Decrements, Order, OrderLine, OrderStatus

from . import listing_state


@dataclass(frozen=True)
class ChannelIntake:
    """What intake needs to know about the channel the orders came from."""

    name: str
    channel_id: int
    sources: tuple[str, ...]
    """Location codes the channel sells from, in routing priority."""
    resolve_sku: Callable[[str], str | None]
    """Channel SKU -> master SKU (mapping aliases), None when unknown."""
    decrements: Decrements = Decrements.NEVER
    """When the platform lowers its own quantity (``Connector.decrements``)."""
    external: frozenset[str] = frozenset()
    """Locations the channel ships from itself (``Connector.external_locations``): an order from one
    leaves the channel's own listing quantity alone."""


@dataclass
class Decision:
    """What :func:`decide` made of a page."""

    changes: IntakeChanges
    orders: list[Order] = field(default_factory=list)
    """The orders the changes apply (new or changed)."""
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(external id, why) of orders that break a rule: none of their changes are in ``changes``."""
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    """(external id, channel SKU) of lines quarantined."""
    decreased: set[str] = field(default_factory=set)
    """Master SKUs whose available stock goes down."""
    knock_on: set[str] = field(default_factory=set)
    """Those of them that are a kit's components: the kits and components the channel lists beside
    them move, which its own count of what it sold does not say."""


def order_digest(order: Order) -> str:
    """SHA-256 of the order's status, locations and lines (sorted by line id) as canonical JSON: a
    re-delivery with the same digest changes nothing and is skipped."""
    return hashlib.sha256(_digest_text(order).encode()).hexdigest()


def _digest_body(order: Order) -> str:
    """The canonical JSON text, by the definition: ``json.dumps(..., sort_keys=True)``."""
    body = {
        "status": order.status.value,
        "location": order.location,
        "return_location": order.return_location,
        "lines": [
            [ln.line_id, ln.channel_sku, ln.quantity, ln.fulfilled, ln.cancelled, ln.restocked, *_tail(ln)]
            for ln in sorted(order.lines, key=lambda x: x.line_id)
        ],
    }
    return json.dumps(body, sort_keys=True)


def _tail(line: OrderLine) -> list[int]:
    """A line's numbers after ``restocked`` in its digest, only when not zero, so that the digests of
    orders without refunds (or without returns into a bucket) stay what they were."""
    if line.damaged or line.to_inspect:
        return [line.refunded, line.damaged, line.to_inspect]
    return [line.refunded] if line.refunded else []


_line_id = attrgetter("line_id")
_json_str = json.encoder.encode_basestring_ascii  # what json.dumps writes for a str (ensure_ascii)


def _json_opt(value: str | None) -> str:
    return "null" if value is None else _json_str(value)


def _digest_text(order: Order) -> str:
    """:func:`_digest_body`'s text written directly (the same bytes, at a third of the cost) for the
    types orders carry: strings and plain ints; anything else goes the definition's way."""
    lines = sorted(order.lines, key=_line_id) if len(order.lines) > 1 else order.lines
    parts = []
    for ln in lines:
        q, f, c, r, refunded = ln.quantity, ln.fulfilled, ln.cancelled, ln.restocked, ln.refunded
        if (
            type(ln.line_id) is not str
            or type(ln.channel_sku) is not str
            or type(q) is not int
            or type(f) is not int
            or type(c) is not int
            or type(r) is not int
            or type(refunded) is not int
            or ln.damaged
            or ln.to_inspect
        ):
            return _digest_body(order)  # returns into a bucket are rare: the definition's way
        tail = f", {refunded}]" if refunded else "]"
        parts.append(f"[{_json_str(ln.line_id)}, {_json_str(ln.channel_sku)}, {q}, {f}, {c}, {r}{tail}")
    return (
        f'{{"lines": [{", ".join(parts)}], "location": {_json_opt(order.location)}, '
        f'"return_location": {_json_opt(order.return_location)}, "status": {_json_str(order.status)}}}'
    )  # a StrEnum member is its value's text


def open_units(order: Order, line: OrderLine) -> int:
    """Units the line still holds: ordered, not fulfilled, not cancelled (0 once the order is cancelled)."""
    if order.status is OrderStatus.CANCELLED:
        return 0
    return max(0, line.quantity - line.fulfilled - line.cancelled)


def check_order(order: Order) -> None:
    """Raise ValueError naming what is wrong with an order no ledger state can make right."""
    seen: set[str] = set()
    for line in order.lines:
        numbers = (line.quantity, line.fulfilled, line.cancelled, line.restocked)
        if min(numbers) < 0:
            raise ValueError(f"line {line.line_id}: negative quantities {numbers}")
        if min(line.damaged, line.to_inspect) < 0:
            raise ValueError(f"line {line.line_id}: negative returned units (damaged, to inspect)")
        if line.fulfilled + line.cancelled > line.quantity:
            raise ValueError(f"line {line.line_id}: fulfilled + cancelled exceed the ordered quantity")
        if line.line_id in seen:
            raise ValueError(f"line {line.line_id}: the order holds this line id twice")
        seen.add(line.line_id)


def choose_location(
    stock: Mapping[int, tuple[int, int]],
    sources: Sequence[int],
    quantity: int,
    incoming: Mapping[int, int] | None = None,
) -> int:
    """Routing over one SKU's (on_hand, reserved) per location id: the first source with enough
    available units, else the first with enough counting its stock on order (``incoming``: a sale
    ahead of stock waits where the stock comes in), else the one with the most available."""
    best, most, ahead = sources[0], None, None
    on_order = incoming or {}
    for lid in sources:
        on_hand, reserved = stock.get(lid, _NONE)
        available = on_hand - reserved
        if available >= quantity:
            return lid
        if ahead is None and available + on_order.get(lid, 0) >= quantity:
            ahead = lid
        if most is None or available > most:  # the first of equals, as max() picks
            best, most = lid, available
    return best if ahead is None else ahead


_NONE = (0, 0)
_NO_STOCK: Mapping[int, tuple[int, int]] = {}


def taken_units(line: OrderLine, held: int) -> int:
    """Units a line takes from stock when it arrives: those it holds open (``held``, its
    :func:`open_units`) and those already handed over (a POS sale, an order fulfilled before it was
    imported)."""
    return held + line.fulfilled


def oversold_units(
    stock: Mapping[int, tuple[int, int]], location_id: int, taken: int, incoming: int = 0
) -> int:
    """Units of a line the ledger did not have available (on hand less reserved, plus the stock on
    order there: a sale ahead of it is a preorder) at the location it was routed to, when it arrived:
    the sales report's oversold units."""
    on_hand, reserved = stock.get(location_id, (0, 0))
    return max(0, taken - max(0, on_hand - reserved + incoming))


def refunded_units(line: OrderLine) -> int:
    """Units refunded: as the channel reports them, and never fewer than those restocked."""
    return max(line.refunded, line.restocked)


def decreases(reserved_delta: int, sold: int) -> bool:
    """Whether a line's change lowers available stock: more reserved, or sold units not covered by a
    reservation they release."""
    return reserved_delta > 0 or (sold > 0 and reserved_delta > -sold)


def page_codes(channel: ChannelIntake, orders: Iterable[Order]) -> set[str]:
    """The location codes deciding a page needs resolved."""
    codes = set(channel.sources)
    for order in orders:
        codes.update(code for code in (order.location, order.return_location) if code)
    return codes


def page_skus(channel: ChannelIntake, orders: Iterable[Order]) -> set[str]:
    """The master SKUs a page names (unknown channel SKUs left out)."""
    masters = {channel.resolve_sku(line.channel_sku) for order in orders for line in order.lines}
    return {m for m in masters if m}


def triage(
    orders: Sequence[Order], digests: Mapping[str, str], stored: Mapping[str, StoredVersion]
) -> tuple[list[Order], int, list[Order]]:
    """The orders to decide on, how many are unchanged re-deliveries (same digest as applied), and the
    stale ones: a version the channel updated before the one applied (a webhook delivered after a
    later pull). Applying a stale version would take back what the newer one did, and the newer one,
    delivered again, would find its movements' keys used already: the ledger would keep the take-back.
    A version of the same update time is applied (the channel's clock may not tell two apart)."""
    work: list[Order] = []
    unchanged = 0
    stale: list[Order] = []
    for order in orders:
        found = stored.get(order.external_id)
        if found is None:
            work.append(order)
        elif found.digest == digests[order.external_id]:
            unchanged += 1
        elif order.updated_at < found.updated_at:
            stale.append(order)
        else:
            work.append(order)
    return work, unchanged, stale


def decide(
    channel: ChannelIntake,
    orders: Sequence[Order],
    view: IntakeView,
    *,
    at: datetime,
    digests: Mapping[str, str] | None = None,
) -> Decision:
    """The changes a page of orders makes to the ledger (each order once: see :func:`rounds`).

    ``view`` holds the page's orders the ledger has in another version; an order it does not hold
    is new unless its digest is known (the caller leaves out orders whose digest is unchanged and
    counts them)."""
    page = _Page(channel, view, at)
    decision = page.decision
    for order in orders:
        try:
            check_order(order)
            page.sources()
        except ValueError as exc:
            decision.failed.append((order.external_id, str(exc)))
            continue
        stored = view.orders.get(order.external_id)
        digest = digests[order.external_id] if digests is not None else order_digest(order)
        page.order(order, digest, stored)
        decision.orders.append(order)
    decision.changes.shifted = listing_state.Shifted(page.taken) if page.taken else None
    return decision


def retry(
    channels: Mapping[str, ChannelIntake],
    lines: Sequence[QuarantinedLine],
    view: IntakeView,
    *,
    at: datetime,
) -> tuple[IntakeChanges, int]:
    """Quarantined lines whose SKU is now known, applied as if they had just arrived. Returns the
    changes and how many lines they release (the others stay quarantined)."""
    changes = IntakeChanges(channel_id=0)
    done = 0
    pages: dict[str, _Page] = {}
    for row in lines:
        channel = channels.get(row.channel)
        master = channel.resolve_sku(row.channel_sku) if channel else None
        product_id = view.products.get(master) if master else None
        if channel is None or product_id is None or master is None or product_id in view.kits:
            continue  # a kit's line stays quarantined: it is kept per component from the start
        page = pages.setdefault(row.channel, _Page(channel, view, at, changes))
        order = Order(external_id=row.external_id, status=OrderStatus(row.status), updated_at=at, lines=())
        line = OrderLine(
            row.line_id,
            row.channel_sku,
            row.quantity,
            row.fulfilled,
            row.cancelled,
            row.restocked,
            unit_price=row.unit_price,
            refunded=row.refunded,
        )
        location_id, oversold, _ = page.place(order, line, product_id, None)
        before = StoredLine(
            pk=row.pk,
            sku=master,
            product_id=None,
            location_id=None,
            quantity=row.quantity,
            fulfilled=row.fulfilled,
            cancelled=row.cancelled,
            restocked=row.restocked,
            applied_fulfilled=0,
            applied_restocked=0,
            quarantined=True,
            quarantine_reason=None,
            reserved=None,
            reserved_at=None,
            oversold=oversold,
        )
        page.changed_line(order, line, before, product_id, location_id)
        done += 1
    return changes, done


@dataclass(frozen=True)
class QuarantinedLine:
    """A quarantined line as :func:`retry` needs it."""

    pk: int
    channel: str
    external_id: str
    status: str
    line_id: str
    channel_sku: str
    quantity: int
    fulfilled: int
    cancelled: int
    restocked: int
    unit_price: Decimal | None = None
    refunded: int = 0


def rounds(orders: Sequence[Order]) -> list[list[Order]]:
    """The page in rounds where each order appears once: a repeat of an order inside a page is
    decided after the first is applied (as a change, or skipped as unchanged)."""
    out: list[list[Order]] = []
    seen: dict[str, int] = {}
    for order in orders:
        n = seen.get(order.external_id, 0)
        seen[order.external_id] = n + 1
        if n == len(out):
            out.append([])
        out[n].append(order)
    return out


class _Page:
    """The running state of one decision: the changes so far and the stock they leave."""

    def __init__(
        self, channel: ChannelIntake, view: IntakeView, at: datetime, changes: IntakeChanges | None = None
    ):
        self.channel = channel
        self.view = view
        self.at = at
        self.decision = Decision(
            changes if changes is not None else IntakeChanges(channel_id=channel.channel_id)
        )
        self.changes = self.decision.changes
        self.tally: dict[int, dict[int, tuple[int, int]]] = {}
        """The stock of the products this decision moved so far (the others': ``view.stock``)."""
        self.changes.stock_rows.update(
            (pid, lid) for pid, per_location in view.stock.items() for lid in per_location
        )
        self.taken: dict[int, int] = {}
        self._sources: list[int] | None = None

    def sources(self) -> list[int]:
        if self._sources is None:
            missing = [code for code in self.channel.sources if code not in self.view.locations]
            if missing:
                raise ValueError(f"unknown location {missing[0]!r}")
            self._sources = [self.view.locations[code] for code in self.channel.sources]
        return self._sources

    def location(self, code: str | None) -> int | None:
        return self.view.locations.get(code) if code else None

    def stock(self, product_id: int) -> Mapping[int, tuple[int, int]]:
        """(on_hand, reserved) per location of a product, as this decision left it so far."""
        moved = self.tally.get(product_id)
        return moved if moved is not None else self.view.stock.get(product_id, _NO_STOCK)

    def moved(self, product_id: int) -> dict[int, tuple[int, int]]:
        """The product's running stock, to change (copied from the view the first time)."""
        moved = self.tally.get(product_id)
        if moved is None:
            moved = self.tally[product_id] = dict(self.view.stock.get(product_id, _NO_STOCK))
        return moved

    def place(
        self, order: Order, line: OrderLine, product_id: int, location_id: int | None
    ) -> tuple[int, int, int]:
        """Where a line arriving now is kept (``location_id``, else routed by its open units, or by its
        quantity when none are open), the units of it the ledger did not have there (oversold), and
        its open units."""
        held = open_units(order, line)
        stock = self.stock(product_id)
        on_order = self.view.incoming.get(product_id)
        where = location_id or choose_location(stock, self.sources(), held or line.quantity, on_order)
        incoming = on_order.get(where, 0) if on_order else 0
        return where, oversold_units(stock, where, taken_units(line, held), incoming), held

    def order(self, order: Order, digest: str, stored: StoredOrder | None) -> None:
        location_id = self.location(order.location)
        changes = self.changes
        if stored is None:
            changes.new_orders.append(
                {
                    "channel_id": self.channel.channel_id,
                    "external_id": order.external_id,
                    "status": order.status.value,
                    "digest": digest,
                    "location_id": location_id,
                    "updated_at": order.updated_at,
                    "imported_at": self.at,
                    "placed_at": order.created_at or order.updated_at,
                    "currency": order.currency,
                }
            )
        else:
            changes.order_updates.append(
                {
                    "id": stored.id,
                    "status": order.status.value,
                    "digest": digest,
                    "location_id": location_id,
                    "updated_at": order.updated_at,
                    "currency": order.currency,
                }
            )
        kits = self.view.kits
        for line in order.lines:
            before = stored.lines.get(line.line_id) if stored is not None else None
            kit = self.kit_of(line) if before is None and kits else None
            if kit is not None:
                self.kit_line(order, line, location_id, stored, *kit)
            elif before is None:
                self.new_line(order, line, location_id, None if stored is None else stored.id)
            elif before.quarantined or before.product_id is None or before.location_id is None:
                changes.line_updates.append({"id": before.pk, **_reported(line, before)})
            else:
                self.changed_line(order, line, before, before.product_id, before.location_id)

    def kit_of(self, line: OrderLine) -> tuple[int, tuple[tuple[int, str, int], ...]] | None:
        """(kit product id, its components) when the line sells a kit, else None."""
        if not self.view.kits:
            return None
        master = self.channel.resolve_sku(line.channel_sku)
        product_id = self.view.products.get(master) if master else None
        components = self.view.kits.get(product_id) if product_id is not None else None
        return None if product_id is None or not components else (product_id, components)

    def kit_line(
        self,
        order: Order,
        line: OrderLine,
        location_id: int | None,
        stored: StoredOrder | None,
        kit_id: int,
        components: tuple[tuple[int, str, int], ...],
    ) -> None:
        """A kit's line, kept as one line per component (:func:`~omnisync.kits.component_lines`):
        its components are reserved, sold, released and returned like any line's, keyed by the order
        line; the channel's own count of the kit moves as the kit line says."""
        parts = component_lines(line, [(sku, quantity) for _, sku, quantity in components])
        befores = [stored.lines.get(part.line_id) if stored is not None else None for part in parts]
        first = befores[0]
        kit_before = None if first is None else scaled_down(first, components[0][2])
        self.shift(order, line, kit_before, kit_id)
        where = location_id or (first.location_id if first is not None else None)
        if where is None:
            units = open_units(order, line) or line.quantity
            tally = {c: self.stock(c) for c, _, _ in components}
            kits = kit_stock([(c, quantity) for c, _, quantity in components], tally)
            where = choose_location({lid: (k.kits, 0) for lid, k in kits.items()}, self.sources(), units)
        for (product_id, sku, _), part, before in zip(components, parts, befores, strict=True):
            if before is None:
                self.new_line(
                    order, part, where, None if stored is None else stored.id, known=(sku, product_id)
                )
            elif before.quarantined or before.product_id is None or before.location_id is None:
                self.changes.line_updates.append({"id": before.pk, **_reported(part, before)})
            else:
                self.changed_line(order, part, before, before.product_id, before.location_id, shift=False)

    def new_line(
        self,
        order: Order,
        line: OrderLine,
        location_id: int | None,
        order_id: int | None,
        *,
        known: tuple[str, int] | None = None,
    ) -> None:
        """A line the ledger does not hold yet; ``known``: a kit's component line, (SKU, product id),
        whose kit the channel's count follows instead."""
        if known is None:
            master = self.channel.resolve_sku(line.channel_sku)
            product_id = self.view.products.get(master) if master else None
        else:
            master, product_id = known
        line_location: int | None = None
        if product_id is None or master is None:
            reason = f"unknown SKU {line.channel_sku!r} on channel {self.channel.name}"
            values = _quarantined(line, reason)
            self.decision.quarantined.append((order.external_id, line.channel_sku))
        else:
            line_location, oversold, held = self.place(order, line, product_id, location_id)
            values = _applied(line, product_id, line_location, oversold)
        self.changes.new_lines.append(
            {
                "order_id": order_id,
                "external_id": order.external_id,
                "line_id": line.line_id,
                "channel_sku": line.channel_sku,
                **values,
            }
        )
        if product_id is not None and line_location is not None:
            if known is None:
                self.shift(order, line, None, product_id)
            self.apply(order, line, master, product_id, line_location, None, held)

    def changed_line(
        self,
        order: Order,
        line: OrderLine,
        before: StoredLine,
        product_id: int,
        location_id: int,
        *,
        shift: bool = True,
    ) -> None:
        """A line the ledger holds, applied: only the difference to what it applied before."""
        self.changes.line_updates.append(
            {"id": before.pk, **_applied(line, product_id, location_id, before.oversold)}
        )
        if shift and not before.quarantined:
            self.shift(order, line, before, product_id)
        self.apply(order, line, before.sku, product_id, location_id, before)

    def shift(self, order: Order, line: OrderLine, before: StoredLine | None, product_id: int) -> None:
        """The channel's own count moves with the line (:func:`listing_state.imported`), unless the order
        ships from a location the channel keeps itself (FBA: its units never were in the listing)."""
        if order.location is not None and order.location in self.channel.external:
            return
        numbers = (
            None
            if before is None
            else _Applied(
                before.quantity, before.applied_fulfilled, before.cancelled, before.applied_restocked
            )
        )
        units = listing_state.imported(
            self.channel.decrements, order, line, numbers, self.view.read_at.get(product_id)
        )
        if units:
            self.taken[product_id] = self.taken.get(product_id, 0) + units

    def apply(
        self,
        order: Order,
        line: OrderLine,
        sku: str | None,
        product_id: int,
        location_id: int,
        before: StoredLine | None,
        held: int | None = None,
    ) -> None:
        """Reservation and movements from what was applied ``before`` (None: nothing yet); ``held``:
        the line's open units where known already."""
        reserved_delta = self.reserve(order, line, product_id, location_id, before, held)
        applied_fulfilled = before.applied_fulfilled if before else 0
        applied_restocked = before.applied_restocked if before else 0
        sold = line.fulfilled - applied_fulfilled
        restocked = line.restocked - applied_restocked
        if sold or restocked:
            key = order_movement_key(self.channel.name, order.external_id, line.line_id)
        if sold:
            self.move(
                product_id,
                location_id,
                "sale",
                -sold,
                f"{key}:sale:{applied_fulfilled}->{line.fulfilled}",
                order,
            )
        if restocked:
            where = self.location(order.return_location) or location_id
            self.move(
                product_id,
                where,
                "return",
                restocked,
                f"{key}:return:{applied_restocked}->{line.restocked}",
                order,
            )
        if line.damaged or line.to_inspect:
            self.returned_apart(order, line, product_id, location_id)
        if decreases(reserved_delta, sold) and sku is not None:
            self.decision.decreased.add(sku)
            if product_id in self.view.in_kits:
                self.decision.knock_on.add(sku)

    def returned_apart(self, order: Order, line: OrderLine, product_id: int, location_id: int) -> None:
        """Returned units the channel did not restock, into the damaged and inspect buckets where they
        came back (:mod:`omnisync.returns`). One movement per unit, keyed by its rank: the line keeps
        no applied count of them, and a version read again journals nothing twice."""
        key = order_movement_key(self.channel.name, order.external_id, line.line_id)
        where = self.location(order.return_location) or location_id
        for bucket, units in ((DAMAGED, line.damaged), (INSPECT, line.to_inspect)):
            for n in range(1, units + 1):
                self.move(product_id, where, "return", 1, f"{key}:{bucket}:{n}", order, bucket)

    def reserve(
        self,
        order: Order,
        line: OrderLine,
        product_id: int,
        location_id: int,
        before: StoredLine | None,
        held: int | None = None,
    ) -> int:
        """Set the line's reservation to its open units (``held``, where known); returns the change of
        ``reserved``."""
        quantity = open_units(order, line) if held is None else held
        held = before.reserved if before is not None else None
        if held is None:
            if not quantity:
                return 0
            self.changes.new_reservations.append(
                {
                    "line_pk": None if before is None else before.pk,
                    "external_id": order.external_id,
                    "line_id": line.line_id,
                    "product_id": product_id,
                    "location_id": location_id,
                    "quantity": quantity,
                }
            )
            delta, where = quantity, location_id
        else:
            delta = quantity - held
            if not delta:
                return 0
            assert before is not None
            self.changes.reservation_updates.append({"line_pk": before.pk, "quantity": quantity})
            where = before.reserved_at if before.reserved_at is not None else location_id
        pair = (product_id, where)
        self.changes.reserved[pair] = self.changes.reserved.get(pair, 0) + delta
        self.changes.touched.add(product_id)
        stock = self.moved(product_id)
        on_hand, reserved = stock.get(where, _NONE)
        stock[where] = (on_hand, reserved + delta)
        return delta

    def move(
        self,
        product_id: int,
        location_id: int,
        kind: str,
        quantity: int,
        key: str,
        order: Order,
        bucket: str | None = None,
    ) -> None:
        self.changes.movements.append(
            {
                "product_id": product_id,
                "location_id": location_id,
                "kind": kind,
                "quantity": quantity,
                "idempotency_key": key,
                "reference": order.external_id,
                "note": None,
                "created_at": self.at,
                "actor": channel_actor(self.channel.name),
                "batch": None,
                "bucket": bucket,
            }
        )
        if bucket is not None:  # a non-sellable bucket: no on_hand, nothing to route against
            return
        # routing of the page's next orders sees this movement
        stock = self.moved(product_id)
        on_hand, reserved = stock.get(location_id, _NONE)
        stock[location_id] = (on_hand + quantity, reserved)


def scaled_down(part: StoredLine, quantity: int) -> StoredLine:
    """A kit line's numbers as applied, from one of its component lines (``quantity`` per kit)."""
    return part._replace(
        quantity=part.quantity // quantity,
        applied_fulfilled=part.applied_fulfilled // quantity,
        cancelled=part.cancelled // quantity,
        applied_restocked=part.applied_restocked // quantity,
    )


class _Applied(NamedTuple):
    """A stored line's numbers as applied (:class:`listing_state.LineBefore`)."""

    quantity: int
    fulfilled: int
    cancelled: int
    restocked: int


def _applied(line: OrderLine, product_id: int, location_id: int, oversold: int) -> LineValues:
    """A line's columns once its reported numbers are applied at ``location_id``."""
    return {
        "product_id": product_id,
        "location_id": location_id,
        "quantity": line.quantity,
        "fulfilled": line.fulfilled,
        "cancelled": line.cancelled,
        "restocked": line.restocked,
        "applied_fulfilled": line.fulfilled,
        "applied_restocked": line.restocked,
        "quarantined": False,
        "quarantine_reason": None,
        "unit_price": line.unit_price,
        "refunded": refunded_units(line),
        "oversold": oversold,
    }


def _quarantined(line: OrderLine, reason: str) -> LineValues:
    """A line's columns while its SKU is unknown: kept, nothing applied."""
    return {
        "product_id": None,
        "location_id": None,
        "quantity": line.quantity,
        "fulfilled": line.fulfilled,
        "cancelled": line.cancelled,
        "restocked": line.restocked,
        "applied_fulfilled": 0,
        "applied_restocked": 0,
        "quarantined": True,
        "quarantine_reason": reason,
        "unit_price": line.unit_price,
        "refunded": refunded_units(line),
        "oversold": 0,
    }


def _reported(line: OrderLine, before: StoredLine) -> LineValues:
    """A stored line's columns with the line's reported numbers."""
    return {
        "product_id": before.product_id,
        "location_id": before.location_id,
        "quantity": line.quantity,
        "fulfilled": line.fulfilled,
        "cancelled": line.cancelled,
        "restocked": line.restocked,
        "applied_fulfilled": before.applied_fulfilled,
        "applied_restocked": before.applied_restocked,
        "quarantined": before.quarantined,
        "quarantine_reason": before.quarantine_reason,
        "unit_price": line.unit_price,
        "refunded": refunded_units(line),
        "oversold": before.oversold,
    }
