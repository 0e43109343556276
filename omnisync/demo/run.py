"""The demo's run: the world opened (:mod:`.world`), the shoppers let in, the last sync, the verdict."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from omnisync.logging import configure

from .folder import folder_refusal, fresh_ledger
from .shoppers import Catalogue, make_catalogue, shop
from .verdict import print_verdict, verdict
from .world import World, WorldFailed, open_world


async def guarded(work: Awaitable[Any], notes: list[str]) -> None:
    try:
        await work
    except Exception as exc:  # a connector bug: reported in the notes, judged by the verdict
        notes.append(f"final sync failed: {type(exc).__name__}: {exc}")


def failed(problem: str, notes: list[str]) -> tuple[dict[str, Any], int]:
    return {"ok": False, "problems": [problem], "notes": notes, "channels": {}}, 1


async def run(folder: Path, seconds: float, skus: int, seed: int) -> tuple[dict[str, Any], int]:
    rng = random.Random(seed)
    catalogue = make_catalogue(rng, skus)
    try:
        world = await open_world(folder, catalogue)
    except WorldFailed as exc:
        return failed(str(exc), [])
    try:
        scheduler = (await world.start_daemon()).scheduler
        await scheduler.drain()  # the kick-off: first pull and the initial push of every channel
        if not usable(world):
            return failed("no channel is usable", world.notes)
        await trading(world, catalogue, seconds, rng)
        summary = verdict(world.engine, world.channels, catalogue, world.notes, seconds)
    except WorldFailed as exc:
        return failed(str(exc), world.notes)
    finally:
        await world.close()
    return summary, 0 if summary["ok"] else 1


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


async def trading(world: World, catalogue: Catalogue, seconds: float, rng: random.Random) -> None:
    """The shoppers; then a last sync and reconcile."""
    engine, channels = world.engine, world.channels
    loop = asyncio.get_running_loop()
    skus = [item[0] for item in catalogue.items]
    rate = max(1.0, min(8.0, len(skus) / 40))
    await shop(channels, skus, rng, loop.time() + seconds, world.daemon_url, rate)
    if world.webhook_posts:
        await asyncio.gather(*list(world.webhook_posts), return_exceptions=True)
    # The shoppers are gone: one last full sync and reconcile, then the verdict.
    names = [ch.name for ch in channels]
    await guarded(engine.sync_once(names), world.notes)
    await asyncio.gather(*(guarded(engine.reconcile(name), world.notes) for name in names))
    await guarded(engine.sync_once(names), world.notes)


def run_demo(
    folder: Path,
    *,
    seconds: float = 60,
    skus: int = 300,
    as_json: bool = False,
    seed: int = 7,
    force: bool = False,
) -> int:
    """Run the demo; print the summary table (or JSON); 0 when every invariant holds.

    A folder holding a config or ledger the demo did not create is refused (exit 2) unless ``force``."""
    folder = Path(folder).resolve()
    refusal = None if force else folder_refusal(folder)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    configure(level="warning", json=False)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: maximum instances" is noise here
    folder.mkdir(parents=True, exist_ok=True)
    fresh_ledger(folder)
    summary, code = asyncio.run(run(folder, seconds, skus, seed))
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print_verdict(summary, folder)
    return code
