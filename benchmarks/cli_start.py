"""CPU time of starting the CLI: ``omnisync --help`` and ``omnisync status`` (median of the runs).

    python benchmarks/cli_start.py --json
    python benchmarks/cli_start.py --runs 9 --json

Each command runs as its own process (the console script of this environment); its CPU time (user +
system, from ``getrusage`` of the children) is what a merchant waits for before the command starts
its work. ``status`` reads a sandbox deployment (``omnisync init --sandbox``) written once in a
temporary folder beforehand. ``cli.py`` imports typer and rich only; every command imports what it
needs when it runs, so ``--help`` never loads the engine, the ledger or alembic.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def omnisync() -> list[str]:
    script = shutil.which("omnisync", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "omnisync.cli"]


def cpu_seconds(args: list[str], cwd: Path) -> float:
    """CPU seconds (user + system) the command took, as its own process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(runs: int) -> dict[str, Any]:
    cmd = omnisync()
    with tempfile.TemporaryDirectory(prefix="omnisync-cli-start-") as tmp:
        folder = Path(tmp)
        init = [*cmd, "init", "--sandbox", "store"]
        subprocess.run(init, cwd=folder, check=True, stdout=subprocess.DEVNULL)
        commands = {
            "help": [*cmd, "--help"],
            "status": [*cmd, "status", "-c", str(folder / "store" / "omnisync.yaml")],
        }
        figures: dict[str, Any] = {}
        for name, args in commands.items():
            samples = [cpu_seconds(args, folder) for _ in range(runs)]
            figures[f"{name}_cpu_s"] = round(statistics.median(samples), 3)
            figures[f"{name}_samples_s"] = [round(s, 3) for s in samples]
    return {"runs": runs, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs per command (the median is reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = measure(args.runs)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"omnisync --help: {result['help_cpu_s']} s CPU")
        print(f"omnisync status: {result['status_cpu_s']} s CPU")


if __name__ == "__main__":
    main()
