"""Answer helpers of the Square emulator: Square's error objects and opaque cursors."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import SquareEmulator

Json = dict[str, Any]
Answer = tuple[int, Json]


def error(
    code: str, detail: str, *, category: str = "INVALID_REQUEST_ERROR", field: str | None = None
) -> Json:
    out = {"category": category, "code": code, "detail": detail}
    if field:
        out["field"] = field
    return out


def refuse(status: int, *errors: Json) -> Answer:
    return status, {"errors": list(errors)}


def cursor_of(data: Json) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def uncursor(cursor: object) -> Json | None:
    if not isinstance(cursor, str) or not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def limit_of(body: Json, default: int, maximum: int) -> int | None:
    limit = body.get("limit")
    if limit is None:
        return default
    return limit if isinstance(limit, int) and 1 <= limit <= maximum else None


def assign_id(emu: SquareEmulator, oid: str, mappings: list[Json]) -> str:
    """The object's id: a client id (``#...``) gets a new one, added to ``mappings`` and remembered."""
    if not oid.startswith("#"):
        return oid
    real = emu.new_id()
    mappings.append({"client_object_id": oid, "object_id": real})
    emu.client_ids[oid] = real
    return real
