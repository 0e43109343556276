"""Catalog endpoints of the Square emulator: locations, search by SKU (or by type: item options),
batch retrieve (with the images and item options the items name, when asked), batch upsert (items
with their variations, item options with their values).

An upsert replaces the whole object (omitted fields are cleared, as at Square), must carry the current
``version`` (else ``VERSION_MISMATCH``), and each batch is applied all-or-nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .emulator_answers import Answer, Json, cursor_of, error, limit_of, refuse, uncursor
from .emulator_items import apply_item, item_problem, price_problem
from .emulator_options import apply_option, option_problem

if TYPE_CHECKING:
    from .emulator import SquareEmulator


async def list_locations(emu: SquareEmulator, body: Json) -> Answer:
    return 200, {"locations": list(emu.locations.values())}


async def search_catalog(emu: SquareEmulator, body: Json) -> Answer:
    types = body.get("object_types") or ["ITEM", "ITEM_VARIATION"]
    query = body.get("query") or {}
    if "set_query" in query or "exact_query" in query:
        q = query.get("set_query") or query.get("exact_query") or {}
        values = q.get("attribute_values") if "set_query" in query else [q.get("attribute_value")]
        wanted = {str(v).lower() for v in values or []}
        name = str(q.get("attribute_name"))
        if name == "sku":  # matching is case-insensitive; the index is kept lower-case
            found = (emu.variations.get(emu.by_sku.get(v, "")) for v in wanted)
            pool = [o for o in found if o is not None and o["type"] in types]
        else:
            everything = [*emu.items.values(), *emu.variations.values(), *emu.item_options.values()]
            pool = [
                o for o in everything if o["type"] in types and str(_data(o).get(name, "")).lower() in wanted
            ]
    elif query:
        return refuse(400, error("BAD_REQUEST", "the emulator supports exact_query and set_query only"))
    else:
        everything = [*emu.items.values(), *emu.variations.values(), *emu.item_options.values()]
        pool = [o for o in everything if o["type"] in types]
    if not body.get("include_deleted_objects"):
        pool = [o for o in pool if not o.get("is_deleted")]
    pool.sort(key=lambda o: o["id"])
    limit = limit_of(body, 100, 1000) or 100  # the limit is advisory: out of range means the default
    start = int((uncursor(body.get("cursor")) or {}).get("offset", 0))
    page = [_with_variations(emu, o) if o["type"] == "ITEM" else o for o in pool[start : start + limit]]
    answer: Json = {"objects": page}
    if body.get("include_related_objects"):  # the item options and images the page's items name
        named = [
            str(ref.get(key))
            for o in page
            for ref, key in [
                *((r, "item_option_id") for r in _data(o).get("item_options") or []),
                *(({"id": i}, "id") for i in _data(o).get("image_ids") or []),
            ]
        ]
        answer["related_objects"] = _related(emu, named)
    if start + limit < len(pool):
        answer["cursor"] = cursor_of({"offset": start + limit})
    return 200, answer


async def retrieve_catalog(emu: SquareEmulator, body: Json) -> Answer:
    ids = body.get("object_ids")
    if not isinstance(ids, list) or not ids or len(ids) > 1000:
        return refuse(400, error("INVALID_VALUE", "object_ids: 1 to 1000 ids", field="object_ids"))
    objects = [
        emu.variations.get(i) or emu.items.get(i) or emu.item_options.get(i) or emu.images.get(i) for i in ids
    ]
    found = [o for o in objects if o and (body.get("include_deleted_objects") or not o.get("is_deleted"))]
    answer: Json = {"objects": found}
    if body.get("include_related_objects"):  # the images and item options the items name
        named = [
            str(ref)
            for o in found
            for ref in [
                *(r.get("item_option_id") for r in _data(o).get("item_options") or []),
                *(_data(o).get("image_ids") or []),
            ]
        ]
        answer["related_objects"] = _related(emu, named)
    return 200, answer


def _related(emu: SquareEmulator, ids: list[str]) -> list[Json]:
    found = (emu.item_options.get(i) or emu.images.get(i) for i in dict.fromkeys(ids))
    return [o for o in found if o is not None]


async def upsert_catalog(emu: SquareEmulator, body: Json) -> Answer:
    batches = body.get("batches")
    if not isinstance(batches, list) or not batches:
        return refuse(400, error("INVALID_VALUE", "batches: at least one batch", field="batches"))
    sizes = [len(b.get("objects") or []) for b in batches if isinstance(b, dict)]
    if len(sizes) != len(batches) or max(sizes) > 1000 or sum(sizes) > 10_000:
        return refuse(
            400, error("INVALID_VALUE", "at most 1,000 objects a batch, 10,000 a request", field="batches")
        )
    if emu.upsert_conflicts > 0:  # someone edited these objects between the caller's read and write
        emu.upsert_conflicts -= 1
        for batch in batches:
            for obj in batch["objects"]:
                if obj.get("id") in emu.variations:
                    emu.edit_variation(emu.sku_of(obj["id"]))
    written: list[Json] = []
    errors: list[Json] = []
    mappings: list[Json] = []
    for batch in batches:
        problems = [p for obj in batch["objects"] if (p := _upsert_problem(emu, obj))]
        if problems:
            errors.extend(problems)
            continue
        for obj in batch["objects"]:
            if obj.get("type") == "ITEM":
                written.append(apply_item(emu, obj, mappings))
            elif obj.get("type") == "ITEM_OPTION":
                written.append(apply_option(emu, obj, mappings))
            else:
                written.append(_apply_upsert(emu, obj))
    answer: Json = {"objects": written, "updated_at": emu.now(), "id_mappings": mappings}
    if errors:
        answer["errors"] = errors
    return (200 if written or not errors else 400), answer


def _with_variations(emu: SquareEmulator, item: Json) -> Json:
    """An item as Square answers it: its current variations nested, in their order."""
    mine = [
        v
        for v in emu.variations.values()
        if v["item_variation_data"].get("item_id") == item["id"] and not v.get("is_deleted")
    ]
    mine.sort(key=lambda v: int(v["item_variation_data"].get("ordinal") or 0))
    return {**item, "item_data": {**(item.get("item_data") or {}), "variations": mine}}


def _data(obj: Json) -> Json:
    data = obj.get("item_variation_data") or obj.get("item_data") or {}
    return data if isinstance(data, dict) else {}


def _upsert_problem(emu: SquareEmulator, obj: Json) -> Json | None:
    oid, kind = str(obj.get("id", "")), obj.get("type")
    if kind == "ITEM_OPTION":
        return option_problem(emu, obj)
    if kind == "ITEM" and (oid.startswith("#") or (obj.get("item_data") or {}).get("variations")):
        return item_problem(emu, obj)
    current = emu.variations.get(oid) if kind == "ITEM_VARIATION" else emu.items.get(oid)
    if current is None:
        return error("INVALID_VALUE", f"Object `{oid}` of type {kind} not found (the emulator only updates).")
    if obj.get("is_deleted"):
        return error("INVALID_VALUE", f"Object `{oid}`: is_deleted must not be true.")
    if obj.get("version") is not None and obj.get("version") != current["version"]:
        return error("VERSION_MISMATCH", f"Object version does not match for object `{oid}`.")
    if kind == "ITEM_VARIATION":
        data = _data(obj)
        if data.get("item_id") != current["item_variation_data"]["item_id"]:
            return error("INVALID_VALUE", f"Object `{oid}`: item_id cannot change.")
        return price_problem(emu, oid, data)
    return None


def _apply_upsert(emu: SquareEmulator, obj: Json) -> Json:
    """Square replaces the object with what was sent; read-only fields are Square's own."""
    store = emu.variations if obj["type"] == "ITEM_VARIATION" else emu.items
    current = store[obj["id"]]
    new = {k: v for k, v in obj.items() if k not in ("updated_at", "is_deleted")}
    new.update(version=emu.version_stamp(int(current["version"])), updated_at=emu.now(), is_deleted=False)
    if obj["type"] == "ITEM_VARIATION":
        new["item_variation_data"] = {
            **_data(obj),
            "ordinal": current["item_variation_data"].get("ordinal", 0),
        }
        old_sku = str(current["item_variation_data"].get("sku") or "").lower()
        emu.by_sku.pop(old_sku, None)
        if new["item_variation_data"].get("sku"):
            emu.by_sku[str(new["item_variation_data"]["sku"]).lower()] = obj["id"]
    store[obj["id"]] = new
    return new
