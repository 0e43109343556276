"""Graph API field expansion: ``fields=id,items.limit(100){id,quantity},refunds`` (pure, no I/O).

The Graph API lets one call read a node with its edges: an edge named in ``fields`` is answered inline
as ``{"data": [...], "paging": {...}}``, ``.limit(N)`` sets its page size (Graph's default is 25) and
``{...}`` the fields of its rows. The emulator parses requests with :func:`parse_fields`; the connector
builds them with :func:`expand`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_EDGE_LIMIT = 25
_FIELD = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\.limit\((?P<limit>\d+)\))?$")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    limit: int | None = None
    subfields: tuple[Field, ...] | None = None
    """None: the edge's default fields (or a plain field)."""


class FieldsSyntaxError(ValueError):
    """The ``fields`` text does not parse."""


def _split(text: str) -> list[str]:
    """Split on the commas outside braces."""
    parts, depth, start = [], 0, 0
    for at, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise FieldsSyntaxError(f"unbalanced '}}' in fields at {at}")
        elif char == "," and depth == 0:
            parts.append(text[start:at])
            start = at + 1
    if depth:
        raise FieldsSyntaxError("unbalanced '{' in fields")
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_fields(text: str) -> tuple[Field, ...]:
    fields = []
    for part in _split(text):
        head, brace, rest = part.partition("{")
        match = _FIELD.match(head.strip())
        if match is None or (brace and not rest.endswith("}")):
            raise FieldsSyntaxError(f"cannot parse field {part!r}")
        limit = match.group("limit")
        fields.append(
            Field(
                match.group("name"),
                int(limit) if limit else None,
                parse_fields(rest[:-1]) if brace else None,
            )
        )
    return tuple(fields)


def expand(edge: str, limit: int, subfields: Sequence[str] = ()) -> str:
    """The ``fields`` term reading ``edge`` inline: ``items.limit(100){id,quantity}``."""
    inner = "{" + ",".join(subfields) + "}" if subfields else ""
    return f"{edge}.limit({limit}){inner}"
