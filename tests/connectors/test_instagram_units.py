"""Pure pieces of the Instagram connector: price text, usage headers, error envelope, order mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from omnisync_connectors.instagram import InstagramConnector
from omnisync_connectors.instagram.expansion import Field, FieldsSyntaxError, expand, parse_fields
from omnisync_connectors.instagram.fields import format_price, parse_price
from omnisync_connectors.instagram.graph import graph_error, usage
from omnisync_connectors.instagram.orders import normalise_order, parse_time

from omnisync.sdk import OrderStatus


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("12000", "KRW", "12000 KRW"),
        ("9.999", "USD", "10.00 USD"),
        ("5", "EUR", "5.00 EUR"),
        ("1500.4", "JPY", "1500 JPY"),
    ],
)
def test_format_price(amount: str, currency: str, text: str) -> None:
    assert format_price(Decimal(amount), currency) == text


def test_format_price_refuses_negative_and_nan() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        format_price(Decimal("-1"), "USD")
    with pytest.raises(ValueError, match="non-negative"):
        format_price(Decimal("NaN"), "USD")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("$1,234.50", "1234.50"),
        ("₩12,000", "12000"),
        ("12000 KRW", "12000"),
        ("1.234,50 €", "1234.50"),
        ("€9,99", "9.99"),
        ("9.99 USD", "9.99"),
        (None, None),
        ("free", None),
    ],
)
def test_parse_price(text: str | None, amount: str | None) -> None:
    assert parse_price(text) == (Decimal(amount) if amount else None)


def test_usage_takes_the_highest_reading_and_the_regain_estimate() -> None:
    headers = {
        "X-Business-Use-Case-Usage": json.dumps(
            {
                "1": [
                    {
                        "type": "catalog_batch",
                        "call_count": 12,
                        "total_cputime": 80,
                        "total_time": 3,
                        "estimated_time_to_regain_access": 0,
                    }
                ],
                "2": [
                    {
                        "type": "x",
                        "call_count": 5,
                        "total_cputime": 1,
                        "total_time": 1,
                        "estimated_time_to_regain_access": 7,
                    }
                ],
            }
        ),
        "X-App-Usage": json.dumps({"call_count": 90, "total_cputime": 1, "total_time": 1}),
    }
    reading = usage(httpx.Headers(headers))
    assert reading.percent == 90
    assert reading.regain_s == 7 * 60
    assert not usage(httpx.Headers({"X-App-Usage": "not json"})).reported


def _error(status: int, code: int, **extra: object) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"message": "m", "type": "OAuthException", "code": code, **extra}}
    )


def test_graph_error_and_classify() -> None:
    assert graph_error(httpx.Response(200, json={"data": []})) is None
    error = graph_error(_error(400, 100, error_subcode=33))
    assert error is not None
    assert error.unknown_object
    assert graph_error(_error(400, 190)).credentials  # type: ignore[union-attr]
    advice = InstagramConnector.classify(_error(400, 80014))
    assert advice is not None
    assert advice.throttled
    assert advice.delay == 60, "no estimate: one minute"
    assert InstagramConnector.classify(_error(403, 4)) is not None
    assert InstagramConnector.classify(_error(400, 190)) is None
    assert InstagramConnector.classify(httpx.Response(500, text="<html>")) is None


def test_parse_time_accepts_graph_formats() -> None:
    expected = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert parse_time("2026-01-01T10:00:00+0000") == expected
    assert parse_time("2026-01-01T11:00:00+01:00") == expected
    assert parse_time(int(expected.timestamp())) == expected
    assert parse_time("yesterday") is None


def _order(state: str) -> dict[str, object]:
    return {
        "id": "O1",
        "order_status": {"state": state},
        "created": "2026-01-01T10:00:00+0000",
        "last_updated": "2026-01-01T11:00:00+0000",
    }


ITEMS = [
    {"id": "I1", "retailer_id": "A", "quantity": 2, "price_per_unit": {"amount": "10.00", "currency": "EUR"}},
    {"id": "I2", "retailer_id": "B", "quantity": 1, "price_per_unit": {"amount": "5.00", "currency": "EUR"}},
]


def test_whole_order_cancellation_without_items_cancels_everything_open() -> None:
    order = normalise_order(_order("COMPLETED"), ITEMS, cancellations=[{"id": "C1"}])
    assert order.status is OrderStatus.CANCELLED
    assert [line.cancelled for line in order.lines] == [2, 1]
    assert order.currency == "EUR"
    assert order.updated_at == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)


def test_partial_shipment_then_cancellation_of_the_rest() -> None:
    order = normalise_order(
        _order("COMPLETED"),
        ITEMS,
        shipments=[{"items": {"data": [{"id": "I1", "retailer_id": "A", "quantity": 1}]}}],
        cancellations=[
            {"items": {"data": [{"retailer_id": "A", "quantity": 5}, {"retailer_id": "B", "quantity": 1}]}}
        ],
    )
    a, b = order.lines
    assert (a.fulfilled, a.cancelled, b.fulfilled, b.cancelled) == (1, 1, 0, 1), (
        "cancellation capped at open units"
    )
    assert order.status is OrderStatus.FULFILLED


def test_refund_restocks_only_what_shipped() -> None:
    order = normalise_order(
        _order("IN_PROGRESS"),
        ITEMS,
        shipments=[{"items": [{"id": "I2", "quantity": 1}]}],
        refunds=[
            {"items": {"data": [{"retailer_id": "B", "quantity": 1}, {"retailer_id": "A", "quantity": 2}]}}
        ],
    )
    a, b = order.lines
    assert (a.restocked, b.restocked) == (0, 1)
    assert order.status is OrderStatus.CLOSED
    assert order.raw["refunds"]["data"]


def test_field_expansion_round_trips_and_rejects_unbalanced_braces() -> None:
    text = ",".join(("id", "last_updated", expand("items", 100, ("id", "quantity")), expand("refunds", 50)))
    fields = parse_fields(text)
    assert [f.name for f in fields] == ["id", "last_updated", "items", "refunds"]
    assert fields[2] == Field("items", 100, (Field("id"), Field("quantity")))
    assert fields[3] == Field("refunds", 50, None)
    for bad in ("items{id", "items}id", "items.limit(x)", "it ems"):
        with pytest.raises(FieldsSyntaxError):
            parse_fields(bad)
