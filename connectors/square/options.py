"""Square item option sets: a listing's options (``Size``, ``Colour``) as ITEM_OPTION objects, each
with its ITEM_OPTION_VAL values, referenced by the item (``item_options``) and by each variation
(``item_option_values``, in the item's option order).

An item option's name is unique across the seller's catalog, so options are shared between items:
the ones a push needs are read first (SearchCatalogObjects, ``ITEM_OPTION``), a missing option is
created and a missing value added to its option (the option upserted with every value it had, each
at its version), in one BatchUpsertCatalogObjects before the items that use them, so that the items
reference real ids. Square allows at most 6 options on an item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from omnisync.sdk import ListingContent, ProtocolError

from .client import CATALOG_SEARCH, CATALOG_UPSERT, Json, SquareApi, as_dict, describe, square_errors

MAX_ITEM_OPTIONS = 6


@dataclass
class OptionIds:
    """One item option as Square holds it: its id and its values' ids by value name."""

    option_id: str
    values: dict[str, str] = field(default_factory=dict)


def client_id(*parts: str) -> str:
    return "#opt-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def wanted_values(listings: Sequence[ListingContent]) -> dict[str, list[str]]:
    """Option name -> the values the listings use, in first-seen order."""
    out: dict[str, list[str]] = {}
    for listing in listings:
        for name in listing.options:
            values = out.setdefault(name, [])
            for v in listing.variants:
                value = v.options.get(name)
                if value and value not in values:
                    values.append(value)
    return out


def option_upserts(wanted: Mapping[str, Sequence[str]], current: Mapping[str, Json]) -> list[Json]:
    """The ITEM_OPTION objects to write so every wanted value exists: new options whole, existing ones
    with their values as read (versions kept) plus the missing ones. Pure."""
    out: list[Json] = []
    for name, values in wanted.items():
        found = current.get(name)
        if found is None:
            oid = client_id(name)
            data: Json = {"name": name, "display_name": name, "show_colors": False, "values": []}
            obj: Json = {"type": "ITEM_OPTION", "id": oid, "item_option_data": data}
            have: list[str] = []
        else:
            oid = str(found["id"])
            data = dict(as_dict(found.get("item_option_data")))
            obj = {
                "type": "ITEM_OPTION",
                "id": oid,
                "version": found.get("version"),
                "item_option_data": data,
            }
            data["values"] = [
                {k: v for k, v in as_dict(x).items() if k not in ("updated_at", "is_deleted")}
                for x in data.get("values") or []
            ]
            have = [
                str(as_dict(as_dict(x).get("item_option_value_data")).get("name")) for x in data["values"]
            ]
        missing = [v for v in values if v not in have]
        if found is not None and not missing:
            continue
        for n, value in enumerate(missing, len(have)):
            data["values"].append(
                {
                    "type": "ITEM_OPTION_VAL",
                    "id": client_id(name, value),
                    "item_option_value_data": {"item_option_id": oid, "name": value, "ordinal": n},
                }
            )
        out.append(obj)
    return out


def option_ids(options: Sequence[Json]) -> dict[str, OptionIds]:
    """Option name -> its ids, from ITEM_OPTION objects as Square answers them."""
    out: dict[str, OptionIds] = {}
    for obj in options:
        data = as_dict(obj.get("item_option_data"))
        ids = OptionIds(str(obj.get("id")))
        for value in data.get("values") or []:
            vdata = as_dict(as_dict(value).get("item_option_value_data"))
            ids.values[str(vdata.get("name"))] = str(as_dict(value).get("id"))
        out[str(data.get("name"))] = ids
    return out


def with_options(item: Json, listing: ListingContent, options: Mapping[str, OptionIds]) -> Json:
    """The ITEM object with its ``item_options`` and each variation's ``item_option_values``."""
    if not listing.options:
        return item
    data = as_dict(item.get("item_data"))
    data["item_options"] = [{"item_option_id": options[name].option_id} for name in listing.options]
    by_sku = {v.channel_sku: v for v in listing.variants}
    for variation in data.get("variations") or []:
        vdata = as_dict(variation.get("item_variation_data"))
        chosen = by_sku[str(vdata.get("sku"))].options
        vdata["item_option_values"] = [
            {
                "item_option_id": options[name].option_id,
                "item_option_value_id": options[name].values[chosen[name]],
            }
            for name in listing.options
        ]
    return item


async def ensure_options(api: SquareApi, listings: Sequence[ListingContent]) -> dict[str, OptionIds]:
    """Every option (and value) the listings use exists at Square: read, completed, written once.
    ProtocolError when Square refuses the options (the listings then wait for the next push)."""
    wanted = wanted_values(listings)
    if not wanted:
        return {}
    current: dict[str, Json] = {}
    cursor: str | None = None
    while True:
        body: Json = {
            "object_types": ["ITEM_OPTION"],
            "limit": 1000,
            **({"cursor": cursor} if cursor else {}),
        }
        answer = api.parse(await api.post(CATALOG_SEARCH, body, "push_listings"), "SearchCatalogObjects")
        for obj in answer.get("objects") or []:
            name = str(as_dict(as_dict(obj).get("item_option_data")).get("name"))
            current[name] = as_dict(obj)
        cursor = answer.get("cursor") or None
        if cursor is None:
            break
    writes = option_upserts(wanted, current)
    if writes:
        key = "omnisync-opt-" + hashlib.sha256(repr(writes).encode()).hexdigest()[:48]
        response = await api.post(
            CATALOG_UPSERT, {"idempotency_key": key, "batches": [{"objects": writes}]}, "push_listings"
        )
        answer = response.json() if response.content else {}
        if response.status_code >= 400 or "errors" in answer:
            raise ProtocolError(f"Square refused the item options: {describe(square_errors(answer))}")
        for obj in answer.get("objects") or []:
            name = str(as_dict(as_dict(obj).get("item_option_data")).get("name"))
            current[name] = as_dict(obj)
    return {name: ids for name, ids in option_ids(list(current.values())).items() if name in wanted}
