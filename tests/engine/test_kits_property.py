"""Property: after any sequence of sales of kits and of their components, on any channel, and of
cancellations and fulfilments, no channel is offered more of a kit than its components allow, and
over all the listings of one channel drawing on a component (the component itself, its kits and
packs) never more of the component than the channel may offer of it."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from enginekit import World, kit_world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisync.allocation import LocationStock
from omnisync.engine.targets import SkuState
from omnisync.kits import kit_stock

KITS = {"GIFT": (("MUG", 2), ("LID", 1)), "SIX": (("MUG", 6),)}
SKUS = ("MUG", "LID", "GIFT", "SIX")
operations = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.sampled_from(("web", "pos")), st.sampled_from(SKUS), st.integers(1, 3)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("fulfil"), st.integers(0, 20)),
        st.tuples(st.just("sync"), st.sampled_from(("web", "pos", "both"))),
    ),
    min_size=1,
    max_size=14,
)


def allowed(w: World, channel: str, kit: str) -> int:
    """What the components allow: Σ over the channel's sources of the kit's units there."""
    with w.ledger.read() as conn:
        ids = w.ledger.find_product_ids(conn, [sku for sku, _ in KITS[kit]])
        codes = {lid: row.code for lid, row in w.ledger.locations(conn).items()}
        stock = w.ledger.stock_for(conn, list(ids.values()))
    per_component = {
        sku: {codes[lid]: numbers for lid, numbers in stock.get(ids[sku], {}).items()} for sku in ids
    }
    kits = kit_stock(KITS[kit], per_component)
    sources = w.engine.calculator.channels[channel].sources
    return sum(kits[code].kits for code in sources if code in kits)


def offer_alone(w: World, channel: str, sku: str) -> int:
    """What the channel may offer of a component as if no other listing drew on it: its own rules on
    its own stock."""
    with w.ledger.read() as conn:
        pid = w.ledger.product_id(conn, sku)
        codes = {lid: row.code for lid, row in w.ledger.locations(conn).items()}
        stock = w.ledger.stock_for(conn, [pid]).get(pid, {})
        product = w.ledger.products(conn, [sku])[0]
    state = SkuState(
        sku,
        product.tags,
        product.price,
        product.currency,
        product.active,
        {codes[lid]: LocationStock(codes[lid], *numbers) for lid, numbers in stock.items()},
    )
    return w.engine.calculator.targets(state, w.clock.now())[channel].allocation.offered


def check(w: World) -> None:
    """The explained and the planned numbers of every kit on every channel within what is allowed,
    and of every component over all the listings drawing on it."""
    for channel in ("web", "pos"):
        planned = {i.sku: i.quantity for i in w.engine.plan(channel, all_pairs=True)}
        offered = {sku: w.engine.explain(sku)[channel][0].allocation.offered for sku in SKUS}
        for kit in KITS:
            most = allowed(w, channel, kit)
            assert offered[kit] <= most, (channel, kit)
            assert (planned.get(kit) or 0) <= most, (channel, kit)
        for component in ("MUG", "LID"):
            drawing = {component: 1} | {k: q for k, parts in KITS.items() for c, q in parts if c == component}
            shown = {sku: max(offered[sku], planned.get(sku) or 0) for sku in drawing}
            taken = sum(q * shown[sku] for sku, q in drawing.items())
            assert taken <= offer_alone(w, channel, component), (channel, component, shown)


async def run(folder: Path, ops: list[tuple[object, ...]]) -> None:
    w = await kit_world(folder, f"sqlite:///{folder / 'ledger.db'}")
    await w.engine.sync_once()
    api = {"web": w.web, "pos": w.pos}
    placed: list[tuple[str, str, int]] = []
    for op in ops:
        w.clock.advance(5)
        if op[0] == "buy":
            _, channel, sku, units = op
            name = "WEB-MUG" if channel == "web" and sku == "MUG" else str(sku)
            if api[str(channel)].items[name].quantity >= int(units):  # type: ignore[call-overload]
                placed.append((str(channel), api[str(channel)].place_order(name, int(units)), int(units)))  # type: ignore[call-overload]
        elif op[0] in ("cancel", "fulfil") and placed:
            channel, order, units = placed[int(op[1]) % len(placed)]  # type: ignore[call-overload]
            if api[channel].orders[order].status == "open":
                if op[0] == "cancel":
                    api[channel].update_order(order, status="cancelled")
                else:
                    api[channel].update_order(order, status="fulfilled", fulfilled=units)
        elif op[0] == "sync":
            for channel in ("web", "pos") if op[1] == "both" else (str(op[1]),):
                await w.engine.cycle(channel)
        check(w)
    await w.engine.sync_once()
    await w.engine.sync_once()
    for channel in ("web", "pos"):
        for kit in KITS:
            assert api[channel].items[kit].quantity <= allowed(w, channel, kit), (channel, kit)
    # the components hold what the orders say, counted apart from the ledger's own rules
    held = {"MUG": [15, 0], "LID": [3, 0]}
    for channel, order, units in placed:
        found = api[channel].orders[order]
        sku = "MUG" if found.sku == "WEB-MUG" else found.sku
        for component, quantity in KITS.get(sku, ((sku, 1),)):
            if found.status == "open":
                held[component][1] += units * quantity
            elif found.status == "fulfilled":
                held[component][0] -= units * quantity
    with w.ledger.read() as conn:
        ids = w.ledger.find_product_ids(conn, list(held))
        stock = w.ledger.stock_for(conn, list(ids.values()))
    for sku, (on_hand, reserved) in held.items():
        numbers = stock[ids[sku]].values()
        assert (sum(n[0] for n in numbers), sum(n[1] for n in numbers)) == (on_hand, reserved), sku
    await w.engine.aclose()
    w.ledger.engine.dispose()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_no_channel_is_offered_more_of_a_kit_than_its_components_allow(ops: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp), ops))
