"""``omnisync init DIR``: a starter config and the mapping files it names, never overwriting a file."""

from __future__ import annotations

from pathlib import Path

import yaml

from omnisync import ledgerio

TEMPLATES = Path(__file__).resolve().parents[1]
"""The project folder holding ``config.example.yaml`` and ``mappings/``."""

MINIMAL_MAPPING = "# Per-channel SKU aliases and overrides: see mappings/ in the project for examples.\n{}\n"


def mapping_paths(config_text: str) -> list[str]:
    """The ``channels.<name>.mapping`` paths a config names, in order."""
    doc = yaml.safe_load(config_text) or {}
    channels = doc.get("channels") or {}
    return [ch["mapping"] for ch in channels.values() if isinstance(ch, dict) and ch.get("mapping")]


def write_starter(directory: Path) -> list[Path]:
    """Write ``omnisync.yaml`` and its mapping files into ``directory``; the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    config = directory / "omnisync.yaml"
    if not config.exists():
        config.write_text(ledgerio.starter_config(), encoding="utf-8")
        written.append(config)
    for rel in mapping_paths(config.read_text(encoding="utf-8")):
        target = directory / rel
        if target.exists():
            continue
        template = TEMPLATES / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = template.read_text(encoding="utf-8") if template.is_file() else MINIMAL_MAPPING
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
