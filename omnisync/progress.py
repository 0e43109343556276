"""Progress of a long command on stderr: a rich progress bar on a terminal, plain lines otherwise.

Data goes to stdout and progress to stderr, so ``--json`` output and pipes stay clean. Off a
terminal (a log file, CI), a plain line is written for each step of a few steps and about every
tenth of a long run, never a line per row.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any, TypeVar

T = TypeVar("T")
PLAIN_LINES = 10
"""About this many plain lines for a long run."""


class Progress:
    def __init__(
        self, label: str, total: int, *, stream: IO[str] | None = None, tty: bool | None = None
    ) -> None:
        self.label = label
        self.total = max(0, total)
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._every = 1 if self.total <= PLAIN_LINES * 2 else max(1, self.total // PLAIN_LINES)
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def advance(self, what: str = "", steps: int = 1) -> None:
        before, self.done = self.done, min(self.total, self.done + steps)
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, description=f"{self.label} {what}".rstrip())
        elif self.done == self.total or self.done // self._every > before // self._every:
            self.stream.write(f"{self.label}: {self.done}/{self.total}{' ' + what if what else ''}\n")
            self.stream.flush()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def track(items: Iterable[T], label: str, total: int, *, stream: IO[str] | None = None) -> Iterator[T]:
    """``items``, advancing a :class:`Progress` by one for each."""
    with Progress(label, total, stream=stream) as progress:
        for item in items:
            yield item
            progress.advance()
