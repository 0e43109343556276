"""The demo's folder: the config and mapping files it writes, and the mark that lets a later demo
replace them (a folder holding files the demo did not write is refused)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import yaml

from .channels import CURRENCY, HOST, DemoChannel


def write_files(folder: Path, channels: list[DemoChannel], daemon_port: int) -> Path:
    maps = folder / "mappings"
    maps.mkdir(parents=True, exist_ok=True)
    for ch in channels:
        if ch.mapping:
            (maps / f"{ch.name}.yaml").write_text(yaml.safe_dump(ch.mapping, sort_keys=False))
        else:
            ch.config.pop("mapping", None)
    config = {
        "ledger": {"url": "sqlite:///omnisync.db"},
        "currency": CURRENCY,
        "locations": [
            {"code": "WH", "name": "Warehouse", "kind": "warehouse"},
            {"code": "STORE", "name": "Main Street store", "kind": "store"},
        ],
        "channels": {ch.name: ch.config for ch in channels},
        "daemon": {
            "host": HOST,
            "port": daemon_port,
            "webhook_base_url": f"http://{HOST}:{daemon_port}",
        },
        "logging": {"level": "warning"},
    }
    path = folder / "omnisync.yaml"
    header = (
        "# Written by `omnisync demo`. The secrets come from the environment (the demo sets them to the\n"
        "# emulators' values in its own process); the emulators on loopback are gone once it ends.\n"
    )
    path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return path


DEMO_MARK = ".omnisync-demo"
"""Left in the demo's folder: a later demo may replace what it finds there."""
DEMO_FILES = ("omnisync.yaml", "omnisync.db", "mappings")


def folder_refusal(folder: Path) -> str | None:
    """Why the demo must not write into ``folder`` (files it did not create), or None."""
    if (folder / DEMO_MARK).exists() or not folder.exists():
        return None
    found = [name for name in DEMO_FILES if (folder / name).exists()]
    if not found:
        return None
    return (
        f"{folder} holds {', '.join(found)} that the demo did not create; "
        "pick another --folder, or pass --force to replace them"
    )


def fresh_ledger(folder: Path) -> None:
    (folder / DEMO_MARK).write_text("written by `omnisync demo`; a later demo may replace this folder\n")
    for name in ("omnisync.db", "omnisync.db-wal", "omnisync.db-shm"):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
