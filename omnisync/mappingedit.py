"""Adding SKU aliases to a channel's mapping file without losing the merchant's comments or layout.

``listings link --write-aliases`` uses it when a listing was found by barcode under another SKU. The
file is edited as text (the lines under a block ``sku_aliases:``, a rewritten flow mapping, or a new
block at the end) and the result is parsed back: it must hold exactly the old document plus the new
aliases, or nothing is written and the caller says what to add by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from omnisync.sdk.errors import ConfigurationError

_BLOCK = re.compile(r"^sku_aliases:\s*(#.*)?$")
_FLOW = re.compile(r"^sku_aliases:\s*(\{.*\})\s*(#.*)?$")


def _entry(master: str, channel_sku: str) -> str:
    return yaml.safe_dump({master: channel_sku}, default_flow_style=False, allow_unicode=True).strip()


def with_aliases(text: str, aliases: Mapping[str, str]) -> str:
    """``text`` (a mapping file) with ``aliases`` (master SKU -> channel SKU) added to its
    ``sku_aliases``. ValueError when the file cannot be edited safely or a master is aliased already."""
    before: Any = yaml.safe_load(text) or {}
    if not isinstance(before, dict):
        raise ValueError("the file is not a mapping of keys")
    current = before.get("sku_aliases") or {}
    clash = sorted(m for m in aliases if m in current and current[m] != aliases[m])
    if clash:
        raise ValueError(f"sku_aliases already maps {', '.join(clash)} to another SKU")
    fresh = {m: c for m, c in aliases.items() if m not in current}
    if not fresh:
        return text
    lines = text.splitlines()
    block = next((n for n, line in enumerate(lines) if _BLOCK.match(line)), None)
    flow = next((n for n, line in enumerate(lines) if _FLOW.match(line)), None)
    if block is not None:
        following = next((line for line in lines[block + 1 :] if line.strip()), "")
        indent = following[: len(following) - len(following.lstrip())] or "  "
        lines[block + 1 : block + 1] = [indent + _entry(m, c) for m, c in fresh.items()]
    elif flow is not None:
        merged = yaml.safe_dump(
            {**current, **fresh}, default_flow_style=True, allow_unicode=True, width=10**6
        )
        lines[flow] = f"sku_aliases: {merged.strip()}"
    elif "sku_aliases" in before:
        raise ValueError("sku_aliases is written in a form this edit does not follow")
    else:
        lines += ["# Channel SKUs found by barcode (omnisync listings link --write-aliases).", "sku_aliases:"]
        lines += ["  " + _entry(m, c) for m, c in fresh.items()]
    edited = "\n".join(lines) + "\n"
    after: Any = yaml.safe_load(edited)
    if after != {**before, "sku_aliases": {**current, **fresh}}:
        raise ValueError("the edit would change more than sku_aliases")
    return edited


def add_aliases(path: Path, aliases: Mapping[str, str]) -> None:
    """Write ``aliases`` into the mapping file at ``path`` (ConfigurationError: nothing written)."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        edited = with_aliases(text, aliases)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        shown = ", ".join(f"{m}: {c}" for m, c in aliases.items())
        raise ConfigurationError(f"{path}: cannot add sku_aliases ({exc}); add by hand: {shown}") from None
    if edited != text:
        path.write_text(edited, encoding="utf-8")
