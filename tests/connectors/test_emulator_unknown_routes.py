"""Unknown routes on the Square and Meta emulators answer the platform's JSON error, not plain text
(issue 14, point 17)."""

from __future__ import annotations

import httpx
import pytest
from omnisync_connectors.instagram.emulator import InstagramEmulator
from omnisync_connectors.square.emulator import SquareEmulator

from omnisync.clock import VirtualClock


async def _call(emulator: SquareEmulator | InstagramEmulator, method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=emulator.transport(), base_url="http://emulator") as client:
        auth = {"Authorization": f"Bearer {emulator.access_token}"}
        return await client.request(method, path, headers=auth)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v2/no-such-thing", 404, "NOT_FOUND"),
        ("DELETE", "/v2/orders/search", 405, "METHOD_NOT_ALLOWED"),
    ],
)
async def test_square_unknown_route_is_squares_error(method: str, path: str, status: int, code: str) -> None:
    answer = await _call(SquareEmulator(VirtualClock()), method, path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    (error,) = answer.json()["errors"]
    assert error["code"] == code
    assert error["category"] == "INVALID_REQUEST_ERROR"


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [("GET", "/", 2500), ("GET", "/v26.0/a/b/c", 2500), ("DELETE", "/v26.0/1000000000000001", 100)],
)
async def test_meta_unknown_route_is_graph_error(method: str, path: str, code: int) -> None:
    answer = await _call(InstagramEmulator(VirtualClock()), method, path)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
