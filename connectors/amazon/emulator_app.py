"""The emulator's HTTP surface (Starlette): SP-API operations, the LWA token endpoint and the presigned
feed-document storage, all in one app (the paths never collide, so it serves every host)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnisync.sdk import ProtocolError
from omnisync.testing.harness import Fault

from .emulator_fba import fba_routes
from .emulator_notify_app import notification_routes
from .emulator_product_types import definition, schema_bytes
from .emulator_state import RecordedRequest
from .emulator_views import listing_item, order_items_payload, order_payload
from .orders import iso, parse_time

if TYPE_CHECKING:
    from .emulator import AmazonEmulator

Handler = Callable[[Request], Awaitable[Response]]
DENIED = "Access to requested resource is denied."
GRANTLESS_SCOPE = "sellingpartnerapi::notifications"


def errors(status: int, code: str, message: str, details: str | None = None, **headers: str) -> JSONResponse:
    error: dict[str, str] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return JSONResponse({"errors": [error]}, status_code=status, headers=headers or None)


def build_app(emu: AmazonEmulator) -> Starlette:
    def sp_api(operation: str, handler: Handler, *, grantless: bool = False) -> Handler:
        """Record, inject faults, check the access token, throttle, then answer with Amazon's headers."""

        async def endpoint(request: Request) -> Response:
            body = await request.body()
            emu.record(RecordedRequest(request.method, str(request.url), dict(request.headers), body))
            emu.calls[operation] += 1
            request_id = str(uuid.uuid4())
            if emu.faults and emu.faults[0] is not Fault.TIMEOUT:
                fault = emu.faults.popleft()
                if fault is Fault.THROTTLE:
                    emu.throttled[operation] += 1
                    return errors(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
                if fault is Fault.UNAUTHORIZED:
                    return errors(
                        403,
                        "Unauthorized",
                        DENIED,
                        "The access token you provided is revoked, malformed or invalid.",
                    )
                return errors(500, "InternalFailure", "We encountered an internal error. Please try again.")
            problem = emu.token_problem(request.headers.get("x-amz-access-token"), grantless=grantless)
            if problem:
                return errors(403, "Unauthorized", DENIED, problem, **{"x-amzn-RequestId": request_id})
            if not emu.take(operation):
                return errors(
                    429,
                    "QuotaExceeded",
                    "You exceeded your quota for the requested resource.",
                    **{"x-amzn-RequestId": request_id},
                )
            emu.advance()
            response = await handler(request)
            response.headers["x-amzn-RequestId"] = request_id
            rate = emu.rate_of(operation)
            if rate is not None:
                response.headers["x-amzn-RateLimit-Limit"] = format(rate, "g")
            return response

        return endpoint

    async def read_json(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError:
            return None

    def bad_input(
        message: str = "Request has missing or invalid parameters and cannot be parsed.",
    ) -> Response:
        return errors(400, "InvalidInput", message)

    def marketplace_ok(request: Request, name: str = "marketplaceIds") -> bool:
        return emu.marketplace_id in request.query_params.get(name, "").split(",")

    # -- LWA ---------------------------------------------------------------------------------------------
    async def token(request: Request) -> Response:
        # application/x-www-form-urlencoded, parsed by hand (starlette's form() needs python-multipart)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        emu.calls["lwaToken"] += 1
        if form.get("client_id") != emu.client_id or form.get("client_secret") != emu.client_secret:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                status_code=401,
            )
        if form.get("grant_type") == "client_credentials":  # a grantless operation's token
            if form.get("scope") != GRANTLESS_SCOPE:
                return JSONResponse(
                    {"error": "invalid_scope", "error_description": "The scope is not valid"}, status_code=400
                )
            return JSONResponse(
                {
                    "access_token": emu.issue_token(grantless=True),
                    "scope": GRANTLESS_SCOPE,
                    "token_type": "bearer",
                    "expires_in": emu.token_lifetime_s,
                }
            )
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != emu.refresh_token:
            return JSONResponse(
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                },
                status_code=400,
            )
        return JSONResponse(
            {
                "access_token": emu.issue_token(),
                "refresh_token": emu.refresh_token,
                "token_type": "bearer",
                "expires_in": emu.token_lifetime_s,
            }
        )

    # -- presigned storage ----------------------------------------------------------------------------------
    async def document(request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        body = await request.body()
        emu.record(RecordedRequest(request.method, str(request.url), dict(request.headers), body))
        emu.calls["s3" + request.method.title()] += 1
        q = request.query_params
        if "x-amz-access-token" in request.headers:
            return s3_error(400, "InvalidArgument", "Presigned requests must not carry SP-API access tokens.")
        if not emu.check_presigned(doc_id, q.get("X-Amz-Date", ""), q.get("X-Amz-Signature", "")):
            return s3_error(403, "AccessDenied", "Request has expired or the signature does not match.")
        stored = emu.documents[doc_id]
        if request.method == "PUT":
            if request.headers.get("content-type") != stored.content_type:
                return s3_error(
                    403, "SignatureDoesNotMatch", "The Content-Type does not match the document's."
                )
            stored.content = body
            return Response(status_code=200)
        if stored.content is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Response(stored.content, media_type="application/octet-stream")

    # -- Listings Items ------------------------------------------------------------------------------------
    async def get_listing(request: Request) -> Response:
        if request.path_params["seller_id"] != emu.seller_id:
            return errors(403, "Unauthorized", DENIED, "")
        if not marketplace_ok(request):
            return bad_input()
        listing = emu.listings.get(request.path_params["sku"])
        if listing is None:
            return errors(
                404,
                "NOT_FOUND",
                f"SKU '{request.path_params['sku']}' not found in marketplace {emu.marketplace_id}",
            )
        included = request.query_params.get("includedData", "summaries").split(",")
        return JSONResponse(listing_item(listing, included, emu.marketplace_id))

    async def search_listings(request: Request) -> Response:
        """searchListingsItems: the seller's listings in the marketplace by SKU, ``pageSize`` (1-20) a
        page, ``pagination.nextToken`` naming the next."""
        if request.path_params["seller_id"] != emu.seller_id:
            return errors(403, "Unauthorized", DENIED, "")
        if not marketplace_ok(request):
            return bad_input()
        size = request.query_params.get("pageSize", "10")
        if not size.isdigit() or not 1 <= int(size) <= 20:
            return bad_input("pageSize must be between 1 and 20.")
        included = request.query_params.get("includedData", "summaries").split(",")
        skus = sorted(emu.listings)
        token = request.query_params.get("pageToken")
        start = int(token[1:]) if token and token[:1] == "p" and token[1:].isdigit() else 0
        if token and not (token[:1] == "p" and token[1:].isdigit()):
            return bad_input("Invalid pageToken.")
        end = start + int(size)
        items = [listing_item(emu.listings[sku], included, emu.marketplace_id) for sku in skus[start:end]]
        answer: dict[str, Any] = {"numberOfResults": len(skus), "items": items}
        if end < len(skus):
            answer["pagination"] = {"nextToken": f"p{end}"}
        return JSONResponse(answer)

    async def listing_write(request: Request, field: str, write: Callable[..., list[Any]]) -> Response:
        """putListingsItem (``attributes``) and patchListingsItem (``patches``): the submission's status
        and issues, as the Listings Items API answers them."""
        if request.path_params["seller_id"] != emu.seller_id:
            return errors(403, "Unauthorized", DENIED, "")
        body = await read_json(request)
        if (
            not marketplace_ok(request)
            or not isinstance(body, dict)
            or not isinstance(body.get("productType"), str)
            or not isinstance(body.get(field), (dict if field == "attributes" else list))
            or not body[field]
        ):
            return bad_input()
        sku = request.path_params["sku"]
        found = write(sku, body["productType"], body[field], emu.clock.now())
        return JSONResponse(
            {
                "sku": sku,
                "status": "INVALID" if found else "ACCEPTED",
                "submissionId": uuid.uuid4().hex,
                "issues": found,
            }
        )

    async def put_listing(request: Request) -> Response:
        return await listing_write(request, "attributes", emu.put)

    async def get_definition(request: Request) -> Response:
        if not marketplace_ok(request):
            return bad_input()
        product_type = request.path_params["product_type"]
        if product_type not in emu.definitions:
            return errors(404, "NOT_FOUND", f"Product type {product_type} not found.")
        url = f"{emu.s3_base}/ProductTypeSchemas/{product_type}.json"
        locale = request.query_params.get("locale", "DEFAULT")
        return JSONResponse(definition(product_type, emu.marketplace_id, url, locale))

    async def schema_document(request: Request) -> Response:
        product_type = request.path_params["product_type"]
        if product_type not in emu.definitions:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Response(schema_bytes(product_type), media_type="application/json")

    async def patch_listing(request: Request) -> Response:
        return await listing_write(request, "patches", emu.patch)

    # -- Feeds ----------------------------------------------------------------------------------------
    async def create_document(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("contentType"), str):
            return bad_input()
        stored = emu.new_document(body["contentType"])
        return JSONResponse({"feedDocumentId": stored.doc_id, "url": emu.presign(stored)}, status_code=201)

    async def get_document(request: Request) -> Response:
        stored = emu.documents.get(request.path_params["doc_id"])
        if stored is None:
            return errors(404, "NotFound", "The requested feed document does not exist.")
        stored.url_expires = emu.clock.now() + timedelta(minutes=5)  # a fresh presigned URL each time
        answer: dict[str, str] = {"feedDocumentId": stored.doc_id, "url": emu.presign(stored)}
        if stored.compression:
            answer["compressionAlgorithm"] = stored.compression
        return JSONResponse(answer)

    async def create_feed(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("inputFeedDocumentId"), str):
            return bad_input()
        if body.get("feedType") != "JSON_LISTINGS_FEED":
            return bad_input(f"Unsupported feed type {body.get('feedType')!r} in this emulator.")
        marketplaces = body.get("marketplaceIds")
        if not isinstance(marketplaces, list) or emu.marketplace_id not in marketplaces:
            return bad_input("marketplaceIds must name the seller's marketplace.")
        stored = emu.documents.get(body["inputFeedDocumentId"])
        if stored is None:
            return bad_input("The inputFeedDocumentId does not exist.")
        feed = emu.create_feed(body["feedType"], marketplaces, stored)
        return JSONResponse({"feedId": feed.feed_id}, status_code=202)

    async def get_feed(request: Request) -> Response:
        feed = emu.feeds.get(request.path_params["feed_id"])
        if feed is None:
            return errors(404, "NotFound", "The requested feed does not exist.")
        answer: dict[str, Any] = {
            "feedId": feed.feed_id,
            "feedType": feed.feed_type,
            "marketplaceIds": feed.marketplace_ids,
            "createdTime": iso(feed.created),
            "processingStatus": feed.status,
        }
        if feed.started:
            answer["processingStartTime"] = iso(feed.started)
        if feed.ended:
            answer["processingEndTime"] = iso(feed.ended)
        if feed.result_doc:
            answer["resultFeedDocumentId"] = feed.result_doc
        return JSONResponse(answer)

    # -- Orders ---------------------------------------------------------------------------------------------
    async def get_orders(request: Request) -> Response:
        q = request.query_params
        if not marketplace_ok(request, "MarketplaceIds"):
            return bad_input("MarketplaceIds is required and must name the seller's marketplace.")
        size = q.get("MaxResultsPerPage", "100")
        if not size.isdigit() or not 1 <= int(size) <= 100:
            return bad_input("MaxResultsPerPage must be between 1 and 100.")
        if "NextToken" in q:
            window = decode_token(q["NextToken"])
            if window is None:
                return bad_input("Invalid NextToken.")
        else:
            window = {
                "after": q.get("LastUpdatedAfter"),
                "created": q.get("CreatedAfter"),
                "before": iso(emu.clock.now()),
            }
            window["channels"] = q.get("FulfillmentChannels", "")
            if bool(window["after"]) == bool(window["created"]):
                return bad_input("Exactly one of CreatedAfter and LastUpdatedAfter is required.")
        try:
            after = parse_time(window["after"] or window["created"], "emulator")
            before = parse_time(window["before"], "emulator")
        except (ProtocolError, TypeError):
            return bad_input("Dates must be in ISO 8601 format.")
        use_updated = bool(window["after"])
        key = tuple(window.get("key") or ("", ""))
        channels = [c for c in str(window.get("channels", "")).split(",") if c]
        matching: list[Any] = sorted(
            (
                o
                for o in emu.orders.values()
                if after <= (o.updated if use_updated else o.purchased) <= before
                and (not channels or o.fulfillment in channels)
            ),
            key=lambda o: (iso(o.updated if use_updated else o.purchased), o.order_id),
        )
        matching = [o for o in matching if (iso(o.updated if use_updated else o.purchased), o.order_id) > key]
        page = matching[: int(size)]
        payload: dict[str, Any] = {"Orders": [order_payload(o) for o in page]}
        if len(matching) > len(page):
            last = page[-1]
            payload["NextToken"] = encode_token(
                {**window, "key": [iso(last.updated if use_updated else last.purchased), last.order_id]}
            )
        if use_updated:
            payload["LastUpdatedBefore"] = window["before"]
        else:
            payload["CreatedBefore"] = window["before"]
        return JSONResponse({"payload": payload})

    async def get_order(request: Request) -> Response:
        order = emu.orders.get(request.path_params["order_id"])
        if order is None:
            return errors(404, "NotFound", "The order does not exist.")
        return JSONResponse({"payload": order_payload(order)})

    async def get_order_items(request: Request) -> Response:
        order = emu.orders.get(request.path_params["order_id"])
        if order is None:
            return errors(404, "InvalidInput", "Invalid AmazonOrderId.")
        return JSONResponse({"payload": order_items_payload(order)})

    listing_path = "/listings/2021-08-01/items/{seller_id}/{sku:path}"
    routes = [
        Route("/auth/o2/token", token, methods=["POST"]),
        Route("/NinetyDays/{doc_id}", document, methods=["PUT", "GET"]),
        Route(listing_path, sp_api("getListingsItem", get_listing), methods=["GET"]),
        Route(
            "/listings/2021-08-01/items/{seller_id}",
            sp_api("searchListingsItems", search_listings),
            methods=["GET"],
        ),
        Route(listing_path, sp_api("patchListingsItem", patch_listing), methods=["PATCH"]),
        Route(listing_path, sp_api("putListingsItem", put_listing), methods=["PUT"]),
        Route(
            "/definitions/2020-09-01/productTypes/{product_type}",
            sp_api("getDefinitionsProductType", get_definition),
            methods=["GET"],
        ),
        Route("/ProductTypeSchemas/{product_type}.json", schema_document, methods=["GET"]),
        Route("/feeds/2021-06-30/documents", sp_api("createFeedDocument", create_document), methods=["POST"]),
        Route(
            "/feeds/2021-06-30/documents/{doc_id}", sp_api("getFeedDocument", get_document), methods=["GET"]
        ),
        Route("/feeds/2021-06-30/feeds", sp_api("createFeed", create_feed), methods=["POST"]),
        Route("/feeds/2021-06-30/feeds/{feed_id}", sp_api("getFeed", get_feed), methods=["GET"]),
        Route("/orders/v0/orders", sp_api("getOrders", get_orders), methods=["GET"]),
        Route("/orders/v0/orders/{order_id}", sp_api("getOrder", get_order), methods=["GET"]),
        Route(
            "/orders/v0/orders/{order_id}/orderItems",
            sp_api("getOrderItems", get_order_items),
            methods=["GET"],
        ),
    ]
    routes += notification_routes(emu, sp_api) + fba_routes(emu, sp_api)
    return Starlette(routes=routes)


def s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


def encode_token(window: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(window, separators=(",", ":")).encode()).decode()


def decode_token(token: str) -> dict[str, Any] | None:
    try:
        window = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        return None
    return window if isinstance(window, dict) and "before" in window else None
