"""Adopting what a channel already lists: ``omnisync listings link`` matches the channel's listings to
the catalogue by SKU, then by barcode (:mod:`omnisync.catalogue.link`), and records the channel's
ids, so the listing pipeline updates what exists instead of creating it again and stock follows.

A listing found by barcode under another SKU becomes usable once its SKU is an alias of the master
SKU in the channel's mapping file (orders name the channel's SKU): with ``write_aliases`` the aliases
are added to that file (:mod:`omnisync.mappingedit`) and the listings linked at once; without, they
are reported with the line to add. Nothing is written to the channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omnisync.catalogue.link import LinkPlan, plan_links
from omnisync.mappingedit import add_aliases
from omnisync.sdk.errors import ConfigurationError
from omnisync.sdk.listings import ChannelProduct
from omnisync.sdk.models import Capability

from .listing_push import ListingPusher
from .setup import load_mapping


@dataclass
class LinkReport:
    """``listings link`` on one channel."""

    plan: LinkPlan
    barcode_read: bool
    """Whether the channel's catalogue was read (barcodes matched)."""
    aliases_written: dict[str, str] = field(default_factory=dict)
    """Master SKU -> channel SKU added to the mapping file (empty unless asked)."""
    mapping_file: str | None = None


class ListingLinker(ListingPusher):
    async def read_channel_catalogue(self, channel: str) -> list[ChannelProduct]:
        """Every product the channel lists (``read_catalogue`` page after page)."""
        connector = self.channels[channel].connector
        products: list[ChannelProduct] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await connector.read_catalogue(cursor)
            products.extend(page.products)
            cursor = page.next_cursor
            if cursor is None or cursor in seen:  # a cursor answered twice would loop forever
                return products
            seen.add(cursor)

    async def link_listings(self, channel: str, *, write_aliases: bool = False) -> LinkReport:
        rt = self.channels[channel]
        mapping = self.mappings[channel]
        with self.ledger.read() as conn:
            catalogue = self.ledger.catalogue(conn)
            ledger_skus = {p.sku for p in self.ledger.products(conn)}
        names = list(dict.fromkeys(mapping.channel_sku(v.sku) for p in catalogue for v in p.variants))
        size = max(1, rt.connector.limits.read_listings.max_batch)
        found: dict[str, list[dict[str, str]]] = {}
        for start in range(0, len(names), size):
            for listing in await rt.connector.read_listings(names[start : start + size]):
                found.setdefault(listing.channel_sku, []).append(dict(listing.ids))
        readable = rt.connector.supports(Capability.READ_CATALOGUE)
        products = await self.read_channel_catalogue(channel) if readable else None
        plan = plan_links(
            catalogue, mapping.channel_sku, found, products, ledger_skus, aliasing=write_aliases
        )
        report = LinkReport(plan, readable, mapping_file=self._mapping_path(channel))
        if write_aliases and plan.by_barcode:
            if report.mapping_file is None:
                raise ConfigurationError(
                    f"channel {channel} has no mapping file to add sku_aliases to: set its `mapping:`"
                )
            report.aliases_written = {m.sku: m.channel_sku for m in plan.by_barcode}
            add_aliases(self.loaded.resolve(report.mapping_file), report.aliases_written)
            self.mappings[channel] = load_mapping(self.loaded, channel, self.config.channels[channel])
        with self.ledger.tx() as tx:
            pids = []
            for sku, ids in plan.by_sku.items():
                pids.append(self.ledger.product_id(tx.conn, sku))
                tx.set_listing_ids(rt.channel_id, pids[-1], ids)
            for m in plan.by_barcode if report.aliases_written else ():
                pids.append(self.ledger.product_id(tx.conn, m.sku))
                tx.rename_listing(rt.channel_id, pids[-1], m.channel_sku, m.ids)
            tx.mark_products_dirty(pids)
            tx.mark_catalogue_dirty(p.id for p in catalogue)
        return report

    def _mapping_path(self, channel: str) -> str | None:
        return self.config.channels[channel].mapping
