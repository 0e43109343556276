"""Item upserts in the Square emulator: an ITEM written with its nested ITEM_VARIATIONs.

A new object carries a client id starting with ``#`` and is answered with its real id in
``id_mappings``; an existing item must carry its current ``version``, and so must each existing
variation it nests. The item is replaced by what was sent: a variation left out is deleted. Refused,
as Square refuses them: no name, a name over 512 code points, ``description_html`` over 65,535, no
variation, a variation name over 255, a price that is not an integer amount in the seller's currency,
``image_ids`` naming no image (:mod:`.emulator_images`), and what :mod:`.emulator_options` refuses of
the item's option set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .emulator_answers import Json, assign_id, error
from .emulator_images import image_ids_problem
from .emulator_options import item_options_problem, resolved_options, resolved_values

if TYPE_CHECKING:
    from .emulator import SquareEmulator

NAME_MAX = 512
DESCRIPTION_HTML_MAX = 65_535
VARIATION_NAME_MAX = 255


def _version_problem(obj: Json, current: Json | None) -> Json | None:
    oid = str(obj.get("id", ""))
    if current is None:
        return error("INVALID_VALUE", f"Object `{oid}` of type {obj.get('type')} not found.")
    if obj.get("version") != current["version"]:
        return error("VERSION_MISMATCH", f"Object version does not match for object `{oid}`.")
    return None


def item_problem(emu: SquareEmulator, obj: Json) -> Json | None:
    """Why Square refuses this ITEM upsert (None: it is accepted)."""
    oid = str(obj.get("id", ""))
    if not oid.startswith("#") and (p := _version_problem(obj, emu.items.get(oid))):
        return p
    data = obj.get("item_data") or {}
    name = str(data.get("name") or "")
    if not name.strip():
        return error(
            "MISSING_REQUIRED_PARAMETER", f"Object `{oid}`: item_data.name is required.", field="name"
        )
    if len(name) > NAME_MAX:
        return error("INVALID_VALUE", f"Object `{oid}`: name is longer than {NAME_MAX}.", field="name")
    if len(str(data.get("description_html") or "")) > DESCRIPTION_HTML_MAX:
        return error(
            "INVALID_VALUE", f"Object `{oid}`: description_html is longer than {DESCRIPTION_HTML_MAX}."
        )
    if (p := image_ids_problem(emu, oid, data)) is not None:
        return p
    variations = data.get("variations") or []
    if not variations:
        return error("INVALID_VALUE", f"Object `{oid}`: an item must have at least one variation.")
    for v in variations:
        vid = str(v.get("id", ""))
        vdata = v.get("item_variation_data") or {}
        if not vid.startswith("#"):
            if (p := _version_problem(v, emu.variations.get(vid))) is not None:
                return p
            if emu.variations[vid]["item_variation_data"]["item_id"] != oid:
                return error("INVALID_VALUE", f"Object `{vid}`: item_id cannot change.")
        if len(str(vdata.get("name") or "")) > VARIATION_NAME_MAX:
            return error("INVALID_VALUE", f"Object `{vid}`: name is longer than {VARIATION_NAME_MAX}.")
        if (p := price_problem(emu, vid, vdata)) is not None:
            return p
    return item_options_problem(emu, obj)


def price_problem(emu: SquareEmulator, oid: str, data: Json) -> Json | None:
    """A variation's ``price_money`` as Square refuses it: not an integer amount in the seller's currency."""
    money = data.get("price_money") or {}
    if money and (not isinstance(money.get("amount"), int) or money.get("currency") != emu.currency):
        return error(
            "INVALID_VALUE", f"Object `{oid}`: price_money must be an integer amount in {emu.currency}."
        )
    return None


def shown_item(emu: SquareEmulator, item_id: str) -> dict[str, Any] | None:
    """The item as the POS shows it: name, whether it is sold (not archived), its variations' SKUs."""
    item = emu.items.get(item_id)
    if item is None:
        return None
    data = item["item_data"]
    return {
        "id": item_id,
        "title": data.get("name"),
        "published": not data.get("is_archived", False),
        "variants": [v["item_variation_data"].get("sku") for v in data.get("variations") or []],
        "variation_names": [v["item_variation_data"].get("name") for v in data.get("variations") or []],
        "description_html": data.get("description_html"),
    }


def apply_item(emu: SquareEmulator, obj: Json, mappings: list[Json]) -> Json:
    """Write the item and its variations; new ids are added to ``mappings``."""
    item_id = assign_id(emu, str(obj["id"]), mappings)
    previous = emu.items.get(item_id)
    stamp = emu.version_stamp(int(previous["version"]) if previous else 0)
    data = resolved_options(emu, dict(obj.get("item_data") or {}))
    kept: list[Json] = []
    for position, v in enumerate(data.get("variations") or []):
        vid = assign_id(emu, str(v["id"]), mappings)
        old = emu.variations.get(vid)
        if old is not None:
            emu.by_sku.pop(str(old["item_variation_data"].get("sku") or "").lower(), None)
        vdata = {
            **resolved_values(emu, v.get("item_variation_data") or {}),
            "item_id": item_id,
            "ordinal": position,
        }
        variation: dict[str, Any] = {
            "type": "ITEM_VARIATION",
            "id": vid,
            "version": stamp,
            "updated_at": emu.now(),
            "is_deleted": False,
            "present_at_all_locations": obj.get("present_at_all_locations", True),
            "item_variation_data": vdata,
        }
        emu.variations[vid] = variation
        if old is not None and old["item_variation_data"].get("item_id") != item_id:
            emu.item_variations.get(old["item_variation_data"].get("item_id"), set()).discard(vid)
        emu.item_variations.setdefault(item_id, set()).add(vid)
        if vdata.get("sku"):
            emu.by_sku[str(vdata["sku"]).lower()] = vid
        kept.append(variation)
    kept_ids = {k["id"] for k in kept}
    for vid in sorted(emu.item_variations.get(item_id, set()) - kept_ids):
        old = emu.variations[vid]
        if not old["is_deleted"]:
            old["is_deleted"] = True
            sku_key = str(old["item_variation_data"].get("sku") or "").lower()
            if emu.by_sku.get(sku_key) == vid:
                del emu.by_sku[sku_key]
    item = {
        "type": "ITEM",
        "id": item_id,
        "version": stamp,
        "updated_at": emu.now(),
        "is_deleted": False,
        "present_at_all_locations": obj.get("present_at_all_locations", True),
        "item_data": {**data, "variations": kept},
    }
    emu.items[item_id] = item
    return item
