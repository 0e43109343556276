"""The trading window: the script's waves of shoppers let in one after the other, each once the
daemon has caught up with the one before, while the view shows the channels' counters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import httpx

from omnisync.engine.runtime import Engine

from .channels import DemoChannel
from .script import Arrival
from .settle import caught_up
from .shoppers import place_wave, post_hooks
from .view import View, live_rows

SETTLE_TIMEOUT_S = 90.0
"""How long a wave waits for the daemon. Amazon's order pulls share a budget of one a minute once the
burst of 20 is spent (the long form spends it): a wave can then wait a minute for its Amazon orders."""


async def trade(
    engine: Engine,
    channels: Sequence[DemoChannel],
    skus: Sequence[str],
    waves: Sequence[Sequence[Arrival]],
    *,
    wave_s: float,
    daemon_url: str,
    view: View,
    reconcile: Callable[[str], Awaitable[None]],
    push: Callable[[str], Awaitable[None]],
    settle_timeout_s: float = SETTLE_TIMEOUT_S,
    midway: Callable[[], Awaitable[tuple[str, list[str]]]] | None = None,
) -> list[str]:
    """Let the waves in; notes for the waves the daemon did not catch up with in time. ``midway`` runs
    once the middle wave settled (the catalogue's change): it says what it did and which SKUs the
    channels must show from then on."""
    clock = engine.clock
    by_name = {ch.name: ch for ch in channels}
    notes: list[str] = []
    start = clock.monotonic()
    async with httpx.AsyncClient(base_url=daemon_url, timeout=5.0) as client:
        for k, wave in enumerate(waves):
            await clock.sleep(start + k * wave_s - clock.monotonic())
            before = sum(len(ch.placed) for ch in channels)
            await post_hooks(client, place_wave(by_name, wave))
            placed = sum(len(ch.placed) for ch in channels) - before
            settled = await caught_up(
                engine, channels, skus, timeout_s=settle_timeout_s, reconcile=reconcile, push=push
            )
            for name, n in settled.reconciled.items():
                by_name[name].drift_reconciled += n
            view.step(
                f"wave {k + 1}/{len(waves)}: {len(wave)} shopper(s), {placed} order(s) placed; {settled}"
            )
            if midway is not None and k == max(0, len(waves) // 2 - 1):
                said, more = await midway()
                skus = [*skus, *more]
                view.step(said)
            if not settled.backlog.clear:
                notes.append(
                    f"wave {k + 1}: the daemon had not caught up after {settle_timeout_s:g} s"
                    f" ({settled.backlog}); the counts may differ from one run to the next"
                )
    for ch in channels:
        if ch.drift_reconciled:
            notes.append(
                f"{ch.name}: {ch.drift_reconciled} SKU(s) showed another quantity than the daemon believed"
                " after a wave (a push without compare-and-set overwrote a sale not yet imported);"
                " the demo reconciled the channel before the next wave"
            )
    return notes


@contextlib.asynccontextmanager
async def live(
    engine: Engine, channels: Sequence[DemoChannel], view: View, every_s: float = 0.5
) -> AsyncIterator[None]:
    """Redraw the view's table every ``every_s`` while the block runs (a view that has one)."""
    if not view.live_table:
        yield
        return

    async def redraw() -> None:
        while True:
            view.rows(live_rows(engine, channels))
            await engine.clock.sleep(every_s)

    task = asyncio.get_running_loop().create_task(redraw())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        view.rows(live_rows(engine, channels))
