"""Catalog images in the Square emulator: ``CreateCatalogImage`` as Square documents it.

A multipart request: a ``request`` part (JSON: ``idempotency_key``, ``image`` of type IMAGE, optional
``object_id`` to attach it to and ``is_primary``) and an ``image_file`` part. Refused as Square refuses
them: no file, a file over 15 MB or not JPEG, PJPEG, PNG or GIF, an image that is not an IMAGE object,
an ``object_id`` that is no item or variation, more than 250 images on one object. The image is
stored with a Square URL of its own; an item names it in ``image_ids``, and an upsert naming an image
that does not exist is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .emulator_answers import Answer, Json, error, refuse

if TYPE_CHECKING:
    from .emulator import SquareEmulator

IMAGE_TYPES = frozenset({"image/jpeg", "image/pjpeg", "image/png", "image/gif"})
MAX_BYTES = 15 * 1024 * 1024
MAX_PER_OBJECT = 250


async def create_image(emu: SquareEmulator, body: Json) -> Answer:
    """``body`` is the ``request`` part, with the ``image_file`` part described under ``image_file``
    (content type and digest; its bytes in ``emu.staged_files``) by the HTTP gate."""
    file = body.get("image_file")
    if not isinstance(file, dict) or file.get("sha256") not in emu.staged_files:
        return refuse(400, error("MISSING_REQUIRED_PARAMETER", "image_file is required.", field="image_file"))
    content_type, content = str(file.get("content_type") or ""), emu.staged_files[file["sha256"]]
    if content_type.split(";")[0].strip().lower() not in IMAGE_TYPES:
        return refuse(400, error("INVALID_CONTENT_TYPE", f"Unsupported image type {content_type}."))
    if not content or len(content) > MAX_BYTES:
        return refuse(400, error("INVALID_VALUE", "The image file must hold 1 byte to 15 MB."))
    image = body.get("image")
    if (
        not isinstance(image, dict)
        or image.get("type") != "IMAGE"
        or not str(image.get("id", "")).startswith("#")
    ):
        return refuse(400, error("INVALID_VALUE", "image: a new CatalogObject of type IMAGE.", field="image"))
    target: Json | None = None
    object_id = body.get("object_id")
    if object_id:
        target = emu.items.get(str(object_id)) or emu.variations.get(str(object_id))
        if target is None:
            return refuse(400, error("INVALID_VALUE", f"Object `{object_id}` not found.", field="object_id"))
        data = target.get("item_data") or target.get("item_variation_data") or {}
        if len(data.get("image_ids") or []) >= MAX_PER_OBJECT:
            return refuse(400, error("INVALID_VALUE", f"At most {MAX_PER_OBJECT} images an object."))
    image_id = emu.new_id()
    stored: Json = {
        "type": "IMAGE",
        "id": image_id,
        "version": emu.version_stamp(0),
        "updated_at": emu.now(),
        "is_deleted": False,
        "present_at_all_locations": True,
        "image_data": {
            **(image.get("image_data") or {}),
            "url": f"https://items-images-production.s3.us-west-2.amazonaws.com/files/{image_id}/original.jpeg",
        },
    }
    emu.images[image_id] = stored
    emu.image_files[image_id] = content
    if target is not None:
        data = target.get("item_data") or target.get("item_variation_data") or {}
        ids = list(data.get("image_ids") or [])
        data["image_ids"] = [image_id, *ids] if body.get("is_primary") else [*ids, image_id]
    return 200, {"image": stored}


def image_ids_problem(emu: SquareEmulator, oid: str, data: Json) -> Json | None:
    """An item naming images that do not exist, or too many."""
    ids = data.get("image_ids") or []
    if len(ids) > MAX_PER_OBJECT:
        return error("INVALID_VALUE", f"Object `{oid}`: at most {MAX_PER_OBJECT} image_ids.")
    missing = [i for i in ids if i not in emu.images]
    if missing:
        return error("INVALID_VALUE", f"Object `{oid}`: image `{missing[0]}` not found.", field="image_ids")
    return None
