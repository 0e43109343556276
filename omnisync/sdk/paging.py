"""Declarative paginators: say how the API pages, get every page's response, loops detected.

    from omnisync.sdk.paging import PageNumber, pages

    async for response in pages(self.client, "/orders", PageNumber(size=50), params={"status": "any"},
                                extensions=op(Operation.PULL_ORDERS), items=lambda r: r.json()["orders"]):
        ...

Each paginator is a pure rule, ``follow(response, params, count)``: the next request's
``(url, params)``, or None at the end. :func:`pages` drives it and refuses a request it already
sent (a loop) instead of spinning forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sized
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from .errors import ProtocolError

Params = dict[str, Any]


class Paginator(Protocol):
    def first(self, params: Mapping[str, Any]) -> Params: ...

    def follow(
        self, response: httpx.Response, params: Params, count: int
    ) -> tuple[str | None, Params] | None:
        """The next request (None for the same URL) or None when ``response`` was the last page."""
        ...


def _dig(body: Any, path: str) -> Any:
    for key in path.split("."):
        body = body.get(key) if isinstance(body, Mapping) else None
    return body


@dataclass(frozen=True)
class Cursor:
    """A token from the answer's body (``field``, dotted path) sent back as ``param``; none means done."""

    param: str = "cursor"
    field: str = "next_cursor"

    def first(self, params: Mapping[str, Any]) -> Params:
        return dict(params)

    def follow(
        self, response: httpx.Response, params: Params, count: int
    ) -> tuple[str | None, Params] | None:
        token = _dig(response.json(), self.field)
        return None if token in (None, "") else (None, {**params, self.param: token})


@dataclass(frozen=True)
class PageNumber:
    """``page=1, 2, ...`` with ``per_page=size``; a page shorter than ``size`` is the last."""

    param: str = "page"
    size_param: str = "per_page"
    size: int = 100
    start: int = 1

    def first(self, params: Mapping[str, Any]) -> Params:
        return {**params, self.param: self.start, self.size_param: self.size}

    def follow(
        self, response: httpx.Response, params: Params, count: int
    ) -> tuple[str | None, Params] | None:
        return None if count < self.size else (None, {**params, self.param: int(params[self.param]) + 1})


@dataclass(frozen=True)
class Offset:
    """``offset=0, limit, 2*limit, ...``; a page shorter than ``limit`` is the last."""

    param: str = "offset"
    limit_param: str = "limit"
    limit: int = 100

    def first(self, params: Mapping[str, Any]) -> Params:
        return {**params, self.param: 0, self.limit_param: self.limit}

    def follow(
        self, response: httpx.Response, params: Params, count: int
    ) -> tuple[str | None, Params] | None:
        return None if count < self.limit else (None, {**params, self.param: int(params[self.param]) + count})


@dataclass(frozen=True)
class LinkHeader:
    """RFC 8288 ``Link: <url>; rel="next"``; the next URL carries its own query."""

    def first(self, params: Mapping[str, Any]) -> Params:
        return dict(params)

    def follow(
        self, response: httpx.Response, params: Params, count: int
    ) -> tuple[str | None, Params] | None:
        nxt = response.links.get("next", {}).get("url")
        return None if not nxt else (str(nxt), {})


async def pages(
    client: httpx.AsyncClient,
    url: str,
    paginator: Paginator,
    *,
    items: Callable[[httpx.Response], Sized],
    params: Mapping[str, Any] | None = None,
    extensions: Mapping[str, Any] | None = None,
    max_pages: int = 100_000,
    channel: str | None = None,
) -> AsyncIterator[httpx.Response]:
    """GET every page in turn. ``items`` counts a page's items (for page-number and offset rules).

    Raises ProtocolError when the next request repeats one already sent, or past ``max_pages``.
    """
    current: Params = paginator.first(params or {})
    seen: set[str] = set()
    for _ in range(max_pages):
        query = current or None  # a Link-header URL carries its own query: do not replace it
        key = str(httpx.URL(url).copy_merge_params(query or {}))
        if key in seen:
            raise ProtocolError("pagination asked for a page it already returned", channel=channel)
        seen.add(key)
        response = await client.get(url, params=query, extensions=dict(extensions or {}))
        yield response
        nxt = paginator.follow(response, current, len(items(response)))
        if nxt is None:
            return
        url = nxt[0] or url
        current = nxt[1]
    raise ProtocolError(f"pagination did not end within {max_pages} pages", channel=channel)
