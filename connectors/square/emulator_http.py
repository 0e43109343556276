"""The Square emulator's HTTP API (Starlette), answering in Square's documented shapes.

Every request passes the same gate, in Square's order: injected faults, Bearer token (401
``UNAUTHORIZED``), the rate budget (429 ``RATE_LIMITED``), the ``Square-Version`` format. Writes honour
``idempotency_key``: the same key and body answer the first result again, the same key with another
body is refused with 400 ``IDEMPOTENCY_KEY_REUSED``. Catalog writes hold the account's catalog lock
for ``catalog_write_s``; another write meanwhile gets 429 ("Catalog locked by prior request").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnisync.testing.harness import Fault

from .emulator_answers import Answer, Json, cursor_of, error, limit_of, refuse, uncursor
from .emulator_catalog import list_locations, retrieve_catalog, search_catalog, upsert_catalog
from .emulator_images import create_image
from .emulator_orders import count_record
from .timefmt import parse_rfc3339

if TYPE_CHECKING:
    from .emulator import SquareEmulator

Handler = Callable[["SquareEmulator", Json], Awaitable[Answer]]
ADJUSTMENTS = frozenset(
    {
        ("NONE", "IN_STOCK"),
        ("UNLINKED_RETURN", "IN_STOCK"),
        ("IN_STOCK", "SOLD"),
        ("IN_STOCK", "WASTE"),
        ("WASTE", "IN_STOCK"),
    }
)
"""State transitions the Inventory API accepts in an ADJUSTMENT (the read-only states are refused)."""
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DROP_HEADER = "x-emulator-drop-response"
"""Set on a TIMEOUT fault: the in-process transport turns the answer into a ReadTimeout."""


# -- inventory ------------------------------------------------------------------------------------------
async def change_inventory(emu: SquareEmulator, body: Json) -> Answer:
    changes = body.get("changes") or []
    if not isinstance(changes, list) or len(changes) > 100:
        return refuse(400, error("INVALID_VALUE", "changes: at most 100 changes a request", field="changes"))
    errors = [e for i, change in enumerate(changes) for e in _change_problems(emu, i, change)]
    if errors:  # a batch is applied all-or-nothing
        return refuse(400, *errors)
    created: list[Json] = []
    pairs: dict[tuple[str, str], None] = {}
    for change in changes:
        kind = change["type"]
        detail = dict(change["physical_count" if kind == "PHYSICAL_COUNT" else "adjustment"])
        vid, loc, units = detail["catalog_object_id"], detail["location_id"], int(Decimal(detail["quantity"]))
        if kind == "PHYSICAL_COUNT":
            emu.set_count(vid, loc, units)
        else:
            emu.move(vid, loc, detail["from_state"], detail["to_state"], units)
        detail.update(id=emu.new_id(26), created_at=emu.now(), catalog_object_type="ITEM_VARIATION")
        created.append(
            {"type": kind, ("physical_count" if kind == "PHYSICAL_COUNT" else "adjustment"): detail}
        )
        pairs[(vid, loc)] = None
    counts = [count_record(emu, vid, loc) for vid, loc in pairs]
    counts += [count_record(emu, v, lc, "WASTE") for v, lc in pairs if (v, lc, "WASTE") in emu.counts]
    if pairs:
        emu.emit("inventory.count.updated", "inventory_counts", emu.new_id(26), {"inventory_counts": counts})
    return 200, {"counts": counts, "changes": created}


def _change_problems(emu: SquareEmulator, i: int, change: object) -> list[Json]:
    if not isinstance(change, dict) or change.get("type") not in ("ADJUSTMENT", "PHYSICAL_COUNT"):
        return [
            error(
                "INVALID_VALUE", "type must be ADJUSTMENT or PHYSICAL_COUNT here", field=f"changes[{i}].type"
            )
        ]
    part = "physical_count" if change["type"] == "PHYSICAL_COUNT" else "adjustment"
    detail = change.get(part)
    at = f"changes[{i}].{part}"
    if not isinstance(detail, dict):
        return [error("INVALID_VALUE", f"{part} is required for this type", field=at)]
    problems = []
    vid = detail.get("catalog_object_id")
    if vid not in emu.variations or emu.variations[vid].get("is_deleted"):
        problems.append(
            error(
                "NOT_FOUND",
                f"Item variation with catalog object ID `{vid}` not found.",
                field=f"{at}.catalog_object_id",
            )
        )
    if detail.get("location_id") not in emu.locations:
        problems.append(error("NOT_FOUND", "Location not found.", field=f"{at}.location_id"))
    try:
        units = Decimal(str(detail.get("quantity")))
    except InvalidOperation:
        units = Decimal(-1)
    whole = units == units.to_integral_value()
    if part == "adjustment":
        if (detail.get("from_state"), detail.get("to_state")) not in ADJUSTMENTS:
            problems.append(error("INVALID_VALUE", "unsupported state transition", field=f"{at}.to_state"))
        if units <= 0 or not whole:
            problems.append(
                error("INVALID_VALUE", "quantity must be a positive whole number", field=f"{at}.quantity")
            )
    else:
        if detail.get("state") != "IN_STOCK":
            problems.append(error("INVALID_VALUE", "state must be IN_STOCK", field=f"{at}.state"))
        if units < 0 or not whole:
            problems.append(
                error("INVALID_VALUE", "quantity must be a whole number >= 0", field=f"{at}.quantity")
            )
    when, now = parse_rfc3339(detail.get("occurred_at")), emu.clock.now()
    if when is None or when < now - timedelta(hours=24) or when > now + timedelta(minutes=1):
        problems.append(
            error(
                "INVALID_VALUE", "occurred_at: RFC 3339, within the last 24 hours", field=f"{at}.occurred_at"
            )
        )
    return problems


async def retrieve_counts(emu: SquareEmulator, body: Json) -> Answer:
    limit = limit_of(body, 100, 1000)
    if limit is None:
        return refuse(400, error("INVALID_VALUE", "limit: 1 to 1000", field="limit"))
    ids, locs = set(body.get("catalog_object_ids") or ()), set(body.get("location_ids") or ())
    states = set(body.get("states") or ["IN_STOCK", "WASTE"])
    after = parse_rfc3339(body.get("updated_after"))
    if ids and locs:  # the usual question: look the pairs up instead of scanning every count
        candidates = [(v, lc, st) for v in ids for lc in locs for st in states if (v, lc, st) in emu.counts]
    else:
        candidates = list(emu.counts)
    keys = [
        k
        for k in candidates
        if (not ids or k[0] in ids) and (not locs or k[1] in locs) and k[2] in states
        and (after is None or (parse_rfc3339(emu.calculated_at[k]) or after) > after)
    ]  # fmt: skip
    keys.sort(key=lambda k: (emu.calculated_at[k], k), reverse=True)
    start = int((uncursor(body.get("cursor")) or {}).get("offset", 0))
    answer: Json = {"counts": [count_record(emu, *k) for k in keys[start : start + limit]]}
    if start + limit < len(keys):
        answer["cursor"] = cursor_of({"offset": start + limit})
    return 200, answer


async def retrieve_changes(emu: SquareEmulator, body: Json) -> Answer:
    """BatchRetrieveInventoryChanges over the emulator's ADJUSTMENT history, oldest first."""
    limit = limit_of(body, 100, 1000)
    if limit is None:
        return refuse(400, error("INVALID_VALUE", "limit: 1 to 1000", field="limit"))
    types = set(body.get("types") or ["PHYSICAL_COUNT", "ADJUSTMENT"])
    ids, locs = set(body.get("catalog_object_ids") or ()), set(body.get("location_ids") or ())
    states = set(body.get("states") or ())
    after = parse_rfc3339(body.get("updated_after"))
    found = [
        a
        for a in emu.adjustments
        if "ADJUSTMENT" in types
        and (not ids or a["catalog_object_id"] in ids)
        and (not locs or a["location_id"] in locs)
        and (not states or a["from_state"] in states or a["to_state"] in states)
        and (after is None or (parse_rfc3339(a["created_at"]) or after) >= after)
    ]
    start = int((uncursor(body.get("cursor")) or {}).get("offset", 0))
    answer: Json = {
        "changes": [{"type": "ADJUSTMENT", "adjustment": a} for a in found[start : start + limit]]
    }
    if start + limit < len(found):
        answer["cursor"] = cursor_of({"offset": start + limit})
    return 200, answer


# -- orders ---------------------------------------------------------------------------------------------
async def search_orders(emu: SquareEmulator, body: Json) -> Answer:
    locs = body.get("location_ids")
    if not isinstance(locs, list) or not 1 <= len(locs) <= 10:
        return refuse(400, error("INVALID_VALUE", "location_ids: 1 to 10 location ids", field="location_ids"))
    limit = limit_of(body, 500, 1000)
    if limit is None:
        return refuse(400, error("INVALID_VALUE", "limit: 1 to 1000", field="limit"))
    query = body.get("query") or {}
    flt, sort = query.get("filter") or {}, query.get("sort") or {}
    ranges = {k: v for k, v in (flt.get("date_time_filter") or {}).items() if v}
    if len(ranges) > 1:
        return refuse(
            400, error("INVALID_VALUE", "one time range at a time", field="query.filter.date_time_filter")
        )
    field = next(iter(ranges), "created_at")
    if ranges and str(sort.get("sort_field", "")).lower() != field:
        return refuse(
            400,
            error("INVALID_VALUE", "sort_field must match the date_time_filter field", field="query.sort"),
        )
    field = str(sort.get("sort_field") or field.upper()).lower()
    span = ranges.get(field) or {}
    state = uncursor(body.get("cursor")) or {"end": span.get("end_at") or emu.now(), "after": None}
    start, end = parse_rfc3339(span.get("start_at")), parse_rfc3339(state["end"])
    states = set((flt.get("state_filter") or {}).get("states") or ["OPEN", "COMPLETED", "CANCELED", "DRAFT"])

    def key(order: Json) -> tuple[str, str]:
        return (str(order.get(field) or ""), order["id"])

    chosen = []
    for order in emu.orders.values():
        moment = parse_rfc3339(order.get(field))
        if order["location_id"] not in locs or order["state"] not in states or moment is None:
            continue
        if (start and moment < start) or (end and moment > end):
            continue
        chosen.append(order)
    descending = sort.get("sort_order", "DESC") == "DESC"
    chosen.sort(key=key, reverse=descending)
    if state["after"] is not None:
        mark = tuple(state["after"])
        chosen = [o for o in chosen if (key(o) < mark if descending else key(o) > mark)]
    page = chosen[:limit]
    if body.get("return_entries"):
        answer: Json = {
            "order_entries": [
                {"order_id": o["id"], "version": o["version"], "location_id": o["location_id"]} for o in page
            ]
        }
    else:
        answer = {"orders": page}
    if len(chosen) > limit:
        answer["cursor"] = cursor_of({"end": state["end"], "after": list(key(page[-1]))})
    return 200, answer


# -- the gate -------------------------------------------------------------------------------------------
def _endpoint(
    emu: SquareEmulator, name: str, handler: Handler, *, writes: bool = False
) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        emu.calls[name] += 1
        fault = emu.faults.popleft() if emu.faults else None
        if fault is Fault.THROTTLE:
            emu.throttled += 1
            return _json(
                refuse(429, error("RATE_LIMITED", "Rate limit exceeded.", category="RATE_LIMIT_ERROR"))
            )
        if (
            fault is Fault.UNAUTHORIZED
            or request.headers.get("authorization") != f"Bearer {emu.access_token}"
        ):
            detail = "This request could not be authorized."
            return _json(refuse(401, error("UNAUTHORIZED", detail, category="AUTHENTICATION_ERROR")))
        if fault is Fault.SERVER_ERROR:
            return _json(
                refuse(
                    500, error("INTERNAL_SERVER_ERROR", "An internal error occurred.", category="API_ERROR")
                )
            )
        if not emu.take_token():
            emu.throttled += 1
            return _json(
                refuse(429, error("RATE_LIMITED", "Rate limit exceeded.", category="RATE_LIMIT_ERROR"))
            )
        version = request.headers.get("square-version")
        if version is not None:
            emu.square_versions[version] += 1
            if not _VERSION.match(version):
                return _json(
                    refuse(400, error("INVALID_SQUARE_VERSION_FORMAT", "Square-Version must be YYYY-MM-DD"))
                )
        try:
            if request.headers.get("content-type", "").startswith("multipart/form-data"):
                body = await _multipart(emu, request)
            else:
                body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _json(refuse(400, error("BAD_REQUEST", "the body is not a JSON object")))
        answer = await (_idempotent(emu, name, handler, body) if writes else handler(emu, body))
        response = _json(answer)
        if fault is Fault.TIMEOUT:  # processed, but the answer never reaches the caller
            if emu.hang_on_timeout:
                await emu.clock.sleep(120.0)
            else:
                response.headers[DROP_HEADER] = "1"
        return response

    return endpoint


async def _multipart(emu: SquareEmulator, request: Request) -> Json | None:
    """A multipart request (CreateCatalogImage): its JSON ``request`` part, the ``image_file`` part
    described in it (content type, digest) and its bytes staged for the handler."""
    form = await request.form()
    part = form.get("request")
    raw = await part.read() if isinstance(part, UploadFile) else (part or "{}")
    body = json.loads(raw or "{}")
    if not isinstance(body, dict):
        return None
    file = form.get("image_file")
    if isinstance(file, UploadFile):
        content = await file.read()
        digest = hashlib.sha256(content).hexdigest()
        emu.staged_files[digest] = content
        body["image_file"] = {"content_type": file.content_type or "", "sha256": digest}
    return body


async def _idempotent(emu: SquareEmulator, name: str, handler: Handler, body: Json) -> Answer:
    key = body.get("idempotency_key")
    if not isinstance(key, str) or not 1 <= len(key) <= 128:
        return refuse(
            400, error("INVALID_VALUE", "idempotency_key: 1 to 128 characters", field="idempotency_key")
        )
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    seen = emu.idempotency.get((name, key))
    if seen is not None:
        if seen[0] != digest:
            return refuse(
                400, error("IDEMPOTENCY_KEY_REUSED", "The idempotency key was used with another request.")
            )
        return seen[1], seen[2]
    if name == "BatchUpsertCatalogObjects" and emu.catalog_write_s > 0:
        now = emu.clock.monotonic()
        if now < emu.catalog_busy_until:
            emu.throttled += 1
            return refuse(
                429, error("RATE_LIMITED", "Catalog locked by prior request.", category="RATE_LIMIT_ERROR")
            )
        emu.catalog_busy_until = now + emu.catalog_write_s
        await emu.clock.sleep(emu.catalog_write_s)
    status, answer = await handler(emu, body)
    if status == 200:
        emu.idempotency[(name, key)] = (digest, status, answer)
    return status, answer


def _json(answer: Answer) -> Response:
    return JSONResponse(answer[1], status_code=answer[0])


def build_app(emu: SquareEmulator) -> Starlette:
    table: list[tuple[str, str, str, Handler, bool]] = [
        ("/v2/locations", "GET", "ListLocations", list_locations, False),
        ("/v2/catalog/search", "POST", "SearchCatalogObjects", search_catalog, False),
        ("/v2/catalog/batch-retrieve", "POST", "BatchRetrieveCatalogObjects", retrieve_catalog, False),
        ("/v2/catalog/batch-upsert", "POST", "BatchUpsertCatalogObjects", upsert_catalog, True),
        ("/v2/catalog/images", "POST", "CreateCatalogImage", create_image, True),
        ("/v2/inventory/changes/batch-create", "POST", "BatchChangeInventory", change_inventory, True),
        (
            "/v2/inventory/counts/batch-retrieve",
            "POST",
            "BatchRetrieveInventoryCounts",
            retrieve_counts,
            False,
        ),
        (
            "/v2/inventory/changes/batch-retrieve",
            "POST",
            "BatchRetrieveInventoryChanges",
            retrieve_changes,
            False,
        ),
        ("/v2/orders/search", "POST", "SearchOrders", search_orders, False),
    ]
    routes = [
        Route(path, _endpoint(emu, name, fn, writes=w), methods=[method])
        for path, method, name, fn, w in table
    ]
    return Starlette(routes=routes, exception_handlers={404: _no_route, 405: _no_route})


async def _no_route(request: Request, exc: Exception) -> Response:
    """An unknown path or method answers Square's error object, as the platform does, not plain text."""
    status = getattr(exc, "status_code", 404)
    code = "METHOD_NOT_ALLOWED" if status == 405 else "NOT_FOUND"
    detail = f"{request.method} {request.url.path} is not an endpoint of the Square API."
    return _json(refuse(status, error(code, detail)))
