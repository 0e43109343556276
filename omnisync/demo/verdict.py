"""The demo's verdict: the invariants (:mod:`omnisync.invariants`) over the ledger and the channels,
and the table a person reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnisync import invariants
from omnisync.engine.runtime import Engine
from omnisync.ledger import queries

from .channels import DemoChannel
from .shoppers import Catalogue

if TYPE_CHECKING:
    from .listings import ListingSync


def verdict(
    engine: Engine,
    channels: list[DemoChannel],
    catalogue: Catalogue,
    notes: list[str],
    seconds: float,
    listing: ListingSync | None = None,
) -> dict[str, Any]:
    ledger = engine.ledger
    skus = [item[0] for item in catalogue.items] + (listing.skus if listing is not None else [])
    listed = listing.problems() if listing is not None else {}
    by_name = {ch.name: ch for ch in channels}
    offers = invariants.offers(engine, skus, by_name)
    drift = invariants.convergence(offers, {name: ch.quantity for name, ch in by_name.items()})
    offered = {name: sum(offers[name].values()) for name in by_name}
    live = {name: sum(ch.quantity(sku) or 0 for sku in offers[name]) for name, ch in by_name.items()}
    mismatched = {name: [str(m) for m in drift[name]] for name in by_name}
    with ledger.read() as conn:
        oversold = {r.product_id: r.units for r in queries.oversold(conn)}
        oversold_by_channel: dict[int, int] = {}
        for pid, units in oversold.items():
            last = queries.last_order_channel(conn, pid)
            if last is not None:
                oversold_by_channel[last] = oversold_by_channel.get(last, 0) + units
        imported = {
            name: queries.imported_orders(conn, rt.channel_id) for name, rt in engine.channels.items()
        }
    out_channels: dict[str, Any] = {}
    for name, ch in by_name.items():
        rt = engine.channels[name]
        check = invariants.check_orders(ch.placed, imported[name])
        out_channels[name] = {
            "connector": ch.connector,
            "orders_placed": len(ch.placed),
            "sold_out": ch.sold_out,
            "drift_reconciled": ch.drift_reconciled,
            "orders_imported": len(imported[name]),
            "orders_lost": len(check.missing),
            "orders_unexpected": len(check.unexpected),
            "orders_duplicated": check.duplicated,
            "items_pushed": rt.health.items_pushed,
            "api_calls": rt.stats.total_calls,
            "throttles": rt.stats.total_throttled,
            "offered": offered[name],
            "channel_quantity": live[name],
            "converged": not mismatched[name],
            "mismatches": mismatched[name][:10],
            "oversold_units": oversold_by_channel.get(rt.channel_id, 0),
            "listings": "; ".join(listed[name]) if listed.get(name) else ("ok" if name in listed else "-"),
            "state": rt.health.state,
            "last_error": rt.health.last_error,
        }
    problems = []
    total_oversold = sum(oversold.values())
    if total_oversold:
        problems.append(f"{total_oversold} unit(s) oversold")
    for name, c in out_channels.items():
        if c["orders_lost"]:
            problems.append(f"{name}: {c['orders_lost']} order(s) not imported")
        if c["orders_duplicated"]:
            problems.append(f"{name}: duplicated orders")
        if c["orders_unexpected"]:
            problems.append(f"{name}: {c['orders_unexpected']} order(s) in the ledger that were never placed")
        if not c["converged"]:
            problems.append(f"{name}: {len(mismatched[name])} SKU(s) not converged")
        for problem in listed.get(name, []):
            problems.append(f"{name}: listing {problem}")
    return {
        "ok": not problems,
        "seconds": seconds,
        "skus": len(catalogue.items),
        "oversold_units": total_oversold,
        "channels": out_channels,
        "problems": problems,
        "notes": notes,
        "listing_sync": [
            {"product": e.key, "published": e.published, "variants": list(e.variants)}
            for e in (listing.expected() if listing is not None else [])
        ],
    }


def print_verdict(summary: dict[str, Any]) -> None:
    import sys

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    # piped or captured, the table keeps its columns whole (rich would cut them at 80 characters)
    console = Console(width=None if sys.stdout.isatty() else 120)
    for note in summary["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}")
    table = Table(title=f"omnisync demo: {summary['skus']} SKUs, {summary['seconds']:g} s of trading")
    for col in (
        "channel",
        "orders",
        "pushed",
        "calls",
        "throttled",
        "offered",
        "shown",
        "oversold",
    ):  # the listing sync's verdict is the line under the table
        table.add_column(col, justify="left" if col == "channel" else "right")
    for name, c in summary["channels"].items():
        table.add_row(
            name,
            f"{c['orders_imported']}/{c['orders_placed']}",
            str(c["items_pushed"]),
            str(c["api_calls"]),
            str(c["throttles"]),
            str(c["offered"]),
            str(c["channel_quantity"]),
            str(c["oversold_units"]),
        )
    console.print(table)
    if summary["ok"]:
        console.print("[green]✓ no oversell, every order imported exactly once, every channel converged[/]")
        synced = summary.get("listing_sync") or []
        if synced:
            said = ", ".join(
                f"{x['product']} {'listed' if x['published'] else 'unpublished'}" for x in synced
            )
            console.print(f"[green]✓ listings from the catalogue on every channel: {said}[/]")
    else:
        for problem in summary["problems"]:
            console.print(f"[red]✗ {escape(problem)}[/]")
    if summary["channels"]:
        console.print(
            "[dim]The orders, offered, shown and oversold counts are the same from the same --seed; "
            "pushed, calls and throttled depend on timing.[/]"
        )
    if summary.get("next_commands"):
        console.print("Continue on what it left behind:")
        for command in summary["next_commands"]:
            console.print(f"  {escape(command)}", soft_wrap=True, highlight=False)
