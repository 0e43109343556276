"""Orders in the Square emulator: walk-in sales, click-and-collect pickups, returns, and their webhooks.

Like Square with automatic inventory tracking, a COMPLETED order moves its units IN_STOCK -> SOLD at
the order's location; an OPEN order changes no count until it completes; a return order with restock
moves units back into IN_STOCK at the store where the goods came back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import SquareEmulator

Json = dict[str, Any]


def _money(emu: SquareEmulator, variation_id: str, units: int) -> tuple[Json, Json]:
    price = emu.variations[variation_id]["item_variation_data"].get("price_money") or {}
    amount = int(price.get("amount", 0))
    currency = str(price.get("currency", emu.currency))
    return {"amount": amount, "currency": currency}, {"amount": amount * units, "currency": currency}


def _line(emu: SquareEmulator, variation_id: str, units: int) -> Json:
    variation = emu.variations[variation_id]
    item = emu.items.get(variation["item_variation_data"]["item_id"], {})
    base, total = _money(emu, variation_id, units)
    return {
        "uid": emu.new_id(22),
        "name": item.get("item_data", {}).get("name", "Item"),
        "variation_name": variation["item_variation_data"].get("name", "Regular"),
        "quantity": str(units),
        "catalog_object_id": variation_id,
        "catalog_version": variation["version"],
        "item_type": "ITEM",
        "base_price_money": base,
        "variation_total_price_money": total,
        "gross_sales_money": total,
        "total_money": total,
    }


def new_order(
    emu: SquareEmulator,
    location_id: str,
    lines: Sequence[tuple[str, int]],
    state: str,
    *,
    pickup: bool = False,
) -> Json:
    now = emu.now()
    line_items = [_line(emu, vid, units) for vid, units in lines]
    total = sum(li["total_money"]["amount"] for li in line_items)
    order: Json = {
        "id": emu.new_id(27),
        "location_id": location_id,
        "state": state,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "source": {"name": "Square Online" if pickup else "Square Point of Sale"},
        "line_items": line_items,
        "total_money": {"amount": total, "currency": emu.currency},
    }
    if pickup:
        order["fulfillments"] = [
            {
                "uid": emu.new_id(22),
                "type": "PICKUP",
                "state": "PROPOSED",
                "pickup_details": {
                    "recipient": {"display_name": "Online customer"},
                    "schedule_type": "ASAP",
                    "prep_time_duration": "PT20M",
                },
            }
        ]
    if state == "COMPLETED":
        order["closed_at"] = now
    emu.orders[order["id"]] = order
    _announce(emu, order, "order.created")
    if state == "COMPLETED":
        _sell(emu, order)
    return order


def set_state(emu: SquareEmulator, order_id: str, state: str) -> None:
    order = emu.orders[order_id]
    if order["state"] != "OPEN":
        raise ValueError(f"order {order_id} is {order['state']}, not OPEN")
    now = emu.now()
    order.update(state=state, updated_at=now, closed_at=now, version=int(order["version"]) + 1)
    for fulfillment in order.get("fulfillments", []):
        fulfillment["state"] = "COMPLETED" if state == "COMPLETED" else "CANCELED"
    _announce(emu, order, "order.updated")
    if state == "COMPLETED":
        _sell(emu, order)


def new_return(
    emu: SquareEmulator,
    source_order_id: str,
    quantity: int | None,
    location_id: str,
    *,
    restock: bool,
    damaged: bool = False,
) -> str:
    source = emu.orders[source_order_id]
    sold = source["line_items"][0]
    units = quantity if quantity is not None else int(sold["quantity"])
    vid = sold["catalog_object_id"]
    base, total = _money(emu, vid, units)
    now = emu.now()
    refund_id = emu.new_id(27)
    order: Json = {
        "id": emu.new_id(27),
        "location_id": location_id,
        "state": "COMPLETED",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "closed_at": now,
        "source": {"name": "Square Point of Sale"},
        "returns": [
            {
                "uid": emu.new_id(22),
                "source_order_id": source_order_id,
                "return_line_items": [
                    {
                        "uid": emu.new_id(22),
                        "source_line_item_uid": sold["uid"],
                        "name": sold["name"],
                        "quantity": str(units),
                        "catalog_object_id": vid,
                        "item_type": "ITEM",
                        "base_price_money": base,
                        "total_money": total,
                    }
                ],
            }
        ],
        "return_amounts": {"total_money": total},
        "refunds": [
            {
                "id": refund_id,
                "location_id": location_id,
                "status": "APPROVED",
                "amount_money": total,
                "reason": "Returned goods",
                "created_at": now,
            }
        ],
        "total_money": {"amount": 0, "currency": emu.currency},
    }
    emu.orders[order["id"]] = order
    _announce(emu, order, "order.created")
    if restock or damaged:
        emu.move(vid, location_id, "SOLD", "IN_STOCK" if restock else "WASTE", units, refund_id=refund_id)
        _count_event(emu, [(vid, location_id)])
    return str(order["id"])


def _sell(emu: SquareEmulator, order: Json) -> None:
    pairs = []
    for li in order.get("line_items", []):
        vid = li.get("catalog_object_id")
        if vid in emu.variations:
            emu.move(vid, order["location_id"], "IN_STOCK", "SOLD", int(li["quantity"]))
            pairs.append((vid, order["location_id"]))
    _count_event(emu, pairs)


def _announce(emu: SquareEmulator, order: Json, event_type: str) -> None:
    kind = event_type.split(".")[1]
    detail = {
        "order_id": order["id"],
        "version": order["version"],
        "location_id": order["location_id"],
        "state": order["state"],
        "created_at": order["created_at"],
    }
    if kind == "updated":
        detail["updated_at"] = order["updated_at"]
    emu.emit(event_type, f"order_{kind}", order["id"], {f"order_{kind}": detail})


def count_record(emu: SquareEmulator, vid: str, location_id: str, state: str = "IN_STOCK") -> Json:
    return {
        "catalog_object_id": vid,
        "catalog_object_type": "ITEM_VARIATION",
        "state": state,
        "location_id": location_id,
        "quantity": str(emu.counts.get((vid, location_id, state), 0)),
        "calculated_at": emu.calculated_at.get((vid, location_id, state), emu.now()),
    }


def _count_event(emu: SquareEmulator, pairs: Sequence[tuple[str, str]]) -> None:
    if pairs:
        counts = [count_record(emu, vid, loc) for vid, loc in dict.fromkeys(pairs)]
        emu.emit("inventory.count.updated", "inventory_counts", emu.new_id(26), {"inventory_counts": counts})
