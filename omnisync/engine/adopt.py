"""``omnisync catalog import --from CHANNEL``: the master catalogue built or completed from what a
channel lists (its products read by ``read_catalogue``, merged by :func:`omnisync.catalogue.adopt.adopt`).

A dry run by default: the merge is computed and reported, nothing is written. With ``write`` the new
SKUs, the catalogue products and their variants are written in one transaction, and the channel's ids
of the adopted variants are recorded on its listings (the channel is then linked, as ``listings
link`` would). Merchant data is never replaced without ``overwrite``.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from omnisync.catalogue.adopt import Adoption, adopt
from omnisync.ledger.rows import ProductRow
from omnisync.pricing import price_for
from omnisync.sdk.errors import ConfigurationError
from omnisync.sdk.models import Capability

from .linking import ListingLinker


class CatalogueImporter(ListingLinker):
    async def import_catalogue(
        self, channel: str, *, write: bool = False, overwrite: bool = False
    ) -> Adoption:
        rt = self.channels[channel]
        if not rt.connector.supports(Capability.READ_CATALOGUE):
            connector = self.config.channels[channel].connector
            raise ConfigurationError(
                f"the {connector} connector cannot read its catalogue (channel {channel})"
            )
        products = await self.read_channel_catalogue(channel)
        with self.ledger.read() as conn:
            catalogue = self.ledger.catalogue(conn)
            ledger = {p.sku: p for p in self.ledger.products(conn)}
        currencies = Counter(p.currency for p in ledger.values())
        currency = currencies.most_common(1)[0][0] if currencies else "EUR"
        mapping = self.mappings[channel]
        rules = self.calculator.channels[channel]

        def channel_price(row: ProductRow) -> tuple[Decimal, str]:
            price_rules, _ = mapping.price_rules(row.sku, row.tags, rules.price)
            shown = price_for(row.price, row.currency, price_rules)
            return shown.price, shown.currency

        found = adopt(
            products,
            catalogue,
            ledger,
            mapping.master_sku,
            overwrite=overwrite,
            currency=currency,
            channel_price=channel_price,
        )
        if not write:
            return found
        with self.ledger.tx() as tx:
            _, bumped = tx.upsert_products(found.skus)
            tx.touch_products(bumped)
            tx.upsert_catalogue(found.items, found.links)
        self.ensure_listings()  # the new SKUs' listings on every channel, then this channel's ids
        with self.ledger.tx() as tx:
            pids = []
            for sku, channel_ids in found.variant_ids.items():
                pids.append(self.ledger.product_id(tx.conn, sku))
                tx.set_listing_ids(rt.channel_id, pids[-1], channel_ids)
            tx.mark_products_dirty(pids)
        return found
