"""The demo's listing sync (:mod:`omnisync.testing.catalogue_sync`): two catalogue products the daemon
lists from the master catalogue.

Every channel's mapping says ``listings: create``. A canvas tote is in the catalogue from the start and
the listing job creates it on every channel before trading; halfway through trading a wool scarf is
added to the catalogue (with stock) and the tote is discontinued, and the listing job runs again: the
scarf appears on every channel with its variants, its stock follows through the ordinary pushes, and
the tote is unpublished everywhere, never deleted. The verdict checks both
(:func:`omnisync.invariants.listing_problems`). Shoppers buy only the catalogue's plain SKUs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from omnisync.engine.runtime import Engine
from omnisync.invariants import ListingExpected, listing_problems
from omnisync.testing.catalogue_sync import SCARF, TEMPLATES, TOTE, SyncProduct, discontinue, expected, put

from .channels import CURRENCY, DemoChannel


def templates(channels: Sequence[DemoChannel]) -> None:
    """Each channel's mapping gets its listing template."""
    for ch in channels:
        ch.mapping.update(TEMPLATES.get(ch.connector, {}))
        ch.config["mapping"] = f"mappings/{ch.name}.yaml"


def add(engine: Engine, product: SyncProduct) -> None:
    with engine.ledger.tx() as tx:
        put(
            tx,
            product,
            currency=CURRENCY,
            at=engine.clock.now(),
            actor="demo",
            locations={"WH": "WH", "STORE": "STORE"},
        )
    engine.ensure_listings()


@dataclass
class ListingSync:
    """The listing sync the demo runs and checks."""

    engine: Engine
    channels: Sequence[DemoChannel]
    run_listings: Callable[[str], Awaitable[None]]
    """The daemon's listing job for a channel (the scheduler's, as its timetable would run it)."""
    changed: bool = False

    async def start(self) -> str:
        add(self.engine, TOTE)
        await self._job()
        return f"listings: {TOTE.handle} created from the catalogue on {self._names()}"

    async def change(self) -> str:
        """Halfway: the scarf added, the tote discontinued, the listing job run."""
        add(self.engine, SCARF)
        with self.engine.ledger.tx() as tx:
            discontinue(tx, TOTE)
        self.changed = True
        await self._job()
        return (
            f"listings: {SCARF.handle} added and {TOTE.handle} discontinued in the catalogue;"
            f" the listing job ran on {self._names()}"
        )

    @property
    def skus(self) -> list[str]:
        """The SKUs whose stock the channels must show (the tote's stop counting once it is gone)."""
        return SCARF.skus if self.changed else TOTE.skus

    def expected(self) -> list[ListingExpected]:
        return expected(self.changed)

    def problems(self) -> dict[str, list[str]]:
        creating = [ch for ch in self.channels if self.engine.manages_listings(ch.name)]
        return listing_problems(self.expected(), {ch.name: ch.double.listing for ch in creating})

    async def _job(self) -> None:
        await asyncio.gather(*(self.run_listings(ch.name) for ch in self.channels))

    def _names(self) -> str:
        return ", ".join(ch.name for ch in self.channels if self.engine.manages_listings(ch.name))
