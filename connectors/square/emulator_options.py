"""Item options in the Square emulator: ITEM_OPTION objects with their ITEM_OPTION_VAL values, and
the item and variation fields that reference them.

Refused, as Square refuses them: an option without a name, or named as another option is (names are
unique across the catalog), a value without a name or repeated in its option, an existing option
without its current version; an item with more than 6 options or naming an option that does not
exist; a variation of an item with options that does not name exactly one value of each, in the
item's order, or names a value of another option; two variations of an item with the same values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .emulator_answers import Json, assign_id, error

if TYPE_CHECKING:
    from .emulator import SquareEmulator

MAX_ITEM_OPTIONS = 6


def _real(emu: SquareEmulator, oid: str) -> str:
    return emu.client_ids.get(oid, oid)


def option_problem(emu: SquareEmulator, obj: Json) -> Json | None:
    oid = str(obj.get("id", ""))
    data = obj.get("item_option_data") or {}
    name = str(data.get("name") or "").strip()
    if not name:
        return error("MISSING_REQUIRED_PARAMETER", f"Object `{oid}`: item_option_data.name is required.")
    if not oid.startswith("#"):
        current = emu.item_options.get(oid)
        if current is None:
            return error("INVALID_VALUE", f"Object `{oid}` of type ITEM_OPTION not found.")
        if obj.get("version") != current["version"]:
            return error("VERSION_MISMATCH", f"Object version does not match for object `{oid}`.")
    taken = [o for o in emu.item_options.values() if o["item_option_data"]["name"].lower() == name.lower()]
    if any(o["id"] != oid for o in taken):
        return error("INVALID_VALUE", f"Object `{oid}`: an item option named `{name}` already exists.")
    seen: set[str] = set()
    for value in data.get("values") or []:
        vname = str((value.get("item_option_value_data") or {}).get("name") or "").strip()
        if not vname:
            return error("MISSING_REQUIRED_PARAMETER", f"Object `{value.get('id')}`: a value needs a name.")
        if vname.lower() in seen:
            return error("INVALID_VALUE", f"Object `{oid}`: the value `{vname}` repeats.")
        seen.add(vname.lower())
    return None


def apply_option(emu: SquareEmulator, obj: Json, mappings: list[Json]) -> Json:
    real = assign_id(emu, str(obj["id"]), mappings)
    previous = emu.item_options.get(real)
    stamp = emu.version_stamp(int(previous["version"]) if previous else 0)
    values = []
    for n, value in enumerate((obj.get("item_option_data") or {}).get("values") or []):
        vid = assign_id(emu, str(value.get("id")), mappings)
        vdata = {**(value.get("item_option_value_data") or {}), "item_option_id": real}
        vdata.setdefault("ordinal", n)
        values.append(
            {"type": "ITEM_OPTION_VAL", "id": vid, "version": stamp, "item_option_value_data": vdata}
        )
        emu.option_values[vid] = real
    data = {**(obj.get("item_option_data") or {}), "values": values}
    option = {"type": "ITEM_OPTION", "id": real, "version": stamp, "updated_at": emu.now(),
              "is_deleted": False, "item_option_data": data}  # fmt: skip
    emu.item_options[real] = option
    return option


def item_options_problem(emu: SquareEmulator, obj: Json) -> Json | None:
    """The item's ``item_options`` and its variations' ``item_option_values`` as Square checks them."""
    oid = str(obj.get("id", ""))
    data = obj.get("item_data") or {}
    options = [_real(emu, str(o.get("item_option_id"))) for o in data.get("item_options") or []]
    if len(options) > MAX_ITEM_OPTIONS:
        return error(
            "INVALID_VALUE", f"Object `{oid}`: an item can have at most {MAX_ITEM_OPTIONS} item options."
        )
    for option in options:
        if option not in emu.item_options:
            return error("INVALID_VALUE", f"Object `{oid}`: item option `{option}` not found.")
    combos: set[tuple[str, ...]] = set()
    for v in data.get("variations") or []:
        vid = str(v.get("id", ""))
        chosen = (v.get("item_variation_data") or {}).get("item_option_values") or []
        if not options:
            if chosen:
                return error(
                    "INVALID_VALUE", f"Object `{vid}`: item_option_values on an item without options."
                )
            continue
        names = [_real(emu, str(c.get("item_option_id"))) for c in chosen]
        if names != options:
            return error(
                "INVALID_VALUE",
                f"Object `{vid}`: item_option_values must give one value of each of the item's options,"
                " in order.",
            )
        values = tuple(_real(emu, str(c.get("item_option_value_id"))) for c in chosen)
        if any(emu.option_values.get(value) != option for value, option in zip(values, options, strict=True)):
            return error(
                "INVALID_VALUE", f"Object `{vid}`: an item option value does not belong to its option."
            )
        if values in combos:
            return error(
                "INVALID_VALUE", f"Object `{vid}`: another variation has the same item option values."
            )
        combos.add(values)
    return None


def resolved_options(emu: SquareEmulator, data: Json) -> Json:
    """The item data with its option references as real ids (client ids of this request resolved)."""
    out = dict(data)
    if out.get("item_options"):
        out["item_options"] = [
            {"item_option_id": _real(emu, str(o.get("item_option_id")))} for o in out["item_options"]
        ]
    return out


def resolved_values(emu: SquareEmulator, vdata: Json) -> Json:
    out = dict(vdata)
    if out.get("item_option_values"):
        out["item_option_values"] = [
            {"item_option_id": _real(emu, str(c.get("item_option_id"))),
             "item_option_value_id": _real(emu, str(c.get("item_option_value_id")))}
            for c in out["item_option_values"]
        ]  # fmt: skip
    return out
