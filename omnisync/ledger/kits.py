"""Kits: which SKUs are made of which components (``kit_component``), read and written.

A kit's numbers on every channel follow its components' stock, so a change to a component's stock
bumps the version of every kit using it and marks their listings dirty, in the same transaction
(:meth:`~omnisync.ledger.txbase.TxBase.touch_products`). The arithmetic is :mod:`omnisync.kits`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, and_, bindparam, delete, func, select

from omnisync.kits import Component, KitError, check_kits

from .statements import execute_once, insert_many, one_of
from .tables import KC, LI, P

KIT_ROWS = (
    select(KC.c.kit_id, KC.c.component_id, P.c.sku, KC.c.quantity)
    .join(P, P.c.id == KC.c.component_id)
    .where(one_of(KC.c.kit_id, "ids"))
)
COMPONENTS_AMONG = select(KC.c.component_id).where(one_of(KC.c.component_id, "ids")).distinct()
KITS_USING = select(KC.c.kit_id).where(one_of(KC.c.component_id, "ids")).distinct()
LISTED = select(LI.c.product_id).where(
    and_(LI.c.channel_id == bindparam("channel"), one_of(LI.c.product_id, "ids"), LI.c.missing.is_(False))
)

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


def pool_groups(conn: Connection, channel_id: int) -> dict[str, tuple[str, ...]]:
    """The SKUs listed on the channel that share one pool: master SKU -> the master (when listed)
    and its pack and shadow listings (kits of it alone) listed there, for groups of two or more."""
    single = select(KC.c.kit_id).group_by(KC.c.kit_id).having(func.count() == 1).subquery()
    kit, master = P.alias("kit"), P.alias("master")
    pairs = conn.execute(
        select(kit.c.id, kit.c.sku, master.c.id, master.c.sku)
        .select_from(KC)
        .join(single, single.c.kit_id == KC.c.kit_id)
        .join(kit, kit.c.id == KC.c.kit_id)
        .join(master, master.c.id == KC.c.component_id)
    ).all()
    if not pairs:
        return {}
    wanted = {int(r[0]) for r in pairs} | {int(r[2]) for r in pairs}
    listed = {
        int(pid) for (pid,) in execute_once(conn, LISTED, {"channel": channel_id, "ids": sorted(wanted)})
    }
    groups: dict[str, set[str]] = {}
    for kit_id, kit_sku, master_id, master_sku in pairs:
        if kit_id in listed:
            members = groups.setdefault(str(master_sku), set())
            members.add(str(kit_sku))
            if master_id in listed:
                members.add(str(master_sku))
    return {m: tuple(sorted(skus)) for m, skus in sorted(groups.items()) if len(skus) > 1}


def has_kits(conn: Connection) -> bool:
    return conn.execute(select(KC.c.kit_id).limit(1)).first() is not None


def define_kits(
    conn: Connection, kits: Mapping[str, Sequence[Component]], ids: Mapping[str, int]
) -> set[int]:
    """Set the components of each kit SKU of ``kits`` (an empty sequence: the SKU is no kit any
    more). ``ids`` maps every SKU named to its product id. Refuses a nested kit, a kit of itself or
    an unknown component with :class:`~omnisync.kits.KitError`, before writing anything. Returns the
    product ids of the kits whose definition changed (their numbers must be re-planned)."""
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
        conn.execute(delete(KC).where(KC.c.kit_id == kit_id))
        insert_many(
            conn,
            KC,
            [{"kit_id": kit_id, "component_id": ids[c.sku], "quantity": c.quantity} for c in components],
        )
    return changed
