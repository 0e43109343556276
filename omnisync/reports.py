"""Plain-data views of engine state for the CLI and the daemon (no secrets ever)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from omnisync.engine.listings import PlannedListing
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


def listing_row(p: PlannedListing, *, fields: bool = False) -> dict[str, Any]:
    """A planned listing for ``listings plan`` / ``validate`` (with ``fields``: its content too)."""
    row: dict[str, Any] = {
        "channel": p.channel,
        "product": p.product,
        "action": p.decision.action.value,
        "why": p.decision.why,
        "changed": list(p.decision.changed),
        "blocked": p.blocked,
        "problems": [{"field": x.field, "rule": x.rule} for x in p.problems],
    }
    if fields and p.wanted is not None:
        c = p.wanted.content
        row["fields"] = {
            "title": c.title,
            "description": c.description,
            "brand": c.brand,
            "condition": c.condition,
            "category": c.category,
            "link": c.link,
            "images": list(c.images),
            "attributes": dict(c.attributes),
            "options": list(c.options),
            "publish": c.publish,
            "variants": [
                {
                    "sku": v.sku,
                    "channel_sku": v.channel_sku,
                    "title": v.title,
                    "options": dict(v.options),
                    "barcode": v.barcode,
                    "price": f"{v.price} {v.currency}",
                }
                for v in c.variants
            ],
        }
        row["digest"] = c.digest
        row["notes"] = list(p.wanted.notes)
    return row


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


def external_stock(engine: Engine, sku: str) -> dict[str, dict[str, Any]]:
    """Location code -> the latest count a channel gave of the SKU in a location it keeps itself
    (FBA), with the channel's breakdown (fulfillable, inbound, reserved) and when it was read."""
    with engine.ledger.read() as conn:
        counts = queries.external_counts(conn, sku)
    return {
        code: {"channel": c.channel, "count": c.quantity, "details": dict(c.details), "read_at": c.read_at}
        for code, c in counts.items()
    }


def explain_sku(engine: Engine, sku: str) -> dict[str, Any]:
    """:func:`explain_rows` of the SKU, each channel's row with ``external_stock``: the breakdown of
    every location it draws on or keeps itself whose count a channel gives (an FBA location)."""
    rows = explain_rows(engine.explain(sku))
    kept = external_stock(engine, sku)
    for name, row in rows.items():
        sources = engine.config.channels[name].sources
        mine = {code: k for code, k in kept.items() if code in sources or k["channel"] == name}
        if mine:
            row["external_stock"] = mine
    return rows


def external_text(kept: dict[str, Any]) -> str:
    """A kept location's count in words: ``amazon counts 10 (fulfillable 10, inbound 4, reserved 0),
    read 2026-01-01 10:00 UTC``."""
    details = ", ".join(f"{k} {v}" for k, v in kept["details"].items())
    at = kept["read_at"]
    when = at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, datetime) else str(at)
    breakdown = f" ({details})" if details else ""
    return f"{kept['channel']} counts {kept['count']}{breakdown}, read {when}"


def run_failure(runs: dict[str, queries.LastRun]) -> queries.LastRun | None:
    """The most recent failure among the latest run of each kind: a pull failing every ten seconds
    is not hidden by the push that succeeds after it, nor a failed setup by anything."""
    failed = [r for r in runs.values() if r.ok is False]
    return max(failed, key=lambda r: r.at or datetime.min.replace(tzinfo=UTC), default=None)


def _latest(runs: dict[str, queries.LastRun], *kinds: str) -> queries.LastRun | None:
    found = [runs[k] for k in kinds if k in runs]
    return max(found, key=lambda r: r.at or datetime.min.replace(tzinfo=UTC), default=None)


def _run_view(run: queries.LastRun | None) -> dict[str, Any] | None:
    return None if run is None else {"at": run.at, "ok": run.ok, "error": run.error}


def status(engine: Engine) -> dict[str, Any]:
    """Per channel: the latest run of each kind, and a state judged from them (omnisync.health): the
    latest pull or push failing, or a failure newer than both, is "failing"."""
    from omnisync.health import ChannelFacts, channel_state

    channels: dict[str, Any] = {}
    now = engine.clock.now()
    with engine.ledger.read() as conn:
        for name, ch in engine.config.channels.items():
            runs = queries.last_runs(conn, name)
            last = max(runs.values(), key=lambda r: r.at or datetime.min.replace(tzinfo=UTC), default=None)
            failing = run_failure(runs)
            counts = queries.channel_counts(conn, name)
            listed = queries.catalogue_listings(conn, name)
            pull = _latest(runs, "pull", "cycle", "reconcile")
            push = _latest(runs, "push", "cycle", "reconcile")
            verdict = channel_state(
                ChannelFacts(
                    now=now,
                    engine_state="ok",
                    last_pull_at=pull.at if pull is not None and pull.ok else None,
                    last_push_at=push.at if push is not None and push.ok else None,
                    last_error_at=None if failing is None else failing.at,
                    last_error=None if failing is None else failing.error,
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
                "last_ok": None if last is None else failing is None,
                "last_error": None if failing is None else f"{failing.kind}: {failing.error}",
                "last_error_at": None if failing is None else failing.at,
                "last_pull": _run_view(pull),
                "last_push": _run_view(push),
                "last_setup": _run_view(runs.get("setup")),
                "pending": counts.pending,
                "missing": counts.missing,
                "listing_errors": counts.listing_errors,
                "catalogue": {
                    "on_channel": listed.on_channel,
                    "published": listed.published,
                    "pending": listed.pending,
                    "answers": [
                        {"product": a.product, "action": a.action, "issues": list(a.issues), "at": a.at}
                        for a in listed.answers
                    ],
                },
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
