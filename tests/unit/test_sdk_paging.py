"""Declarative paginators: each style walks every page once and a loop is an error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omnisync.sdk import ProtocolError
from omnisync.sdk.paging import Cursor, LinkHeader, Offset, PageNumber, pages

ITEMS = list(range(7))


def _client(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url="https://api.test", transport=httpx.MockTransport(handler))


async def _collect(client: httpx.AsyncClient, paginator: Any) -> list[int]:
    out: list[int] = []
    async for response in pages(client, "/items", paginator, items=lambda r: r.json()["items"]):
        out.extend(response.json()["items"])
    return out


async def test_cursor() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        at = int(request.url.params.get("cursor") or 0)
        nxt = at + 3 if at + 3 < len(ITEMS) else None
        return httpx.Response(200, json={"items": ITEMS[at : at + 3], "meta": {"next": nxt}})

    assert await _collect(_client(handler), Cursor("cursor", "meta.next")) == ITEMS


async def test_page_number() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["per_page"])
        return httpx.Response(200, json={"items": ITEMS[(page - 1) * size : page * size]})

    assert await _collect(_client(handler), PageNumber(size=3)) == ITEMS


async def test_offset() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        at, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        return httpx.Response(200, json={"items": ITEMS[at : at + limit]})

    assert await _collect(_client(handler), Offset(limit=2)) == ITEMS


async def test_link_header() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        at = int(request.url.params.get("from") or 0)
        headers = {"Link": f'<https://api.test/items?from={at + 3}>; rel="next"'} if at + 3 < 7 else {}
        return httpx.Response(200, json={"items": ITEMS[at : at + 3]}, headers=headers)

    assert await _collect(_client(handler), LinkHeader()) == ITEMS


async def test_a_loop_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [1], "next_cursor": "same"})

    with pytest.raises(ProtocolError, match="already returned"):
        await _collect(_client(handler), Cursor())
