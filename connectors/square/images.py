"""Square catalog images: Square takes image files, not URLs.

Each of a listing's image URLs is fetched (a plain HTTP client: the Square access token never goes to
an image host) and checked as Square documents its images (JPEG, PJPEG, PNG or GIF, at most 15 MB).
Its content digest (SHA-256) names the uploaded ``CatalogImage`` (``name``: ``omnisync:<digest>``,
then a key of the source URL and the host's validators, ``ETag`` and ``Last-Modified``), so an image
whose bytes the item already carries is not uploaded again, and at the listing's next update the URL
is asked conditionally (``If-None-Match`` / ``If-Modified-Since``): ``304 Not Modified`` keeps the
image without downloading it; new bytes at the same URL are a new image. A new one goes up through
``CreateCatalogImage`` (multipart: the JSON ``request`` part, then the ``image_file``) unattached,
with an idempotency key from the listing and the digest (a retry after a lost answer gets the same
image back), and the item's ``image_ids`` then name them in the catalogue's order. A URL that cannot
be fetched or is not an image Square takes is that listing's error; the other listings go on.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from omnisync.sdk import ProtocolError, op

from .client import Json, as_dict, describe, raise_for_square, square_errors

IMAGES = "/v2/catalog/images"
IMAGE_TYPES = frozenset({"image/jpeg", "image/pjpeg", "image/png", "image/gif"})
"""The formats Square takes for a catalog image."""
MAX_IMAGE_BYTES = 15 * 1024 * 1024
"""Square: "An image file cannot be larger than 15 MB"."""
NAME_PREFIX = "omnisync:"
FETCH_TIMEOUT_S = 20.0


class ImageProblem(Exception):
    """An image URL that gives no image Square takes: the listing's error, in one line."""


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def shown(url: str) -> str:
    """The URL without its query string (a signed URL's signature is a secret of sorts)."""
    return url.split("?", 1)[0].split("#", 1)[0]


def url_key(url: str) -> str:
    """A short key of the source URL (the URL itself, signature and all, never goes to Square)."""
    return hashlib.sha256(url.encode()).hexdigest()[:24]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def image_name(image: Fetched) -> str:
    """``omnisync:<digest> u:<url key>[ e:<ETag>][ m:<Last-Modified>]`` (validators base64url)."""
    parts = [NAME_PREFIX + image.digest, "u:" + url_key(image.url)]
    if image.etag:
        parts.append("e:" + _b64(image.etag))
    if image.last_modified:
        parts.append("m:" + _b64(image.last_modified))
    return " ".join(parts)


@dataclass(frozen=True)
class Attached:
    """An image the item carries that omnisync uploaded, as its name describes it."""

    image_id: str
    digest: str
    url_key: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def parse_name(image_id: str, name: str) -> Attached | None:
    if not name.startswith(NAME_PREFIX):
        return None
    head, *rest = name[len(NAME_PREFIX) :].split(" ")
    fields = {part[:2]: part[2:] for part in rest if len(part) > 2 and part[1] == ":"}
    etag = _unb64(fields["e:"]) if "e:" in fields else None
    modified = _unb64(fields["m:"]) if "m:" in fields else None
    return Attached(image_id, head, fields.get("u:"), etag, modified)


def attached_images(item: Json | None, related: Mapping[str, Json]) -> list[Attached]:
    """The images the item carries that omnisync uploaded, in the item's order."""
    found: list[Attached] = []
    for image_id in as_dict(as_dict(item).get("item_data")).get("image_ids") or []:
        name = str(as_dict(as_dict(related.get(str(image_id))).get("image_data")).get("name") or "")
        image = parse_name(str(image_id), name)
        if image is not None:
            found.append(image)
    return found


def image_type(response: httpx.Response) -> str:
    """The response's media type if Square takes it (the Content-Type, else the file's magic bytes)."""
    declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared in IMAGE_TYPES:
        return str(declared)
    head = response.content[:8]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    raise ImageProblem(f"not a JPEG, PNG or GIF ({declared or 'no content type'})")


class ImageFetcher:
    """GETs image URLs with a client of its own: no Square credentials, redirects followed."""

    def __init__(self, http: httpx.AsyncClient | None = None) -> None:
        self.http = http or httpx.AsyncClient(follow_redirects=True, timeout=FETCH_TIMEOUT_S)

    async def fetch(self, url: str, known: Attached | None = None) -> Fetched | None:
        """The image at ``url``; None when ``known`` (the image uploaded from it) is still what the
        host serves (``304 Not Modified`` to a conditional GET with its validators)."""
        if not url.startswith(("https://", "http://")):
            raise ImageProblem("not an http(s) URL")
        headers = {}
        if known is not None and known.etag:
            headers["If-None-Match"] = known.etag
        if known is not None and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        try:
            response = await self.http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise ImageProblem(f"could not be fetched ({type(exc).__name__})") from exc
        if response.status_code == 304 and headers:
            return None
        if response.status_code != 200:
            raise ImageProblem(f"answered HTTP {response.status_code}")
        if len(response.content) > MAX_IMAGE_BYTES:
            raise ImageProblem(f"{len(response.content):,} bytes: Square takes at most 15 MB")
        if not response.content:
            raise ImageProblem("is empty")
        return Fetched(
            url,
            response.content,
            image_type(response),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    async def aclose(self) -> None:
        await self.http.aclose()


async def create_image(http: httpx.AsyncClient, channel: str, key: str, image: Fetched) -> str:
    """``CreateCatalogImage``: the file uploaded, unattached; Square's id for it."""
    digest = image.digest
    request = {
        "idempotency_key": "omnisync-img-" + hashlib.sha256(f"{key}\x1f{digest}".encode()).hexdigest()[:48],
        "image": {"type": "IMAGE", "id": "#image", "image_data": {"name": image_name(image)}},
    }
    suffix = image.content_type.rsplit("/", 1)[-1].replace("pjpeg", "jpeg")
    files = {
        "request": (None, json.dumps(request).encode(), "application/json; charset=utf-8"),
        "image_file": (f"{digest[:16]}.{suffix}", image.content, image.content_type),
    }
    response = await http.post(IMAGES, files=files, extensions=op("push_listings"))
    if response.status_code in (401, 403, 429) or response.status_code >= 500:
        raise_for_square(response, channel, "CreateCatalogImage")
    try:
        answer = response.json()
    except ValueError as exc:
        raise ProtocolError("CreateCatalogImage answer is not JSON", channel=channel) from exc
    image_id = as_dict(as_dict(answer).get("image")).get("id")
    if response.status_code != 200 or not image_id:
        raise ImageProblem(f"Square refused it: {describe(square_errors(answer)) or response.status_code}")
    return str(image_id)


async def upload_images(
    fetcher: ImageFetcher,
    http: httpx.AsyncClient,
    channel: str,
    key: str,
    urls: Sequence[str],
    have: Sequence[Attached],
) -> list[str]:
    """The image ids for ``urls`` in order: those the item carries already (the host answers 304
    Not Modified, or the same bytes) kept, the others uploaded. Raises :class:`ImageProblem` naming
    the image; Square's retryable errors pass."""
    ids: list[str] = []
    uploaded: dict[str, str] = {}
    for image in reversed(have):  # the first of the same bytes wins
        uploaded[image.digest] = image.image_id
    from_url = {image.url_key: image for image in have if image.url_key}
    for n, url in enumerate(urls, 1):
        try:
            fetched = await fetcher.fetch(url, from_url.get(url_key(url)))
            if fetched is None:
                image_id = from_url[url_key(url)].image_id
            else:
                if fetched.digest not in uploaded:
                    uploaded[fetched.digest] = await create_image(http, channel, key, fetched)
                image_id = uploaded[fetched.digest]
        except ImageProblem as exc:
            raise ImageProblem(f"image {n} ({shown(url)}): {exc}") from None
        if image_id not in ids:
            ids.append(image_id)
    return ids
