"""Kits: which SKUs are made of which components (``kit_component``), read and written.

A kit's numbers on every channel follow its components' stock, so a change to a component's stock
bumps the version of every kit using it and marks their listings dirty, in the same transaction
(:meth:`~omnisync.ledger.txbase.TxBase.touch_products`). The arithmetic is :mod:`omnisync.kits`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, and_, delete, select

from omnisync.kits import Component, Draw, Draws, KitError, check_kits, draw_order

from .statements import execute_once, insert_many, one_of
from .tables import KC, LI, P

KIT_ROWS = (
    select(KC.c.kit_id, KC.c.component_id, P.c.sku, KC.c.quantity)
    .join(P, P.c.id == KC.c.component_id)
    .where(one_of(KC.c.kit_id, "ids"))
)
COMPONENTS_AMONG = select(KC.c.component_id).where(one_of(KC.c.component_id, "ids")).distinct()
KITS_USING = select(KC.c.kit_id).where(one_of(KC.c.component_id, "ids")).distinct()
COMPONENTS_OF = select(KC.c.component_id).where(one_of(KC.c.kit_id, "ids")).distinct()

KitRows = dict[int, tuple[tuple[int, str, int], ...]]
"""Kit product id -> its components as (component product id, component SKU, quantity per kit)."""


def kits_of(conn: Connection, product_ids: Iterable[int]) -> KitRows:
    """The kits among ``product_ids`` and their components (a plain SKU is left out)."""
    ids = sorted(set(product_ids))
    out: dict[int, list[tuple[int, str, int]]] = {}
    if ids:
        for kit_id, component_id, sku, quantity in execute_once(conn, KIT_ROWS, {"ids": ids}):
            out.setdefault(int(kit_id), []).append((int(component_id), str(sku), int(quantity)))
    return {kit: tuple(sorted(rows, key=lambda r: r[1])) for kit, rows in out.items()}


def kits_using(conn: Connection, component_ids: Iterable[int]) -> set[int]:
    """The kits with one of ``component_ids`` among their components."""
    ids = sorted(set(component_ids))
    if not ids:
        return set()
    return {int(kit_id) for (kit_id,) in execute_once(conn, KITS_USING, {"ids": ids})}


def sharing_with(conn: Connection, product_id: int) -> set[int]:
    """The other products whose share of a component on a channel changes when ``product_id`` is
    listed there or stops being: a kit's components and every kit drawing on one of them; a
    component's kits. Empty for a SKU in no kit (most: one indexed read)."""
    touched = {product_id} | {int(c) for (c,) in execute_once(conn, COMPONENTS_OF, {"ids": [product_id]})}
    group = touched | kits_using(conn, touched)
    return group - {product_id} if len(group) > 1 else set()


def components_among(conn: Connection, product_ids: Iterable[int]) -> set[int]:
    """Those of ``product_ids`` that are a component of some kit."""
    ids = sorted(set(product_ids))
    if not ids:
        return set()
    return {int(pid) for (pid,) in execute_once(conn, COMPONENTS_AMONG, {"ids": ids})}


def all_kits(conn: Connection) -> dict[str, tuple[Component, ...]]:
    """Every kit SKU and its components (by component SKU)."""
    kit = P.alias("kit")
    q = (
        select(kit.c.sku, P.c.sku, KC.c.quantity)
        .join(kit, kit.c.id == KC.c.kit_id)
        .join(P, P.c.id == KC.c.component_id)
        .order_by(kit.c.sku, P.c.sku)
    )
    out: dict[str, list[Component]] = {}
    for kit_sku, sku, quantity in conn.execute(q):
        out.setdefault(str(kit_sku), []).append(Component(str(sku), int(quantity)))
    return {k: tuple(v) for k, v in out.items()}


DRAWING = (
    select(LI.c.channel_id, KC.c.kit_id, P.c.sku, KC.c.component_id, KC.c.quantity)
    .join(LI, and_(LI.c.product_id == KC.c.kit_id, LI.c.missing.is_(False)))
    .join(P, P.c.id == KC.c.kit_id)
    .where(one_of(KC.c.component_id, "ids"))
)
LISTED_ANYWHERE = select(LI.c.channel_id, LI.c.product_id).where(
    and_(one_of(LI.c.product_id, "ids"), LI.c.missing.is_(False))
)


def draws_on(conn: Connection, components: Mapping[int, str]) -> dict[int, Draws]:
    """Channel id -> the listings there drawing on ``components`` (product id -> SKU): the kits
    listed there using them and each component itself when listed there too, named by SKU, in the
    order they are served (:func:`~omnisync.kits.draw_order`). The array form for a plan chunk is
    :func:`omnisync.kits.shared_columns` over :class:`~omnisync.ledger.plan_rows.PlanQueries`' rows."""
    ids = sorted(components)
    if not ids:
        return {}
    groups: dict[int, dict[int, list[Draw]]] = {}
    for channel_id, kit_id, kit_sku, component_id, quantity in execute_once(conn, DRAWING, {"ids": ids}):
        per_channel = groups.setdefault(int(channel_id), {})
        per_channel.setdefault(int(component_id), []).append(Draw(str(kit_sku), int(quantity), int(kit_id)))
    for channel_id, product_id in execute_once(conn, LISTED_ANYWHERE, {"ids": ids}):
        drawing = groups.get(int(channel_id), {}).get(int(product_id))
        if drawing is not None:  # a component listed where a kit draws on it draws on itself too
            drawing.append(Draw(components[int(product_id)], 1, int(product_id)))
    return {
        channel_id: {components[c]: draw_order(d, components[c]) for c, d in per_channel.items()}
        for channel_id, per_channel in groups.items()
    }


def has_kits(conn: Connection) -> bool:
    return conn.execute(select(KC.c.kit_id).limit(1)).first() is not None


def define_kits(
    conn: Connection, kits: Mapping[str, Sequence[Component]], ids: Mapping[str, int]
) -> set[int]:
    """Set the components of each kit SKU of ``kits`` (an empty sequence: the SKU is no kit any
    more). ``ids`` maps every SKU named to its product id. Refuses a nested kit, a kit of itself or
    an unknown component with :class:`~omnisync.kits.KitError`, before writing anything. Returns the
    product ids of the kits whose definition changed and of their components, old and new (their
    numbers must be re-planned: a component's share among the listings drawing on it changes)."""
    current = all_kits(conn)
    after = {sku: c for sku, c in {**current, **{s: tuple(c) for s, c in kits.items()}}.items() if c}
    check_kits(kits, ids, set(after) - set(kits))
    used = {c.sku for components in after.values() for c in components}
    for sku in kits:
        if after.get(sku) and sku in used:
            raise KitError(f"kit {sku}: it is a component of another kit (kits cannot be nested)")
    changed: set[int] = set()
    for sku, components in kits.items():
        if tuple(components) == current.get(sku, ()):
            continue
        kit_id = ids[sku]
        changed.add(kit_id)
        changed.update(ids[c.sku] for c in (*components, *current.get(sku, ())) if c.sku in ids)
        conn.execute(delete(KC).where(KC.c.kit_id == kit_id))
        insert_many(
            conn,
            KC,
            [{"kit_id": kit_id, "component_id": ids[c.sku], "quantity": c.quantity} for c in components],
        )
    return changed
