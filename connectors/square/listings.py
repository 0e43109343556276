"""Square listings: an ITEM with its ITEM_VARIATIONs through ``BatchUpsertCatalogObjects``.

Each listing is one batch (Square applies a batch all-or-nothing, so one refused item never takes
another down), in one request per call, under the account's catalog lock (one catalog write at a
time). A new item and its variations carry client ids (``#...``) mapped to Square's ids in the answer;
an existing one is read first (BatchRetrieveCatalogObjects) for its ``version`` and its variations'
(an upsert replaces the item: a variation left out is deleted). Variations are named by their option
values (``Red / M``) and the item carries its option set (:mod:`.options`: ITEM_OPTION objects written
first, shared across items by name). Unpublishing archives the item (``is_archived``): never deleted.
Images go up as files first (:mod:`.images`: fetched, uploaded once per content digest) and the item
names them in ``image_ids``; with ``catalog_images: false`` the item keeps the images it has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from omnisync.sdk import (
    ConnectorContext,
    ListingContent,
    ListingRef,
    ListingResult,
    ProtocolError,
    RetryableError,
    chunked,
)

from .client import MAX_RETRIEVE_IDS, Json, SquareApi, as_dict, describe, raise_for_square, square_errors
from .images import ImageFetcher, ImageProblem, attached_images, upload_images
from .inventory import ITEM_ID, VARIATION_ID
from .options import ensure_options, with_options
from .prices import catalog_lock, to_minor
from .settings import SquareSettings


def client_id(*parts: str) -> str:
    return "#" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def known_item(listing: ListingContent) -> str | None:
    """The Square item the listing is: its own id, else the item its variations were found in (a
    listing linked by SKU knows its variations' ids only; Square never moves a variation to another
    item)."""
    return listing.ids.get(ITEM_ID) or next(
        (v.ids[ITEM_ID] for v in listing.variants if v.ids.get(ITEM_ID)), None
    )


def item_object(listing: ListingContent, current: Mapping[str, Json], archived: bool | None = None) -> Json:
    """The ITEM to upsert for ``listing``; ``current`` holds the objects read (by id) for versions."""
    item_id = known_item(listing) or client_id(listing.key)
    variations = []
    for v in listing.variants:
        vid = v.ids.get(VARIATION_ID) or client_id(listing.key, v.channel_sku)
        data: Json = {
            "item_id": item_id,
            "name": " / ".join(v.options.values()) or "Regular",
            "sku": v.channel_sku,
            "pricing_type": "FIXED_PRICING",
            "price_money": {"amount": to_minor(v.price, v.currency), "currency": v.currency},
            "track_inventory": True,
            "sellable": True,
            "stockable": True,
        }
        if v.barcode:
            data["upc"] = v.barcode
        variation: Json = {
            "type": "ITEM_VARIATION",
            "id": vid,
            "present_at_all_locations": True,
            "item_variation_data": data,
        }
        if vid in current:
            variation["version"] = current[vid].get("version")
        variations.append(variation)
    obj: Json = {
        "type": "ITEM",
        "id": item_id,
        "present_at_all_locations": True,
        "item_data": {
            "name": listing.title,
            "description_html": listing.description,
            "is_archived": (not listing.publish) if archived is None else archived,
            "product_type": "REGULAR",
            "variations": variations,
        },
    }
    if item_id in current:
        obj["version"] = current[item_id].get("version")
    return obj


def with_images(item: Json, image_ids: Sequence[str]) -> Json:
    """The item naming its images in order (none: it carries none)."""
    return {**item, "item_data": {**item["item_data"], "image_ids": list(image_ids)}}


READ_ONLY = ("updated_at", "is_deleted")


def _writable(item: Json, **changes: object) -> Json:
    """The item as read, without read-only fields (its nested variations' too), with ``changes`` to
    its item_data: an upsert replaces the whole object."""
    data = dict(as_dict(item.get("item_data")))
    data["variations"] = [
        {
            **{k: v for k, v in as_dict(x).items() if k not in READ_ONLY},
            "item_variation_data": {
                k: v for k, v in as_dict(as_dict(x).get("item_variation_data")).items() if k != "ordinal"
            },
        }
        for x in data.get("variations") or []
    ]
    return {**{k: v for k, v in item.items() if k not in READ_ONLY}, "item_data": {**data, **changes}}


class ListingWriter:
    def __init__(
        self,
        api: SquareApi,
        settings: SquareSettings,
        context: ConnectorContext,
        fetcher: ImageFetcher | None = None,
    ) -> None:
        self.api = api
        self.settings = settings
        self.context = context
        self.fetcher = fetcher or ImageFetcher()

    async def _current(self, ids: list[str], related: dict[str, Json] | None = None) -> dict[str, Json]:
        """The objects by id; the images (and item options) they name into ``related`` when given."""
        found: dict[str, Json] = {}
        for chunk in chunked(ids, MAX_RETRIEVE_IDS):
            objects, others = await self.api.retrieve_related(chunk, "push_listings", related is not None)
            for obj in objects:
                if not obj.get("is_deleted"):
                    found[str(obj.get("id"))] = obj
            if related is not None:
                related.update((str(o.get("id")), o) for o in others)
        return found

    async def _images(
        self, listings: Sequence[ListingContent], current: Mapping[str, Json], related: Mapping[str, Json]
    ) -> tuple[dict[str, list[str]], dict[str, ListingResult]]:
        """Each listing's image ids (uploaded where new), or its result when its images fail."""
        ids: dict[str, list[str]] = {}
        failed: dict[str, ListingResult] = {}
        for c in listings:
            item = current.get(known_item(c) or "")
            if not self.settings.catalog_images:
                ids[c.key] = [str(i) for i in as_dict(as_dict(item).get("item_data")).get("image_ids") or []]
                continue
            try:
                ids[c.key] = await upload_images(
                    self.fetcher,
                    self.api.http,
                    self.context.channel,
                    c.key,
                    c.images,
                    attached_images(item, related),
                )
            except ImageProblem as exc:
                failed[c.key] = ListingResult.rejected(c.key, str(exc))
            except (RetryableError, ProtocolError) as exc:
                failed[c.key] = ListingResult.retry(c.key, f"image upload: {exc.message}")
        return ids, failed

    async def upsert(self, listings: Sequence[ListingContent]) -> list[ListingResult]:
        async with catalog_lock(self.settings):
            known = [
                i
                for c in listings
                for i in (known_item(c), *(v.ids.get(VARIATION_ID) for v in c.variants))
                if i
            ]
            related: dict[str, Json] = {}
            try:
                current = await self._current(known, related)
                options = await ensure_options(self.api, listings)
            except (RetryableError, ProtocolError) as exc:
                return [ListingResult.retry(c.key, exc.message) for c in listings]
            images, failed = await self._images(listings, current, related)
            todo = [c for c in listings if c.key not in failed]
            objects = [
                with_images(with_options(item_object(c, current), c, options), images[c.key]) for c in todo
            ]
            written = await self._write(todo, objects) if todo else []
            done = {r.key: r for r in [*written, *failed.values()]}
            return [done[c.key] for c in listings]

    async def unpublish(self, refs: Sequence[ListingRef]) -> list[ListingResult]:
        async with catalog_lock(self.settings):
            ids = [
                r.ids.get(ITEM_ID)
                or next((v.get(ITEM_ID) for v in r.variant_ids.values() if v.get(ITEM_ID)), "")
                for r in refs
            ]
            current = await self._current([i for i in ids if i])
            out: list[ListingResult] = []
            writes: list[tuple[str, Json]] = []
            for ref, item_id in zip(refs, ids, strict=True):
                item = current.get(item_id or "")
                if item is None:
                    out.append(ListingResult.rejected(ref.key, "Square has no item for this listing"))
                    continue
                writes.append((ref.key, _writable(item, is_archived=True)))
            if not writes:
                return out
            done = {r.key: r for r in await self._send([k for k, _ in writes], [o for _, o in writes])}
            return [*out, *done.values()]

    async def _write(self, listings: Sequence[ListingContent], objects: list[Json]) -> list[ListingResult]:
        return await self._send([c.key for c in listings], objects)

    async def _send(self, keys: list[str], objects: list[Json]) -> list[ListingResult]:
        key = "omnisync-lst-" + hashlib.sha256(repr(objects).encode()).hexdigest()[:48]
        body: Json = {"idempotency_key": key, "batches": [{"objects": [o]} for o in objects]}
        try:
            response = await self.api.post("/v2/catalog/batch-upsert", body, "push_listings")
            if response.status_code in (401, 403, 429) or response.status_code >= 500:
                raise_for_square(response, self.context.channel, "BatchUpsertCatalogObjects")
            answer = response.json()
        except (RetryableError, ProtocolError) as exc:
            return [ListingResult.retry(k, exc.message) for k in keys]
        except ValueError:
            return [ListingResult.retry(k, "BatchUpsertCatalogObjects answer is not JSON") for k in keys]
        mapped = {
            str(m.get("client_object_id")): str(m.get("object_id")) for m in answer.get("id_mappings") or []
        }
        written = {str(o.get("id")): o for o in answer.get("objects") or [] if isinstance(o, dict)}
        errors = square_errors(answer)
        results = []
        for k, obj in zip(keys, objects, strict=True):
            item_id = mapped.get(str(obj["id"]), str(obj["id"]))
            item = written.get(item_id)
            if item is None:
                mine = [
                    e
                    for e in errors
                    if str(obj["id"]) in e.detail
                    or any(str(v["id"]) in e.detail for v in obj["item_data"]["variations"])
                ]
                results.append(
                    ListingResult.rejected(k, f"Square: {describe(mine or errors) or 'not written'}")
                )
                continue
            variants = {
                str(as_dict(v.get("item_variation_data")).get("sku")): {
                    VARIATION_ID: str(v["id"]),
                    ITEM_ID: item_id,
                }
                for v in as_dict(item.get("item_data")).get("variations") or []
            }
            results.append(ListingResult.accepted(k, {ITEM_ID: item_id}, variants))
        return results
