"""The emulator's HTTP face: a Starlette app answering Graph API paths as Meta does.

``/{version}/{node}`` and ``/{version}/{node}/{edge}``; errors in Meta's envelope (``{"error": {...}}``,
HTTP 400 for invalid parameters, expired tokens and business-use-case throttling); usage headers on
every answer; Graph cursor paging (``paging.cursors.after`` and ``paging.next``).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnisync.testing.harness import Fault

from .expansion import DEFAULT_EDGE_LIMIT, Field, FieldsSyntaxError, parse_fields

if TYPE_CHECKING:
    from .emulator import CommerceOrder, InstagramEmulator
    from .emulator_batch import CatalogItem

VERSION = re.compile(r"^v\d+\.\d+$")
MAX_BATCH = 5000
MAX_ACKNOWLEDGE = 100
"""Orders per ``POST /{cms_id}/acknowledge_orders`` call."""
ORDER_EDGES = ("items", "cancellations", "refunds", "shipments")
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "KRW": "₩", "JPY": "¥"}
ORDER_DEFAULT_FIELDS = ("id", "order_status", "created", "last_updated")
ORDER_STATES = ("FB_PROCESSING", "CREATED", "IN_PROGRESS", "COMPLETED")


class GraphFailure(Exception):
    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        transient: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.subcode, self.transient, self.headers = subcode, transient, headers or {}

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "is_transient": self.transient,
            "fbtrace_id": secrets.token_urlsafe(8),
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return JSONResponse({"error": error}, status_code=self.status, headers=self.headers)


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphFailure(400, 100, f"Invalid parameter: cannot parse datetime {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _display_price(amount: Decimal, currency: str) -> str:
    text = f"{amount:,.0f}" if currency in ("KRW", "JPY") else f"{amount:,.2f}"
    return f"{SYMBOLS[currency]}{text}" if currency in SYMBOLS else f"{text} {currency}"


def _requested(request: Request) -> tuple[Field, ...] | None:
    raw = request.query_params.get("fields")
    if not raw:
        return None
    try:
        return parse_fields(raw)
    except FieldsSyntaxError as exc:
        raise GraphFailure(400, 100, f"Syntax error in fields: {exc}") from None


def _fields(request: Request, default: tuple[str, ...]) -> set[str]:
    requested = _requested(request)
    return {f.name for f in requested} | {"id"} if requested else set(default)


def _pick(row: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k in wanted and v is not None}


def _limit(request: Request, default: int) -> int:
    try:
        return max(1, min(5000, int(request.query_params.get("limit", default))))
    except ValueError:
        raise GraphFailure(400, 100, "Invalid parameter: limit") from None


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _uncursor(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise GraphFailure(400, 100, "Invalid parameter: after (cursor)") from None


def _page(request: Request, rows: list[dict[str, Any]], default_limit: int) -> dict[str, Any]:
    """Offset-cursor paging over a list, in Graph's shape."""
    start = (
        int(_uncursor(request.query_params["after"]).split(":", 1)[1])
        if "after" in request.query_params
        else 0
    )
    end = start + _limit(request, default_limit)
    answer: dict[str, Any] = {"data": rows[start:end]}
    if rows[start:end]:
        answer["paging"] = {
            "cursors": {"before": _cursor(f"o:{start}"), "after": _cursor(f"o:{min(end, len(rows))}")}
        }
        if end < len(rows):
            answer["paging"]["next"] = _next_url(request, _cursor(f"o:{end}"))
    return answer


def _json_list(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A list parameter, sent as JSON or as a JSON string inside a form (how Meta's SDK posts)."""
    value = body.get(name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise GraphFailure(400, 100, f"Invalid parameter: {name} must be a JSON array") from None
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise GraphFailure(400, 100, f"Invalid parameter: {name} must be a non-empty list of objects")
    return value


def _next_url(request: Request, after: str) -> str:
    params = {k: v for k, v in request.query_params.items() if k not in ("after", "access_token")}
    params["after"] = after
    return str(request.url.replace_query_params(**params))


def build_app(emulator: InstagramEmulator) -> Starlette:
    em = emulator

    def product_row(item: CatalogItem) -> dict[str, Any]:
        return {
            "id": item.item_id,
            "retailer_id": item.retailer_id,
            "name": item.name,
            "inventory": item.inventory,
            "price": _display_price(item.price, item.currency),
            "currency": item.currency,
            "sale_price": _display_price(item.sale_price, item.currency)
            if item.sale_price is not None
            else None,
            "availability": item.availability,
            "visibility": item.visibility,
            **{k: v for k, v in item.content.items() if k != "additional_variant_attributes"},
            # read back as ProductItem types it: list<map<string, string>>
            "additional_variant_attributes": [
                {"key": k, "value": v}
                for k, v in (item.content.get("additional_variant_attributes") or {}).items()
            ]
            or None,
        }

    def order_row(order: CommerceOrder) -> dict[str, Any]:
        return {
            "id": order.order_id,
            "order_status": {"state": order.state},
            "created": _time(order.created),
            "last_updated": _time(order.last_updated),
            "channel": "instagram",
            "merchant_order_id": None,
            "is_test_order": False,
        }

    def item_rows(order: CommerceOrder) -> list[dict[str, Any]]:
        return [
            {
                "id": i.item_id,
                "product_id": i.product_id,
                "retailer_id": i.retailer_id,
                "quantity": i.quantity,
                "price_per_unit": {"amount": f"{i.price:.2f}", "currency": i.currency},
            }
            for i in order.items
        ]

    async def body_of(request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            parsed = await request.json()
            return parsed if isinstance(parsed, dict) else {}
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    async def items_batch(request: Request) -> dict[str, Any]:
        body = await body_of(request)
        if body.get("item_type") != "PRODUCT_ITEM":
            raise GraphFailure(
                400, 100, "Invalid parameter: item_type must be one of the supported item types"
            )
        requests = _json_list(body, "requests")
        if len(requests) > MAX_BATCH:
            raise GraphFailure(400, 100, f"Invalid parameter: requests can contain at most {MAX_BATCH} items")
        em.batch_sizes.append(len(requests))
        allow = body.get("allow_upsert", True)
        return em.batches.submit(requests, allow_upsert=allow not in (False, "false", "0"))

    async def batch_status(request: Request) -> dict[str, Any]:
        handle = request.query_params.get("handle")
        if not handle:
            raise GraphFailure(400, 100, "The parameter handle is required")
        load = request.query_params.get("load_ids_of_invalid_requests", "false") in ("true", "1")
        element = em.batches.status(handle, load)
        if element is None:
            raise GraphFailure(400, 100, "Invalid parameter: unknown batch handle")
        return {"data": [element]}

    async def products(request: Request) -> dict[str, Any]:
        items = sorted(em.items.values(), key=lambda i: i.item_id)
        raw_filter = request.query_params.get("filter")
        if raw_filter:
            try:
                rule = json.loads(raw_filter).get("retailer_id", {})
            except (ValueError, AttributeError):
                raise GraphFailure(400, 100, "Invalid parameter: filter") from None
            wanted = set(rule.get("is_any", [])) | ({rule["eq"]} if "eq" in rule else set())
            items = [i for i in items if i.retailer_id in wanted]
        wanted_fields = _fields(request, ("id",))
        return _page(request, [_pick(product_row(i), wanted_fields) for i in items], 25)

    async def commerce_orders(request: Request) -> dict[str, Any]:
        raw_states = request.query_params.get("state", "")
        states = (
            json.loads(raw_states) if raw_states.startswith("[") else [s for s in raw_states.split(",") if s]
        )
        if any(s not in ORDER_STATES for s in states):
            raise GraphFailure(400, 100, "Invalid parameter: state")
        after_t = _since(request.query_params.get("updated_after"))
        before_t = _since(request.query_params.get("updated_before"))
        rows = sorted(
            (
                o
                for o in em.orders.values()
                if (not states or o.state in states)
                and (after_t is None or o.last_updated > after_t)
                and (before_t is None or o.last_updated < before_t)
            ),
            key=lambda o: (o.created, o.order_id),
        )
        # Keyset cursor on (created, id): acknowledging or updating an order during a pagination
        # does not move it to a later page.
        if "after" in request.query_params:
            stamp, _, last_id = _uncursor(request.query_params["after"]).partition("|")
            key = (datetime.fromisoformat(stamp), last_id)
            rows = [o for o in rows if (o.created, o.order_id) > key]
        limit = _limit(request, em.page_size)
        page = rows[:limit]
        answer: dict[str, Any] = {"data": [order_answer(request, o) for o in page]}
        if page:
            last = page[-1]
            after = _cursor(f"{last.created.isoformat()}|{last.order_id}")
            first = _cursor(f"{page[0].created.isoformat()}|{page[0].order_id}")
            answer["paging"] = {"cursors": {"before": first, "after": after}}
            if len(rows) > limit:
                answer["paging"]["next"] = _next_url(request, after)
        return answer

    def edge_rows(order: CommerceOrder, edge: str) -> list[dict[str, Any]]:
        return item_rows(order) if edge == "items" else list(getattr(order, edge))

    def order_answer(request: Request, order: CommerceOrder) -> dict[str, Any]:
        """The order node with the fields asked for; an edge named in ``fields`` comes inline, one
        page of it (``.limit(N)``, Graph's default 25), with ``paging.next`` to the edge's own path."""
        requested = _requested(request)
        if requested is None:
            return _pick(order_row(order), set(ORDER_DEFAULT_FIELDS))
        answer = _pick(order_row(order), {f.name for f in requested} | {"id"})
        for field in requested:
            if field.name not in ORDER_EDGES:
                continue
            rows = edge_rows(order, field.name)
            if field.subfields is not None:
                rows = [_pick(r, {f.name for f in field.subfields} | {"id"}) for r in rows]
            limit = field.limit or DEFAULT_EDGE_LIMIT
            inline: dict[str, Any] = {"data": rows[:limit]}
            if len(rows) > limit:
                query = {"limit": str(limit), "after": _cursor(f"o:{limit}")}
                if field.subfields is not None:
                    query["fields"] = ",".join(f.name for f in field.subfields)
                url = request.url.replace(
                    path=f"/{request.path_params['version']}/{order.order_id}/{field.name}"
                )
                inline["paging"] = {
                    "cursors": {"before": _cursor("o:0"), "after": query["after"]},
                    "next": str(url.replace_query_params(**query)),
                }
            answer[field.name] = inline
        return answer

    async def order_node(request: Request, order: CommerceOrder, edge: str | None) -> dict[str, Any]:
        if edge is None:
            return order_answer(request, order)
        if edge in ORDER_EDGES:
            return _page(request, edge_rows(order, edge), DEFAULT_EDGE_LIMIT)
        if edge == "acknowledge_order" and request.method == "POST":
            key = (await body_of(request)).get("idempotency_key")
            if not key:
                raise GraphFailure(400, 100, "The parameter idempotency_key is required")
            try:
                acknowledged = em.acknowledge(order.order_id, str(key))
            except ValueError as exc:
                raise GraphFailure(400, 100, str(exc)) from None
            return {"id": acknowledged.order_id, "state": acknowledged.state}
        raise GraphFailure(400, 2500, f"Unknown path components: /{edge}")

    async def acknowledge_orders(request: Request) -> dict[str, Any]:
        """``POST /{cms_id}/acknowledge_orders``: up to 100 orders, one idempotency key for the batch.
        Each order is answered on its own: an order that is not CREATED gets an error entry and does
        not fail the others."""
        body = await body_of(request)
        key = body.get("idempotency_key")
        if not key:
            raise GraphFailure(400, 100, "The parameter idempotency_key is required")
        orders = _json_list(body, "orders")
        if len(orders) > MAX_ACKNOWLEDGE:
            raise GraphFailure(400, 100, f"Invalid parameter: orders can contain at most {MAX_ACKNOWLEDGE}")
        try:
            return {"orders": em.acknowledge_batch([str(o.get("id", "")) for o in orders], str(key))}
        except ValueError as exc:
            raise GraphFailure(400, 100, f"Invalid parameter: {exc}") from None

    routes: dict[tuple[str, str | None, str], Callable[[Request], Any]] = {
        (em.cms_id, "acknowledge_orders", "POST"): acknowledge_orders,
        (em.catalog_id, "items_batch", "POST"): items_batch,
        (em.catalog_id, "check_batch_request_status", "GET"): batch_status,
        (em.catalog_id, "products", "GET"): products,
        (em.cms_id, "commerce_orders", "GET"): commerce_orders,
    }

    async def dispatch(request: Request, node: str, edge: str | None) -> dict[str, Any]:
        if (handler := routes.get((node, edge, request.method))) is not None:
            answer: dict[str, Any] = await handler(request)
            return answer
        if edge is None and request.method == "GET" and node == em.catalog_id:
            row = {
                "id": node,
                "name": "Emulated catalog",
                "vertical": "commerce",
                "product_count": len(em.items),
            }
            return _pick(row, _fields(request, ("id", "name")))
        if edge is None and request.method == "GET" and node == em.cms_id:
            return _pick(
                {"id": node, "display_name": "Emulated shop"}, _fields(request, ("id", "display_name"))
            )
        if node in em.orders:
            return await order_node(request, em.orders[node], edge)
        raise GraphFailure(
            400,
            100,
            f"Unsupported {request.method.lower()} request. Object with ID '{node}' does "
            "not exist, cannot be loaded due to missing permissions, or does not support this "
            "operation.",
            subcode=33,
        )

    def check_auth(request: Request) -> None:
        header = request.headers.get("authorization", "")
        token = (
            header[7:] if header.lower().startswith("bearer ") else request.query_params.get("access_token")
        )
        if not token:
            raise GraphFailure(400, 2500, "An active access token must be used to query information.")
        if token != em.access_token:
            raise GraphFailure(400, 190, "Invalid OAuth access token - Cannot parse access token")

    def injected(fault: Fault) -> Response:
        if fault is Fault.THROTTLE:
            minutes = em.throttle_minutes
            return GraphFailure(
                400,
                80014,
                "There have been too many calls for the batch uploads to this catalog "
                "account. Wait a bit and try again.",
                transient=True,
                headers=em.usage_headers(minutes),
            ).response()
        if fault is Fault.UNAUTHORIZED:
            return GraphFailure(
                400, 190, "Error validating access token: Session has expired.", subcode=463
            ).response()
        if fault is Fault.SERVER_ERROR:
            return GraphFailure(
                500, 2, "An unexpected error has occurred. Please retry your request later.", transient=True
            ).response()
        return Response("upstream timed out", status_code=504)

    async def endpoint(request: Request) -> Response:
        em.batches.settle_due()
        if em.faults:
            return injected(em.faults.popleft())
        params = request.path_params
        node, edge = params["node"], params.get("edge")
        try:
            if not VERSION.match(params["version"]):
                raise GraphFailure(400, 2500, f"Unknown path components: /{params['version']}")
            check_auth(request)
            is_batch = edge == "items_batch"
            if is_batch and em.batch_budget_spent():
                raise GraphFailure(
                    400,
                    80014,
                    "There have been too many calls for the batch uploads to this "
                    "catalog account. Wait a bit and try again.",
                    transient=True,
                    headers=em.usage_headers(em.regain_minutes("batch")),
                )
            if em.app_budget_spent():
                raise GraphFailure(
                    403,
                    4,
                    "Application request limit reached",
                    transient=True,
                    headers=em.usage_headers(em.regain_minutes("app")),
                )
            em.count_call(batch=is_batch)
            answer = await dispatch(request, node, edge)
        except GraphFailure as failure:
            failure.headers = {**em.usage_headers(), **failure.headers}
            return failure.response()
        em.calls[edge or "node"] += 1
        return JSONResponse(answer, headers=em.usage_headers())

    return Starlette(
        routes=[
            Route("/{version}/{node}", endpoint, methods=["GET", "POST"]),
            Route("/{version}/{node}/{edge}", endpoint, methods=["GET", "POST"]),
        ],
        exception_handlers={404: _no_route, 405: _no_route},
    )


async def _no_route(request: Request, exc: Exception) -> Response:
    """An unknown path or method answers the Graph API's JSON error, as Meta does, not plain text."""
    if getattr(exc, "status_code", 404) == 405:
        return GraphFailure(400, 100, f"Unsupported {request.method.lower()} request.", subcode=33).response()
    return GraphFailure(400, 2500, f"Unknown path components: {request.url.path}").response()
