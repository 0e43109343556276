"""Listing planning: the catalogue read from the ledger, each channel's wanted listings computed by
the pure core (:mod:`omnisync.catalogue`), checked against the channel's rules and diffed against
what the channel holds. Read-only: ``omnisync listings plan`` / ``validate`` and ``explain`` use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from omnisync.catalogue.plan import ListingAction, ListingDecision, decide
from omnisync.catalogue.template import ListingMode
from omnisync.catalogue.validate import Problem, validate_listing
from omnisync.catalogue.wanted import Wanted, wanted_listing
from omnisync.ledger.rows import CatalogueRow, ListingContentRow, ListingRow, VariantRow
from omnisync.pricing import price_for
from omnisync.sdk.listings import ListingRules
from omnisync.sdk.models import Capability

from .setup import EngineSetup


@dataclass(frozen=True)
class PlannedListing:
    channel: str
    catalogue_id: int
    product: str
    decision: ListingDecision
    problems: tuple[Problem, ...]
    wanted: Wanted | None
    """None when the channel's connector cannot manage listings."""
    version: int | None = None
    """The catalogue product's version the plan read: an answer settles the listing only if the
    product did not change since (``record_listing_answer``)."""

    @property
    def blocked(self) -> bool:
        """The listing would be sent but breaks the channel's rules: reported, never sent."""
        return bool(self.problems) and self.decision.action in (ListingAction.CREATE, ListingAction.UPDATE)


class ListingPlanning(EngineSetup):
    def listing_rules(self, channel: str) -> ListingRules | None:
        """What the channel refuses in a listing; None when its connector manages no listings."""
        return type(self.channels[channel].connector).listing_rules

    def plan_listings(
        self, channel: str, *, dirty_only: bool = False, handles: Sequence[str] | None = None
    ) -> list[PlannedListing]:
        """Every catalogue product's next listing step on ``channel`` (only the dirty ones with
        ``dirty_only``), each with the channel's rules checked."""
        rt = self.channels[channel]
        with self.ledger.read() as conn:
            catalogue = self.ledger.catalogue(conn, handles)
            states = self.ledger.listing_contents(conn, rt.channel_id)
            pids = [v.id for p in catalogue for v in p.variants]
            variants = (
                {row.product_id: row for row in self.ledger.listings(conn, rt.channel_id, product_ids=pids)}
                if pids
                else {}
            )
        if dirty_only:
            catalogue = [p for p in catalogue if p.id not in states or states[p.id].dirty]
        return [self._plan_one(channel, p, states.get(p.id), variants) for p in catalogue]

    def _plan_one(
        self,
        channel: str,
        product: CatalogueRow,
        state: ListingContentRow | None,
        variants: dict[int, ListingRow],
    ) -> PlannedListing:
        mapping = self.mappings[channel]
        rules = self.listing_rules(channel)
        resolved = mapping.listing_template(product.handle, [(v.sku, v.tags) for v in product.variants])
        if resolved.mode is ListingMode.OFF:
            return PlannedListing(
                channel, product.id, product.handle, decide_off(), (), None, product.version
            )
        if rules is None:
            connector = self.config.channels[channel].connector
            why = f"the {connector} connector cannot manage listings"
            return PlannedListing(
                channel,
                product.id,
                product.handle,
                ListingDecision(ListingAction.SKIP, why),
                (),
                None,
                product.version,
            )
        found = {
            v.sku: dict(variants[v.id].ids)
            for v in product.variants
            if v.id in variants and variants[v.id].ids and not variants[v.id].missing
        }
        wanted = wanted_listing(
            product,
            resolved,
            rules,
            channel_sku=mapping.channel_sku,
            price=lambda v: self._listing_price(channel, v),
            ids=state.ids if state is not None else None,
            variant_ids=found,
            published=state.published if state is not None else None,
        )
        on_channel = bool(state is not None and state.ids) or bool(found)
        decision = decide(wanted, state, resolved.mode, on_channel=on_channel)
        if decision.sends and not self.channels[channel].connector.supports(Capability.MANAGE_LISTINGS):
            connector = self.config.channels[channel].connector
            why = f"{decision.why}; but the {connector} connector cannot push listings yet"
            decision = ListingDecision(ListingAction.SKIP, why, decision.changed)
        problems = (
            tuple(validate_listing(wanted.content, rules))
            if decision.action is not ListingAction.KEEP
            else ()
        )
        return PlannedListing(
            channel, product.id, product.handle, decision, problems, wanted, product.version
        )

    def _listing_price(self, channel: str, variant: VariantRow) -> tuple[Decimal, str]:
        """The variant's channel price by the channel's price rules (the one price rule of pricing.py)."""
        rules = self.calculator.channels[channel]
        price_rules, _ = rules.mapping.price_rules(variant.sku, variant.tags, rules.price)
        result = price_for(variant.price, variant.currency, price_rules)
        return result.price, result.currency

    def explain_listing(self, sku: str) -> dict[str, PlannedListing]:
        """The listing SKU belongs to, as each channel would get it (empty: SKU outside the catalogue)."""
        with self.ledger.read() as conn:
            product = self.ledger.catalogue_of_sku(conn, sku)
        if product is None:
            return {}
        return {name: self.plan_listings(name, handles=[product.handle])[0] for name in self.channels}


def decide_off() -> ListingDecision:
    return ListingDecision(ListingAction.KEEP, "listings: off on this channel")
