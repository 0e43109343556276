"""The emulator's Notifications API v1 routes: destinations (grantless) and subscriptions."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .emulator_notifications import PAYLOAD_VERSIONS

if TYPE_CHECKING:
    from .emulator import AmazonEmulator

Handler = Callable[[Request], Awaitable[Response]]
Wrap = Callable[..., Handler]
BASE = "/notifications/v1"


def _errors(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=status)


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def notification_routes(emu: AmazonEmulator, sp_api: Wrap) -> list[Route]:
    async def get_destinations(request: Request) -> Response:
        return JSONResponse({"payload": [d.json() for d in emu.destinations.values()]})

    async def create_destination(request: Request) -> Response:
        body = await _json(request)
        spec = body.get("resourceSpecification") if isinstance(body, dict) else None
        sqs = spec.get("sqs") if isinstance(spec, dict) else None
        arn = sqs.get("arn") if isinstance(sqs, dict) else None
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(arn, str) or not arn.startswith("arn:aws:sqs:") or not isinstance(name, str):
            return _errors(400, "InvalidInput", "resourceSpecification.sqs.arn and name are required.")
        found = emu.create_destination(name, arn)
        if found is None:
            return _errors(409, "Conflict", "A destination for this resource already exists.")
        return JSONResponse({"payload": found.json()})

    async def get_subscription(request: Request) -> Response:
        kind = request.path_params["notification_type"]
        found = emu.subscriptions.get(kind)
        if found is None:
            return _errors(404, "NotFound", f"No subscription of type {kind} exists.")
        return JSONResponse({"payload": found.json()})

    async def create_subscription(request: Request) -> Response:
        kind = request.path_params["notification_type"]
        body = await _json(request)
        if kind not in PAYLOAD_VERSIONS:
            return _errors(400, "InvalidInput", f"This emulator publishes no {kind} notifications.")
        if (
            not isinstance(body, dict)
            or body.get("payloadVersion") != PAYLOAD_VERSIONS[kind]
            or body.get("destinationId") not in emu.destinations
        ):
            return _errors(400, "InvalidInput", "payloadVersion or destinationId is not valid.")
        if kind in emu.subscriptions:
            return _errors(409, "Conflict", f"A subscription of type {kind} already exists.")
        found = emu.create_subscription(kind, body["payloadVersion"], body["destinationId"])
        return JSONResponse({"payload": found.json()})

    destinations, subscription = f"{BASE}/destinations", f"{BASE}/subscriptions/{{notification_type}}"
    return [
        Route(destinations, sp_api("getDestinations", get_destinations, grantless=True), methods=["GET"]),
        Route(
            destinations, sp_api("createDestination", create_destination, grantless=True), methods=["POST"]
        ),
        Route(subscription, sp_api("getSubscription", get_subscription), methods=["GET"]),
        Route(subscription, sp_api("createSubscription", create_subscription), methods=["POST"]),
    ]
