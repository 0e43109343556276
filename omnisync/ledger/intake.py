"""Intake's calls on the ledger: what it holds for a page of orders, and one call that applies a page.

A page's changes touch several aggregates in one transaction (orders and their lines, reservations
and the movement journal with the cached stock they move, product versions, the channel's listings),
so this module composes their writes; it decides nothing (:mod:`omnisync.engine.intake_rules` does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import bindparam, select, update

from .intake_rows import (
    IntakeChanges,
    IntakeView,
    LineValues,
    StoredLine,
    StoredOrder,
    StoredVersion,
)
from .kits import components_among, kits_of
from .listings import ListingWrites
from .orders import OrderWrites
from .sales import refresh_order_totals
from .statements import execute_many, execute_once, insert_many, one_of
from .stock import StockWrites
from .supply import incoming_for
from .tables import OL, LedgerError, O, P, R

LINE_VALUES = tuple(LineValues.__annotations__)

ORDER_UPDATE = (
    update(O)
    .where(O.c.id == bindparam("pk"))
    .values(
        status=bindparam("v_status"),
        digest=bindparam("v_digest"),
        location_id=bindparam("v_location_id"),
        updated_at=bindparam("v_updated_at"),
        currency=bindparam("v_currency"),
    )
)
LINE_UPDATE = (
    update(OL)
    .where(OL.c.id == bindparam("pk"))
    .values({name: bindparam(f"v_{name}") for name in LINE_VALUES})
)
STORED_LINES = (
    select(OL, P.c.sku, R.c.quantity.label("reserved"), R.c.location_id.label("reserved_at"))
    .outerjoin(P, P.c.id == OL.c.product_id)
    .outerjoin(R, R.c.order_line_id == OL.c.id)
    .where(one_of(OL.c.order_id, "ids"))
)
ORDERS_OF_LINES = select(OL.c.order_id).where(one_of(OL.c.id, "ids")).distinct()
RESERVATION_UPDATE = (
    update(R).where(R.c.order_line_id == bindparam("pk")).values(quantity=bindparam("v_quantity"))
)


class IntakeWrites(OrderWrites, StockWrites, ListingWrites):
    def intake_view(
        self,
        channel_id: int,
        held: Mapping[str, StoredVersion],
        skus: Iterable[str],
        codes: Iterable[str],
        *,
        read_times: bool,
    ) -> IntakeView:
        """What intake decides on: the lines of ``held`` orders (external id -> (order id, digest)),
        the products and stock of ``skus``, the ids of the location ``codes`` that exist and, with
        ``read_times``, when the channel's quantity of those products was last read live."""
        products = self.ledger.find_product_ids(self.conn, skus)
        kits = kits_of(self.conn, products.values())
        components = {c for parts in kits.values() for c, _, _ in parts}
        locations: dict[str, int] = {}
        for code in codes:
            try:
                locations[code] = self.ledger.location_id(self.conn, code)
            except LedgerError:
                continue
        return IntakeView(
            orders=self._stored_orders(held),
            products=products,
            stock=self.ledger.stock_for(self.conn, sorted(set(products.values()) | components)),
            locations=locations,
            incoming={
                pid: {lid: units for lid, (units, _) in per_location.items()}
                for pid, per_location in incoming_for(self.conn, list(products.values())).items()
            },
            read_at=self.observed_at(channel_id, products.values()) if read_times else {},
            kits=kits,
            in_kits=components_among(self.conn, set(products.values()) | components),
        )

    def _stored_orders(self, held: Mapping[str, StoredVersion]) -> dict[str, StoredOrder]:
        by_id = {version.id: external_id for external_id, version in held.items()}
        lines: dict[int, dict[str, StoredLine]] = {order_id: {} for order_id in by_id}
        if by_id:
            for r in self.conn.execute(STORED_LINES, {"ids": list(by_id)}):
                lines[int(r.order_id)][str(r.line_id)] = StoredLine(
                    pk=int(r.id),
                    sku=r.sku,
                    product_id=r.product_id,
                    location_id=r.location_id,
                    quantity=r.quantity,
                    fulfilled=r.fulfilled,
                    cancelled=r.cancelled,
                    restocked=r.restocked,
                    applied_fulfilled=r.applied_fulfilled,
                    applied_restocked=r.applied_restocked,
                    quarantined=bool(r.quarantined),
                    quarantine_reason=r.quarantine_reason,
                    reserved=r.reserved,
                    reserved_at=r.reserved_at,
                    oversold=r.oversold,
                )
        return {
            external_id: StoredOrder(version.id, version.digest, lines[version.id])
            for external_id, version in held.items()
        }

    def apply_intake(self, changes: IntakeChanges) -> None:
        """Write a page's changes: orders, lines, reservations, the journal and the stock it moves,
        one version bump per product touched and the channel's own count shifted. A movement whose
        idempotency key is journalled already changes nothing. The new lines of new orders get their
        order's id (``changes`` is spent: it is written once)."""
        conn = self.conn
        order_ids = {
            str(external_id): int(oid)
            for external_id, oid in insert_many(conn, O, changes.new_orders, returning=("external_id", "id"))
        }
        if changes.order_updates:
            execute_many(
                conn,
                ORDER_UPDATE,
                [
                    {
                        "pk": u["id"],
                        "v_status": u["status"],
                        "v_digest": u["digest"],
                        "v_location_id": u["location_id"],
                        "v_updated_at": u["updated_at"],
                        "v_currency": u["currency"],
                    }
                    for u in changes.order_updates
                ],
            )
        for new_line in changes.new_lines:  # the lines of orders inserted above get their order's id
            if new_line["order_id"] is None:
                new_line["order_id"] = order_ids[new_line["external_id"]]
        # a new line's keys but ``external_id``, which found its order
        columns = [key for key in changes.new_lines[0] if key != "external_id"] if changes.new_lines else []
        found = insert_many(
            conn, OL, changes.new_lines, returning=("order_id", "line_id", "id"), columns=columns
        )
        line_pks = {(int(oid), str(line_id)): int(pk) for oid, line_id, pk in found}
        if changes.line_updates:
            execute_many(
                conn,
                LINE_UPDATE,
                [{"pk": u["id"], **{f"v_{k}": u[k] for k in LINE_VALUES}} for u in changes.line_updates],  # type: ignore[literal-required]
            )
        self._reserve(changes, order_ids, line_pks)
        self._refresh_totals(
            changes,
            order_ids.values(),
            {oid for row in changes.new_lines if (oid := row["order_id"]) is not None},
        )
        deltas = {pair: (0, n) for pair, n in changes.reserved.items()}
        touched = set(changes.touched)
        journalled = self.insert_movements(changes.movements)
        for movement in changes.movements:
            if movement["idempotency_key"] in journalled and movement.get("bucket") is None:
                pair = (movement["product_id"], movement["location_id"])
                on_hand, reserved = deltas.get(pair, (0, 0))
                deltas[pair] = (on_hand + movement["quantity"], reserved)
                touched.add(movement["product_id"])
        self.apply_stock(deltas, changes.stock_rows)
        self.touch_products(touched)
        if changes.shifted is not None:
            self.shift(changes.channel_id, changes.shifted)

    def _refresh_totals(
        self, changes: IntakeChanges, new_orders: Iterable[int], new_line_orders: Iterable[int]
    ) -> None:
        """The cached sales totals of every order whose lines this call wrote."""
        orders = {*new_orders, *new_line_orders, *(u["id"] for u in changes.order_updates)}
        if changes.line_updates:
            pks = [u["id"] for u in changes.line_updates]
            orders.update(oid for (oid,) in execute_once(self.conn, ORDERS_OF_LINES, {"ids": pks}))
        refresh_order_totals(self.conn, orders)

    def _reserve(
        self, changes: IntakeChanges, order_ids: Mapping[str, int], line_pks: Mapping[tuple[int, str], int]
    ) -> None:
        rows = [
            {
                "order_line_id": r["line_pk"]
                if r["line_pk"] is not None
                else line_pks[(order_ids[r["external_id"]], r["line_id"])],
                "product_id": r["product_id"],
                "location_id": r["location_id"],
                "quantity": r["quantity"],
            }
            for r in changes.new_reservations
        ]
        insert_many(self.conn, R, rows)
        if changes.reservation_updates:
            execute_many(
                self.conn,
                RESERVATION_UPDATE,
                [{"pk": u["line_pk"], "v_quantity": u["quantity"]} for u in changes.reservation_updates],
            )
