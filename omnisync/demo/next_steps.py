"""The commands the demo suggests once it is done: read-only ones that work on the folder it leaves
(no secret set, the emulators gone), spelled as the person can paste them."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def program() -> list[str]:
    """How to call omnisync again: ``omnisync`` when that name on PATH is the program running now,
    else the path it was started by (``.venv/bin/omnisync``), else ``python -m omnisync.cli``."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is not None and started.name == "omnisync" and started.exists():
        found = shutil.which("omnisync")
        if found is not None and os.path.samefile(found, started):
            return ["omnisync"]
        return [_shown(started)]
    return [_shown(Path(sys.executable)), "-m", "omnisync.cli"]


def next_commands(config: Path, sku: str) -> list[list[str]]:
    """What to run next on the demo's folder, as argument lists."""
    cfg = _shown(config)
    prog = program()
    return [
        [*prog, "status", "-c", cfg],
        [*prog, "plan", "-c", cfg],
        [*prog, "explain", sku, "-c", cfg],
        [*prog, "orders", "-c", cfg],
    ]


def spelled(command: list[str]) -> str:
    return shlex.join(command)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies under it, else absolute (links kept:
    a virtual environment's python is a link that must stay one)."""
    full = Path(os.path.abspath(path))
    try:
        return str(full.relative_to(Path.cwd()))
    except ValueError:
        return str(full)
