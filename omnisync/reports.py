"""Plain-data views of engine state for the CLI and the daemon (no secrets ever)."""

from __future__ import annotations

from typing import Any

from omnisync.engine.planner import PlannedItem
from omnisync.engine.runtime import CycleReport, Engine
from omnisync.engine.targets import Target
from omnisync.ledger import queries
from omnisync.ledger.repository import ListingRow
from omnisync.sdk.registry import available_connectors, load_connector


def connector_rows() -> list[dict[str, Any]]:
    rows = []
    for name in available_connectors():
        try:
            cls = load_connector(name)
        except Exception as exc:  # a broken plugin is listed, not fatal
            rows.append({"name": name, "capabilities": [f"failed to load: {exc}"], "push_inventory_batch": 0})
            continue
        rows.append(
            {
                "name": name,
                "capabilities": sorted(c.value for c in cls.capabilities),
                "push_inventory_batch": cls.limits.push_inventory.max_batch,
            }
        )
    return rows


def planned_row(item: PlannedItem) -> dict[str, Any]:
    steps = item.target.allocation.steps
    return {
        "channel": item.channel,
        "sku": item.sku,
        "channel_sku": item.channel_sku,
        "quantity": item.quantity,
        "previous": item.previous,
        "price": None if item.price is None else f"{item.price} {item.currency}",
        "available": item.available,
        "version": item.version,
        "why": "; ".join(f"{s.rule}: {s.detail}" for s in steps[-3:]),
    }


def cycle_row(r: CycleReport) -> dict[str, Any]:
    return {
        "ok": r.ok,
        "skipped": r.skipped,
        "orders_imported": r.orders.imported,
        "quarantined": r.orders.quarantined,
        "items_pushed": r.push.pushed,
        "accepted": r.push.accepted,
        "rejected": r.push.rejected,
        "drift": r.drift,
        "api_calls": r.api_calls,
        "throttled": r.throttled,
        "error": r.error,
    }


def explain_rows(data: dict[str, tuple[Target, ListingRow | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (target, listing) in data.items():
        a = target.allocation
        out[name] = {
            "offered": a.offered,
            "pool": a.pool,
            "available": a.available,
            "excluded": target.excluded,
            "steps": [{"rule": s.rule, "detail": s.detail, "value": s.value} for s in a.steps],
            "rules_from": list(target.quantity_provenance),
            "price": None if target.price is None else f"{target.price.price} {target.price.currency}",
            "price_steps": []
            if target.price is None
            else [f"{s.rule}: {s.detail}" for s in target.price.steps],
            "acked_quantity": None if listing is None else listing.acked_quantity,
            "acked_price": None
            if listing is None or listing.acked_price is None
            else str(listing.acked_price),
            "channel_sku": None if listing is None else listing.channel_sku,
            "last_error": None if listing is None else listing.last_error,
        }
    return out


def status(engine: Engine) -> dict[str, Any]:
    """Per channel: the last run, and a state judged from the recorded runs (omnisync.health): a
    failed run newer than the last good run that called the channel is "failing"."""
    from omnisync.health import ChannelFacts, channel_state
    from omnisync.ledger.run_health import run_health

    channels: dict[str, Any] = {}
    now = engine.clock.now()
    with engine.ledger.read() as conn:
        for name, ch in engine.config.channels.items():
            last = queries.last_run(conn, name)
            counts = queries.channel_counts(conn, name)
            runs = run_health(conn, name)
            verdict = channel_state(
                ChannelFacts(
                    now=now,
                    engine_state="ok",
                    last_pull_at=runs.last_contact_ok_at,
                    last_push_at=runs.last_contact_ok_at,
                    last_error_at=runs.last_failed_at,
                    last_error=runs.last_error,
                    pending=counts.pending,
                    push_every_s=ch.schedule.push_every,
                )
            )
            channels[name] = {
                "connector": ch.connector,
                "enabled": ch.enabled,
                "state": verdict.state.value if last is not None else "never run",
                "why": verdict.why if last is not None else "no run recorded yet",
                "last_run": None if last is None else last.at,
                "last_kind": None if last is None else last.kind,
                "last_ok": None if last is None else last.ok,
                "last_error": runs.last_error,
                "last_error_at": runs.last_failed_at,
                "pending": counts.pending,
                "missing": counts.missing,
                "listing_errors": counts.listing_errors,
            }
        quarantined = queries.quarantined_count(conn)
    return {"channels": channels, "quarantined_lines": quarantined}


def quarantined(engine: Engine) -> list[dict[str, Any]]:
    with engine.ledger.tx() as tx:
        rows = tx.quarantined_lines()
    return [
        {
            "channel": r.channel,
            "order": r.external_id,
            "line": r.line_id,
            "channel_sku": r.channel_sku,
            "quantity": r.quantity,
            "reason": r.quarantine_reason,
        }
        for r in rows
    ]


def recent_orders(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    with engine.ledger.read() as conn:
        return [
            {
                "channel": r.name,
                "order": r.external_id,
                "status": r.status,
                "updated_at": r.updated_at,
                "lines": r.lines,
            }
            for r in queries.recent_orders(conn, limit)
        ]
