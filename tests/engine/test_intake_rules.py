"""Intake's pure rules: a page of orders and what the ledger holds -> the changes (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from omnisync.engine.intake_rules import (
    ChannelIntake,
    QuarantinedLine,
    _digest_body,
    _digest_text,
    decide,
    decreases,
    retry,
    rounds,
    triage,
)
from omnisync.ledger.intake_rows import IntakeView, StoredLine, StoredOrder, StoredVersion
from omnisync.sdk.models import Decrements, Order, OrderLine, OrderStatus

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
WH, STORE = 1, 2
MUG, TEE = 10, 20


def channel(decrements: Decrements = Decrements.NEVER) -> ChannelIntake:
    aliases = {"WEB-MUG": "MUG", "MUG": "MUG", "TEE": "TEE"}
    return ChannelIntake("web", 7, ("WH", "STORE"), aliases.get, decrements)


def view(**kw: object) -> IntakeView:
    base: dict[str, object] = {
        "orders": {},
        "products": {"MUG": MUG, "TEE": TEE},
        "stock": {MUG: {WH: (3, 0), STORE: (5, 0)}, TEE: {WH: (1, 0)}},
        "locations": {"WH": WH, "STORE": STORE},
    }
    base.update(kw)
    return IntakeView(**base)  # type: ignore[arg-type]


def order(external_id: str, *lines: OrderLine, status: OrderStatus = OrderStatus.OPEN, **kw: object) -> Order:
    return Order(external_id, status, AT, tuple(lines), **kw)  # type: ignore[arg-type]


def stored_line(pk: int, **kw: object) -> StoredLine:
    values: dict[str, object] = {
        "pk": pk,
        "sku": "MUG",
        "product_id": MUG,
        "location_id": WH,
        "quantity": 2,
        "fulfilled": 0,
        "cancelled": 0,
        "restocked": 0,
        "applied_fulfilled": 0,
        "applied_restocked": 0,
        "quarantined": False,
        "quarantine_reason": None,
        "reserved": 2,
        "reserved_at": WH,
    }
    values.update(kw)
    return StoredLine(**values)  # type: ignore[arg-type]


def test_new_orders_route_one_after_the_other_against_a_running_tally() -> None:
    page = [order("A", OrderLine("1", "WEB-MUG", 2)), order("B", OrderLine("1", "WEB-MUG", 2))]
    decision = decide(channel(), page, view(), at=AT)
    changes = decision.changes
    assert [o["external_id"] for o in changes.new_orders] == ["A", "B"]
    # A takes 2 of the warehouse's 3; B no longer fits there and goes to the store
    assert [(ln["external_id"], ln["location_id"]) for ln in changes.new_lines] == [("A", WH), ("B", STORE)]
    assert changes.reserved == {(MUG, WH): 2, (MUG, STORE): 2}
    assert [r["quantity"] for r in changes.new_reservations] == [2, 2]
    assert changes.movements == []
    assert changes.touched == {MUG}
    assert decision.decreased == {"MUG"}


def test_a_changed_order_applies_only_its_difference() -> None:
    held = StoredOrder(5, "old", {"1": stored_line(50, fulfilled=1, applied_fulfilled=1, reserved=1)})
    shipped = order("A", OrderLine("1", "WEB-MUG", 2, fulfilled=2), status=OrderStatus.FULFILLED)
    decision = decide(channel(), [shipped], view(orders={"A": held}), at=AT)
    changes = decision.changes
    assert changes.new_orders == []
    assert [u["id"] for u in changes.order_updates] == [5]
    assert [m["idempotency_key"] for m in changes.movements] == ["order:web:A:1:sale:1->2"]
    assert [m["quantity"] for m in changes.movements] == [-1]
    assert changes.reservation_updates == [{"line_pk": 50, "quantity": 0}]
    assert changes.reserved == {(MUG, WH): -1}
    (update,) = changes.line_updates
    assert (update["id"], update["applied_fulfilled"], update["fulfilled"]) == (50, 2, 2)
    # the sold unit was reserved already: available stock does not go down again
    assert decision.decreased == set()


def test_an_unknown_sku_is_quarantined_not_dropped() -> None:
    decision = decide(channel(), [order("A", OrderLine("1", "MYSTERY", 1))], view(), at=AT)
    (line,) = decision.changes.new_lines
    assert line["quarantined"]
    assert line["product_id"] is None
    assert line["quarantine_reason"] == "unknown SKU 'MYSTERY' on channel web"
    assert decision.quarantined == [("A", "MYSTERY")]
    assert decision.changes.new_reservations == []
    assert decision.changes.reserved == {}


def test_an_order_that_breaks_a_rule_fails_alone_and_leaves_nothing() -> None:
    page = [
        order("BAD", OrderLine("1", "TEE", 2, fulfilled=2, cancelled=1)),
        order("DUP", OrderLine("1", "TEE", 1), OrderLine("1", "TEE", 1)),
        order("GOOD", OrderLine("1", "TEE", 1)),
    ]
    decision = decide(channel(), page, view(), at=AT)
    assert [external_id for external_id, _ in decision.failed] == ["BAD", "DUP"]
    assert "exceed the ordered quantity" in decision.failed[0][1]
    assert "twice" in decision.failed[1][1]
    assert [o.external_id for o in decision.orders] == ["GOOD"]
    assert [o["external_id"] for o in decision.changes.new_orders] == ["GOOD"]
    assert decision.changes.reserved == {(TEE, WH): 1}


def test_returns_go_to_the_return_location_when_it_is_known() -> None:
    returned = order(
        "A",
        OrderLine("1", "MUG", 2, fulfilled=2, restocked=1),
        status=OrderStatus.CLOSED,
        return_location="STORE",
    )
    decision = decide(channel(), [returned], view(), at=AT)
    kinds = [(m["kind"], m["location_id"], m["quantity"]) for m in decision.changes.movements]
    assert kinds == [("sale", WH, -2), ("return", STORE, 1)]


def test_returned_units_the_channel_did_not_restock_go_to_their_buckets_one_key_a_unit() -> None:
    """Damaged and to-inspect units are journalled into their buckets where they came back, one
    movement per unit keyed by its rank: a later version with one more damaged unit journals only
    that one (the earlier keys are taken), and nothing of it reaches the stock the page routes on."""
    line = OrderLine("1", "MUG", 3, fulfilled=3, restocked=1, damaged=1, to_inspect=1)
    returned = order("A", line, status=OrderStatus.CLOSED, return_location="STORE")
    decision = decide(channel(), [returned], view(), at=AT)
    moves = [
        (m["kind"], m["location_id"], m["quantity"], m["bucket"], m["idempotency_key"].split(":")[-2:])
        for m in decision.changes.movements
    ]
    assert moves == [
        ("sale", WH, -3, None, ["sale", "0->3"]),
        ("return", STORE, 1, None, ["return", "0->1"]),
        ("return", STORE, 1, "damaged", ["damaged", "1"]),
        ("return", STORE, 1, "inspect", ["inspect", "1"]),
    ]
    more = order("A", OrderLine("1", "MUG", 3, fulfilled=3, restocked=1, damaged=2, to_inspect=1))
    keys = [m["idempotency_key"] for m in decide(channel(), [more], view(), at=AT).changes.movements]
    assert [k.split(":")[-2:] for k in keys if ":damaged:" in k] == [["damaged", "1"], ["damaged", "2"]]


def test_the_channels_own_count_moves_with_its_orders_unless_a_read_holds_them() -> None:
    page = [order("A", OrderLine("1", "MUG", 2)), order("B", OrderLine("1", "TEE", 1))]
    read = {TEE: AT + timedelta(seconds=1)}  # TEE was read live after B was placed
    decision = decide(channel(Decrements.ON_ORDER), page, view(read_at=read), at=AT)
    assert decision.changes.shifted is not None
    assert dict(decision.changes.shifted.taken) == {MUG: 2}
    assert decide(channel(), page, view(), at=AT).changes.shifted is None


def test_repeats_of_an_order_are_decided_in_later_rounds() -> None:
    a, b, a2 = order("A"), order("B"), order("A", status=OrderStatus.CANCELLED)
    assert rounds([a, b, a2, a]) == [[a, b], [a2], [a]]


def test_decreases_is_more_reserved_or_sales_a_reservation_did_not_cover() -> None:
    assert decreases(1, 0)
    assert decreases(0, 1)
    assert not decreases(-1, 1)
    assert not decreases(-2, 1)
    assert decreases(-1, 2)
    assert not decreases(0, 0)
    assert not decreases(-1, 0)


def test_retry_releases_lines_whose_sku_is_now_known() -> None:
    lines = [
        QuarantinedLine(70, "web", "A", "open", "1", "MUG", 2, 1, 0, 0),
        QuarantinedLine(71, "web", "B", "open", "1", "STILL-UNKNOWN", 1, 0, 0, 0),
        QuarantinedLine(72, "gone", "C", "open", "1", "MUG", 1, 0, 0, 0),
    ]
    changes, done = retry({"web": channel()}, lines, view(), at=AT)
    assert done == 1
    (update,) = changes.line_updates
    assert (update["id"], update["product_id"], update["location_id"], update["quarantined"]) == (
        70,
        MUG,
        WH,
        False,
    )
    assert changes.new_reservations[0]["line_pk"] == 70
    assert changes.new_reservations[0]["quantity"] == 1
    assert [m["idempotency_key"] for m in changes.movements] == ["order:web:A:1:sale:0->1"]


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@given(
    lines=st.lists(
        st.tuples(_text, _text, *[st.integers(min_value=0, max_value=10**12)] * 5),
        max_size=4,
        unique_by=lambda t: t[0],
    ),
    location=st.none() | _text,
    returned=st.none() | _text,
    status=st.sampled_from(list(OrderStatus)),
)
def test_the_digest_text_is_the_canonical_json_of_its_definition(
    lines: list[tuple[str, str, int, int, int, int, int]],
    location: str | None,
    returned: str | None,
    status: OrderStatus,
) -> None:
    """The digest written directly is byte for byte ``json.dumps(body, sort_keys=True)``: digests the
    ledger stored before stay valid, and a re-delivery is still skipped; a refund changes it."""
    placed = Order(
        "A",
        status,
        AT,
        tuple(OrderLine(*line[:6], refunded=line[6]) for line in lines),
        location=location,
        return_location=returned,
    )
    assert _digest_text(placed) == _digest_body(placed)
    odd = Order("B", status, AT, (OrderLine("1", "MUG", True, 0),))  # a bool is not an int in JSON
    assert _digest_text(odd) == _digest_body(odd)


def test_a_version_older_than_the_one_applied_is_stale_and_left_out() -> None:
    """A webhook delivered after a later pull carries an older version: it is not applied (it would
    take back a sale), nor is a re-delivery of the version applied; a newer one, or one of the same
    update time with other numbers, is."""
    line = OrderLine("l1", "MUG", 1)
    older = Order("o1", OrderStatus.OPEN, AT - timedelta(minutes=1), (line,))
    same_time = Order("o2", OrderStatus.OPEN, AT, (line,))
    newer = Order("o3", OrderStatus.OPEN, AT + timedelta(minutes=1), (line,))
    repeat = Order("o4", OrderStatus.OPEN, AT, (line,))
    new = Order("o5", OrderStatus.OPEN, AT, (line,))
    stored = {name: StoredVersion(n, "applied", AT) for n, name in enumerate(["o1", "o2", "o3", "o4"])}
    digests = {"o1": "d1", "o2": "d2", "o3": "d3", "o4": "applied", "o5": "d5"}
    work, unchanged, stale = triage([older, same_time, newer, repeat, new], digests, stored)
    assert [o.external_id for o in work] == ["o2", "o3", "o5"]
    assert unchanged == 1
    assert [o.external_id for o in stale] == ["o1"]
