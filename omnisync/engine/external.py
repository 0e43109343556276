"""Stock a channel keeps itself (Amazon FBA): its count read into the ledger, never pushed.

The location's on_hand follows the channel's count (``LocationStock.quantity``: units for sale plus
those held for the channel's open orders), each change journaled as an adjustment whose note carries
the channel's breakdown (fulfillable, inbound, reserved) for the merchant; the latest count and its
breakdown are kept per SKU and location (``external_count``) for ``explain`` and the status page.
Orders shipped from the location reserve there through the intake (``Order.location``), so the
ledger's reservations match the units the channel holds for them and a read after an import counts
nothing twice: available there is on_hand - reserved = the channel's fulfillable count.
"""

from __future__ import annotations

import structlog

from omnisync.audit import channel_actor
from omnisync.sdk.models import Capability

from .channel import ChannelRuntime
from .setup import EngineSetup

log = structlog.get_logger("omnisync.engine")


class ExternalStock(EngineSetup):
    async def read_external_stock(self, rt: ChannelRuntime, *, full: bool = False) -> set[str]:
        """Read the channel's own locations into the ledger (every SKU when ``full`` or never read yet,
        else what changed). Returns the master SKUs whose count went down."""
        if not rt.connector.supports(Capability.EXTERNAL_STOCK):
            return set()
        counts = await rt.connector.read_location_stock(full=full or not rt.external_read)
        rt.external_read = True
        if not counts:
            return set()
        now = self.clock.now()
        lowered: set[str] = set()
        unknown = 0
        with self.ledger.tx() as tx:
            for count in counts:
                sku = rt.intake.resolve_sku(count.channel_sku)
                pid = self.ledger.find_product_id(tx.conn, sku) if sku else None
                if sku is None or pid is None:
                    unknown += 1
                    continue
                lid = self.ledger.location_id(tx.conn, count.location)
                tx.save_external_count(
                    pid, lid, channel=rt.name, quantity=count.quantity, details=count.details, at=now
                )
                on_hand = self.ledger.stock_for(tx.conn, [pid]).get(pid, {}).get(lid, (0, 0))[0]
                delta = count.quantity - on_hand
                if not delta:
                    continue
                details = ", ".join(f"{k} {v}" for k, v in count.details.items())
                tx.record_movement_ids(
                    pid,
                    lid,
                    "adjustment",
                    delta,
                    f"external:{rt.name}:{count.location}:{sku}:{now.isoformat()}",
                    at=now,
                    note=f"{rt.name} count {count.quantity}" + (f" ({details})" if details else ""),
                    actor=channel_actor(rt.name),
                )
                if delta < 0:
                    lowered.add(sku)
        if unknown:
            log.info("external_stock.unknown_skus", channel=rt.name, skus=unknown)
        return lowered
