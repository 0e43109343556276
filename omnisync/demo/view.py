"""What a person watches while the demo runs: a live table on a terminal (rich), plain lines otherwise.

Both go to stderr, so ``omnisync demo --json`` keeps stdout for the summary alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from omnisync.engine.runtime import Engine
from omnisync.ledger import queries

from .channels import DemoChannel


@dataclass(frozen=True)
class LiveRow:
    channel: str
    placed: int
    sold_out: int
    imported: int
    pushed: int
    calls: int
    throttled: int
    state: str


def live_rows(engine: Engine, channels: Sequence[DemoChannel]) -> list[LiveRow]:
    """The channels' counters now (one ledger read)."""
    with engine.ledger.read() as conn:
        imported = {
            ch.name: len(queries.imported_orders(conn, engine.channels[ch.name].channel_id))
            for ch in channels
        }
    rows = []
    for ch in channels:
        rt = engine.channels[ch.name]
        rows.append(
            LiveRow(
                ch.name,
                len(ch.placed),
                ch.sold_out,
                imported[ch.name],
                rt.health.items_pushed,
                rt.stats.total_calls,
                rt.stats.total_throttled,
                rt.health.state,
            )
        )
    return rows


class PlainView:
    """One line per step, with the seconds since the start: for a log or a pipe."""

    live_table = False

    def __init__(self, stream: IO[str], elapsed: Callable[[], float]) -> None:
        self.stream = stream
        self.elapsed = elapsed

    def step(self, text: str) -> None:
        print(f"[{self.elapsed():5.1f} s] {text}", file=self.stream, flush=True)

    def rows(self, rows: Sequence[LiveRow]) -> None:
        """Plain output has no table that updates; the steps say what happened."""

    def close(self) -> None:
        return None


class RichView:
    """A live table of the channels under the latest step, redrawn in place on a terminal."""

    live_table = True

    def __init__(self, stream: IO[str], elapsed: Callable[[], float]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.elapsed = elapsed
        self.steps: list[str] = []
        self.table_rows: Sequence[LiveRow] = []
        self.live = Live(console=Console(file=stream), refresh_per_second=4, transient=False)
        self.live.start()
        self._draw()

    def step(self, text: str) -> None:
        self.steps = [*self.steps, f"[{self.elapsed():5.1f} s] {text}"][-4:]
        self._draw()

    def rows(self, rows: Sequence[LiveRow]) -> None:
        self.table_rows = rows
        self._draw()

    def close(self) -> None:
        self.live.stop()

    def _draw(self) -> None:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, pad_edge=False)
        for col in ("channel", "placed", "sold out", "imported", "pushed", "calls", "throttled", "state"):
            table.add_column(col, justify="left" if col in ("channel", "state") else "right")
        for r in self.table_rows:
            cells = (r.placed, r.sold_out, r.imported, r.pushed, r.calls, r.throttled)
            table.add_row(r.channel, *(str(c) for c in cells), r.state)
        parts: list[Any] = [Text(line) for line in self.steps]
        self.live.update(Group(*parts, table))


View = PlainView | RichView


def make_view(elapsed: Callable[[], float], stream: IO[str] | None = None) -> View:
    """The live table on a terminal, plain lines otherwise."""
    out = stream or sys.stderr
    return RichView(out, elapsed) if out.isatty() else PlainView(out, elapsed)
