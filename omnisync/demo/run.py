"""The demo's run: the world opened, the first push, the shoppers' waves, the verdict."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnisync.clock import SystemClock
from omnisync.daemon.scheduler import Scheduler
from omnisync.logging import configure

from .channels import FACTORIES, HOST
from .folder import folder_refusal, fresh_ledger
from .listings import ListingSync
from .next_steps import next_commands, spelled
from .script import shopper_script, waves
from .settle import Settled, caught_up
from .shoppers import make_catalogue
from .trading import SETTLE_TIMEOUT_S, live, trade
from .verdict import print_verdict, verdict
from .view import View, make_view
from .world import World, WorldFailed, open_world


@dataclass(frozen=True)
class DemoSize:
    skus: int
    seconds: float
    """Trading time: the shoppers' script spans it (a wave waits for the daemon beyond it)."""
    wave_s: float = 2.5
    """Trading seconds per wave of shoppers."""

    @property
    def orders_per_s(self) -> float:
        return max(1.5, min(8.0, self.skus / 40))


SHORT = DemoSize(skus=40, seconds=15)
"""The default: about a minute on a small machine, most of it the emulated Amazon's own pace."""
LONG = DemoSize(skus=300, seconds=60, wave_s=5.0)
"""``--long``: the catalogue and trading time the demo had before it had waves."""


def failed(problem: str, notes: list[str]) -> dict[str, Any]:
    return {"ok": False, "problems": [problem], "notes": notes, "channels": {}}


async def run(
    folder: Path, size: DemoSize, seed: int, view: View, report: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """The run; ``report`` gets the summary before the world is taken down (a daemon stopping may
    wait for a throttled pull to finish)."""
    rng = random.Random(seed)
    catalogue = make_catalogue(rng, size.skus)
    skus = [item[0] for item in catalogue.items]
    view.step(f"starting the emulators ({', '.join(FACTORIES)}) on {HOST} and the daemon")
    try:
        world = await open_world(folder, catalogue)
    except WorldFailed as exc:
        summary = failed(str(exc), [])
        report(summary)
        return summary
    try:
        try:
            scheduler = (await world.start_daemon()).scheduler
            view.step(
                f"first pull and push of {size.skus} SKUs to every channel"
                " (the Amazon emulator reads each listing first, 5 a second)"
            )
            async with live(world.engine, world.channels, view):
                await scheduler.drain()  # the kick-off: first pull and the initial push of every channel
                listing = ListingSync(world.engine, world.channels, scheduler.listings)
                if usable(world):
                    await trading(world, scheduler, skus, size, rng, view, listing)
            if world.channels:
                summary = verdict(world.engine, world.channels, catalogue, world.notes, size.seconds, listing)
                summary["next_commands"] = [spelled(cmd) for cmd in next_commands(world.config, skus[0])]
            else:
                summary = failed("no channel is usable", world.notes)
        except WorldFailed as exc:
            summary = failed(str(exc), world.notes)
        report(summary)
    finally:
        await world.close()
    return summary


def usable(world: World) -> bool:
    """Leave out a channel whose connector failed its first cycle (unfinished code, ...), with a note;
    the daemon keeps retrying it behind its breaker. Whether any channel is left."""
    for ch in list(world.channels):
        health = world.engine.channels[ch.name].health
        if health.state not in ("ok", "idle"):
            world.notes.append(
                f"{ch.name} ({ch.connector}) skipped: its first cycle failed: {health.last_error}"
            )
            world.channels.remove(ch)
    return bool(world.channels)


async def trading(
    world: World,
    scheduler: Scheduler,
    skus: list[str],
    size: DemoSize,
    rng: random.Random,
    view: View,
    listing: ListingSync,
) -> None:
    """The shoppers' waves once the first push settled; the verdict follows once the daemon caught up
    with the last one (the demo's verdict is its own: no reconcile runs before it but those a drift
    asked for, which the notes name). The listing sync (:mod:`.listings`) lists the tote before the
    first wave and changes the catalogue halfway."""
    engine, channels = world.engine, world.channels

    async def settled(shown: list[str]) -> Settled:
        return await caught_up(
            engine,
            channels,
            shown,
            timeout_s=SETTLE_TIMEOUT_S,
            reconcile=scheduler.reconcile,
            push=scheduler.push,
        )

    first = await settled(skus)
    if not first.backlog.clear:
        world.notes.append(f"the first push had not settled after {SETTLE_TIMEOUT_S:g} s ({first.backlog})")
    view.step(await listing.start())
    listed = await settled([*skus, *listing.skus])
    if not listed.backlog.clear:
        world.notes.append(
            f"the tote's stock had not settled after {SETTLE_TIMEOUT_S:g} s ({listed.backlog})"
        )

    async def midway() -> tuple[str, list[str]]:
        said = await listing.change()
        return said, listing.skus

    script = shopper_script(
        rng, [(ch.name, ch.weight) for ch in channels], skus, size.seconds, size.orders_per_s
    )
    view.step(f"trading: {len(script)} shoppers over {size.seconds:g} s, a wave every {size.wave_s:g} s")
    world.notes += await trade(
        engine,
        channels,
        skus,
        waves(script, size.seconds, size.wave_s),
        wave_s=size.wave_s,
        daemon_url=world.daemon_url,
        view=view,
        reconcile=scheduler.reconcile,
        push=scheduler.push,
        midway=midway,
    )
    if world.webhook_posts:  # the Square emulator's own notifications
        await asyncio.gather(*list(world.webhook_posts), return_exceptions=True)
    last = await settled([*skus, *listing.skus])
    view.step(f"shoppers gone; {last}")
    if not last.backlog.clear:
        world.notes.append(f"the daemon had not caught up at the end ({last.backlog})")


def run_demo(
    folder: Path,
    *,
    seconds: float | None = None,
    skus: int | None = None,
    long: bool = False,
    as_json: bool = False,
    seed: int = 7,
    force: bool = False,
) -> int:
    """Run the demo; print the summary table (or JSON); 0 when every invariant holds.

    The size is ``SHORT`` (``LONG`` with ``long``); ``seconds`` and ``skus`` override it. A folder
    holding a config or ledger the demo did not create is refused (exit 2) unless ``force``."""
    folder = Path(folder).resolve()
    refusal = None if force else folder_refusal(folder)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    base = LONG if long else SHORT
    size = DemoSize(
        skus=base.skus if skus is None else skus,
        seconds=base.seconds if seconds is None else seconds,
        wave_s=base.wave_s,
    )
    configure(level="warning", json=False)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: maximum instances" is noise here
    folder.mkdir(parents=True, exist_ok=True)
    fresh_ledger(folder)
    clock = SystemClock()
    began = clock.monotonic()
    view = make_view(lambda: clock.monotonic() - began)

    def report(summary: dict[str, Any]) -> None:
        view.close()
        if as_json:
            print(json.dumps(summary, indent=2, default=str), flush=True)
        else:
            print_verdict(summary)
        sys.stdout.flush()

    try:
        summary = asyncio.run(run(folder, size, seed, view, report))
    finally:
        view.close()
    return 0 if summary["ok"] else 1
