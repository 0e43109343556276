"""The daemon's HTTP surface: a small Starlette app served by uvicorn.

    POST /webhooks/{channel}   verified by the channel's connector; 401 and no work when the signature
                               is wrong; answered at once, the pull runs after the answer
    GET  /healthz              the process answers
    GET  /readyz               ledger reachable (``select 1``) and every channel's last cycle state;
                               503 when the ledger is unreachable, the timetable is not running or a
                               channel waits for a human (configuration / credentials)
    GET  /metrics              Prometheus text, from a registry of this app only
    GET  /status               JSON: per channel last pull, last push, pending changes, errors, state
    GET  /                     the same as a small HTML page that refreshes itself, with sales per
                               channel and stock cover as charts and the reorder list
    GET  /sku/{sku}            one SKU: every rule behind each channel's number (``explain``), its
                               stock and what to order
    GET  /static/{name}        the page's scripts: Plotly's own ``plotly.min.js`` (from its Python
                               package: no CDN, a daemon may have no internet) and ``charts.js``

An optional bearer token (``daemon.token``) protects everything but webhooks and health. A browser
can present it once as ``/?token=...``: the page answers with an HttpOnly cookie and redirects to
``/``, so the token leaves the address bar. Nothing here ever prints a secret: connector settings are
never read, and error texts pass through the log redaction.
"""

from __future__ import annotations

import hmac
import html
import string
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from omnisync.config import DaemonConfig
from omnisync.engine.channel import ChannelRuntime
from omnisync.engine.runtime import Engine, wants_pull
from omnisync.health import ChannelFacts, channel_state
from omnisync.ledger import queries
from omnisync.ledger.tables import LedgerError
from omnisync.localtime import readable
from omnisync.logging import redact_text
from omnisync.reports import explain_sku
from omnisync.sdk.errors import OmnisyncError, WebhookVerificationError

from .insights import InsightsCache, render_insights, render_sku_page, static_file
from .lease import LeaseKeeper
from .scheduler import Scheduler

log = structlog.get_logger("omnisync.daemon.http")

MAX_WEBHOOK_BYTES = 5 * 1024 * 1024
COOKIE = "omnisync_token"
REFRESH_S = 5
NOT_READY_STATES = frozenset({"configuration"})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _safe(value: str | None) -> str | None:
    return redact_text(value) if value else value


class DaemonView:
    """Read-only snapshot of the engine, the timetable and the leases, for every endpoint."""

    def __init__(
        self, engine: Engine, scheduler: Scheduler | None = None, leases: LeaseKeeper | None = None
    ) -> None:
        self.engine = engine
        self.scheduler = scheduler
        self.leases = leases
        self.insights = InsightsCache(engine)

    def insights_html(self) -> str:
        """The charts and the reorder list; a line saying why when the ledger does not answer."""
        try:
            return render_insights(self.insights.get())
        except SQLAlchemyError:
            return '<p class="alert" id="insights">Sales and reorder figures: the ledger does not answer.</p>'

    def ledger_ok(self) -> bool:
        try:
            with self.engine.ledger.read() as conn:
                queries.ping(conn)
        except SQLAlchemyError:
            return False
        return True

    def pending(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        try:
            with self.engine.ledger.read() as conn:
                for name, rt in self.engine.channels.items():
                    out[name] = self.engine.ledger.dirty_count(conn, rt.channel_id)
        except SQLAlchemyError:
            return dict.fromkeys(self.engine.channels)
        return out

    def oversold(self, limit: int = 20) -> list[dict[str, Any]]:
        """SKUs whose reservations exceed their stock in the ledger (sold more than there was)."""
        try:
            with self.engine.ledger.read() as conn:
                return [{"sku": r.sku, "units": r.units} for r in queries.oversold(conn, limit)]
        except SQLAlchemyError:
            return []

    def catalogue_listings(self) -> dict[str, dict[str, Any]]:
        """Per channel, its listings of catalogue products and the channel's answers (issues)."""
        out: dict[str, dict[str, Any]] = {}
        try:
            with self.engine.ledger.read() as conn:
                for name in self.engine.channels:
                    listed = queries.catalogue_listings(conn, name)
                    out[name] = {
                        "on_channel": listed.on_channel,
                        "published": listed.published,
                        "pending": listed.pending,
                        "answers": [
                            {
                                "product": a.product,
                                "action": a.action,
                                "issues": list(a.issues),
                                "at": _iso(a.at),
                            }
                            for a in listed.answers
                        ],
                    }
        except SQLAlchemyError:
            return {}
        return out

    def quarantined(self) -> int | None:
        try:
            with self.engine.ledger.read() as conn:
                return queries.quarantined_count(conn)
        except SQLAlchemyError:
            return None

    def facts(self, rt: ChannelRuntime, pending: int | None) -> ChannelFacts:
        return rt.facts(self.engine.clock.now(), pending)

    def channel_states(self) -> dict[str, str]:
        return {name: rt.health.state for name, rt in self.engine.channels.items()}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        ledger = self.ledger_ok()
        running = self.scheduler is None or self.scheduler.running
        states = self.channel_states()
        blocked = sorted(n for n, s in states.items() if s in NOT_READY_STATES)
        ready = ledger and running and not blocked
        pending = self.pending()
        # A channel failing does not make the daemon unready (it still takes webhooks and serves the
        # others), but the answer never says a bare "ok" over it: the states are the page's.
        judged = {
            n: channel_state(self.facts(rt, pending.get(n))).state.value
            for n, rt in self.engine.channels.items()
        }
        body: dict[str, Any] = {
            "ready": ready,
            "ledger": "ok" if ledger else "unreachable",
            "scheduler": "running" if running else "stopped",
            "channels": judged,
        }
        if blocked:
            body["needs_attention"] = blocked
        failing = sorted(n for n, s in judged.items() if s == "failing")
        if failing:
            body["failing"] = failing
        return ready, body

    def status(self) -> dict[str, Any]:
        pending = self.pending()
        holders: dict[str, tuple[str | None, datetime | None]] = {}
        if self.leases is not None:
            try:
                holders = self.leases.table()
            except SQLAlchemyError:
                holders = {}
        channels: dict[str, Any] = {}
        listed = self.catalogue_listings()
        for name, rt in self.engine.channels.items():
            h = rt.health
            act = self.scheduler.activity.get(name) if self.scheduler is not None else None
            verdict = channel_state(self.facts(rt, pending.get(name)))
            entry: dict[str, Any] = {
                "connector": rt.config.connector,
                # derived from the last pull and the last push (omnisync.health), not the last run alone
                "state": verdict.state.value,
                "why": verdict.why,
                "engine_state": h.state,
                "last_pull": _iso(h.last_pull_at),
                # increases wait while the channel's own orders are not pulled (see ChannelHealth)
                "orders_behind": rt.holds_increases,
                "last_push": _iso(h.last_push_at),
                "last_reconcile": _iso(h.last_reconcile_at),
                "pending": pending.get(name),
                "errors": {
                    "last": _safe(h.last_error),
                    "at": _iso(h.last_error_at),
                    "consecutive": h.consecutive_failures,
                    "paused_until": _iso(h.open_until),
                },
                "orders_imported": h.orders_imported,
                "quarantined_lines": h.quarantined,
                "items_pushed": h.items_pushed,
                "items_accepted": h.items_accepted,
                "items_rejected": h.items_rejected,
                "drift_corrected": h.drift_corrected,
                "push_lag_s": h.push_lag_s,
                "api_calls": rt.stats.total_calls,
                "throttled": rt.stats.total_throttled,
                "catalogue": listed.get(name),
            }
            if act is not None:
                entry["last_cycle"] = {
                    "kind": act.last_kind,
                    "at": _iso(act.last_at),
                    "ok": act.last_ok,
                    "error": _safe(act.last_error),
                    "skipped": act.last_skipped,
                }
                entry["webhooks"] = act.webhooks
                entry["expedited_pushes"] = act.expedited
            if self.scheduler is not None:
                # a run still going when the next is due: that next one is skipped (not an error)
                entry["runs_skipped_still_running"] = self.scheduler.runs_skipped(name)
            if self.leases is not None:
                holder, expires = holders.get(name, (None, None))
                entry["lease"] = {
                    "holder": holder,
                    "expires": _iso(expires),
                    "held_here": self.leases.holds(name),
                }
            channels[name] = entry
        ready, _ = self.readiness()
        return {
            "worker": self.leases.holder if self.leases is not None else self.engine.worker_id,
            "now": _iso(self.engine.clock.now()),
            "ready": ready,
            "channels": channels,
            "quarantined_lines": self.quarantined(),
            "oversold": self.oversold(),
            "alerts": self.alerts(),
        }

    def alerts(self) -> dict[str, Any] | None:
        """The alerts firing now and what each notifier has sent (None: no ``alerts:`` configured)."""
        service = self.scheduler.alerts if self.scheduler is not None else None
        if service is None:
            return None
        try:
            firing, total = service.firing()
        except SQLAlchemyError:
            firing, total = [], None
        return {
            "firing_count": total,
            "firing": [
                {
                    "key": r.key,
                    "summary": _safe(r.summary),
                    "since": _iso(r.since),
                    "raised_at": _iso(r.raised_at),
                }
                for r in firing
            ],
            "sent": {f"{notifier}:{status}": n for (notifier, status), n in sorted(service.sent.items())},
            "failed_messages": dict(service.failures),
        }


class EngineCollector:
    """Prometheus collector reading the engine's counters at scrape time (no double bookkeeping)."""

    def __init__(self, view: DaemonView) -> None:
        self.view = view

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        engine, scheduler = self.view.engine, self.view.scheduler
        counters = {
            "items_pushed": "Items sent to the channel",
            "items_accepted": "Items the channel accepted",
            "items_rejected": "Items the channel rejected for good",
            "orders_imported": "Orders imported new or changed",
            "quarantined_lines": "Order lines quarantined (unknown SKU)",
        }
        families = {
            k: CounterMetricFamily(f"omnisync_{k}", doc, labels=["channel"]) for k, doc in counters.items()
        }
        calls = CounterMetricFamily("omnisync_api_calls", "API calls", labels=["channel", "operation"])
        throttles = CounterMetricFamily(
            "omnisync_api_throttles",
            "Throttle answers (429, THROTTLED, ...)",
            labels=["channel", "operation"],
        )
        retries = CounterMetricFamily(
            "omnisync_api_retries", "Retried API calls", labels=["channel", "operation"]
        )
        cycles = CounterMetricFamily(
            "omnisync_cycles", "Pull, push and reconcile runs", labels=["channel", "kind", "outcome"]
        )
        webhooks = CounterMetricFamily("omnisync_webhooks", "Verified webhooks received", labels=["channel"])
        expedited = CounterMetricFamily(
            "omnisync_expedited_pushes", "Pushes run at once after a decrease", labels=["channel"]
        )
        lag = GaugeMetricFamily(
            "omnisync_push_lag_seconds", "Ledger decrease seen -> pushed to this channel", labels=["channel"]
        )
        pending = GaugeMetricFamily(
            "omnisync_pending_changes", "Dirty (channel, SKU) pairs", labels=["channel"]
        )
        healthy = GaugeMetricFamily(
            "omnisync_channel_healthy", "1 when the last cycle succeeded", labels=["channel"]
        )
        dirty = self.view.pending()
        for name, rt in engine.channels.items():
            h = rt.health
            values = {
                "items_pushed": h.items_pushed,
                "items_accepted": h.items_accepted,
                "items_rejected": h.items_rejected,
                "orders_imported": h.orders_imported,
                "quarantined_lines": h.quarantined,
            }
            for key, value in values.items():
                families[key].add_metric([name], value)
            for op, n in sorted(rt.stats.calls.items()):
                calls.add_metric([name, op], n)
            for op, n in sorted(rt.stats.throttled.items()):
                throttles.add_metric([name, op], n)
            for op, n in sorted(rt.stats.retries.items()):
                retries.add_metric([name, op], n)
            if h.push_lag_s is not None:
                lag.add_metric([name], h.push_lag_s)
            count = dirty.get(name)
            if count is not None:
                pending.add_metric([name], count)
            healthy.add_metric([name], 1.0 if h.state in ("ok", "idle") else 0.0)
            act = scheduler.activity.get(name) if scheduler is not None else None
            if act is not None:
                for (kind, outcome), n in sorted(act.cycles.items()):
                    cycles.add_metric([name, kind, outcome], n)
                webhooks.add_metric([name], act.webhooks)
                expedited.add_metric([name], act.expedited)
        oversold = GaugeMetricFamily("omnisync_oversold_units", "Units sold beyond the ledger's stock")
        oversold.add_metric([], sum(o["units"] for o in self.view.oversold(limit=10_000)))
        yield from families.values()
        yield from (calls, throttles, retries, cycles, webhooks, expedited, lag, pending, healthy, oversold)


def _template() -> string.Template:
    return string.Template(resources.files("omnisync.daemon").joinpath("status.html").read_text("utf-8"))


def _cell(value: Any) -> str:
    return html.escape("—" if value is None else str(value))


def local_time(iso: str | None, now: str | None = None) -> str:
    """A readable local time (:func:`omnisync.localtime.readable`); the ISO value stays in ``datetime=``."""
    if not iso:
        return "never"
    shown = readable(datetime.fromisoformat(iso), datetime.fromisoformat(now) if now else None)
    return f'<time datetime="{_cell(iso)}">{_cell(shown)}</time>'


def _row(name: str, ch: dict[str, Any], now: str | None) -> str:
    errors = ch.get("errors") or {}
    err, err_at = errors.get("last"), errors.get("at")
    lease = ch.get("lease")
    state = ch["state"]
    behind = ch.get("orders_behind")
    error_cell = f"{local_time(err_at, now)} {_cell(err)}" if err and err_at else (_cell(err) if err else "")
    skipped = sum((ch.get("runs_skipped_still_running") or {}).values())
    overlaps = f"<small>{skipped} scheduled runs skipped: still running</small>" if skipped else ""
    return (
        f'<tr data-channel="{_cell(name)}" data-state="{_cell(state)}">'
        f"<th scope=row>{_cell(name)}<small>{_cell(ch['connector'])}</small></th>"
        f'<td class="state {_cell(state)}">{_cell(state)}<small>{_cell(ch.get("why", ""))}</small></td>'
        f'<td class="{"alert" if behind else "fine"}">{"yes" if behind else "no"}</td>'
        f"<td>{local_time(ch['last_pull'], now)}</td><td>{local_time(ch['last_push'], now)}{overlaps}</td>"
        f'<td class="num">{_cell(ch["pending"])}</td>'
        f'<td class="num">{_cell(ch["orders_imported"])}</td>'
        f'<td class="num">{_cell(ch["items_pushed"])}</td>'
        f'<td class="num">{_cell(ch["api_calls"])} / {_cell(ch["throttled"])}</td>'
        f'<td class="num">{_cell(ch["push_lag_s"])}</td>'
        f"<td>{_cell(lease['holder'] if lease else 'this daemon')}</td>"
        f'<td class="err">{error_cell}</td></tr>'
    )


def _alerts_section(alerts: dict[str, Any] | None, now: str | None) -> str:
    """The alerts firing (``alerts:`` configured), each since when, and how many in all."""
    if alerts is None:
        return ""
    firing = alerts["firing"]
    if not firing:
        return '<p class="fine" id="alerts">No alert firing.</p>'
    items = "".join(f"<li>{_cell(a['summary'])} (since {local_time(a['since'], now)})</li>" for a in firing)
    total = alerts.get("firing_count") or len(firing)
    more = (
        f"<li>... and {total - len(firing)} more: <code>omnisync alerts</code></li>"
        if total > len(firing)
        else ""
    )
    return (
        f'<section class="alert" id="alerts"><h2>Alerts firing ({total})</h2><ul>{items}{more}</ul></section>'
    )


def sku_link(sku: str) -> str:
    return f'<a href="/sku/{quote(sku, safe="")}">{_cell(sku)}</a>'


def render_status_page(status: dict[str, Any], insights: str = "") -> str:
    now = status.get("now")
    rows = [_row(name, ch, now) for name, ch in status["channels"].items()]
    oversold = status["oversold"]
    if oversold:
        items = "".join(f"<li>{sku_link(o['sku'])}: {_cell(o['units'])} unit(s)</li>" for o in oversold)
        alerts = f'<section class="alert" id="oversold"><h2>Oversold</h2><ul>{items}</ul></section>'
    else:
        alerts = '<p class="fine" id="oversold">No oversold SKU.</p>'
    quarantined = status.get("quarantined_lines")
    if quarantined:
        alerts += (
            '<section class="alert" id="quarantined"><h2>Quarantined order lines</h2>'
            f"<p>{_cell(quarantined)} line(s) name a SKU the ledger does not know: "
            "<code>omnisync orders --quarantined</code>, map them, "
            "then <code>omnisync orders --retry-quarantined</code>.</p></section>"
        )
    else:
        alerts += '<p class="fine" id="quarantined">No quarantined order line.</p>'
    answers = [
        f"<li>{_cell(name)} · {_cell(a['product'])} ({_cell(a['action'])}): "
        f"{_cell('; '.join(a['issues']))}</li>"
        for name, ch in status["channels"].items()
        for a in (ch.get("catalogue") or {}).get("answers", [])
    ]
    if answers:
        items = "".join(answers)
        alerts += f'<section class="alert" id="listings"><h2>Listing answers</h2><ul>{items}</ul></section>'
    alerts += _alerts_section(status.get("alerts"), now)
    return _template().substitute(
        refresh=REFRESH_S,
        generated=local_time(now, now),
        worker=f" · worker {_cell(status['worker'])}" if status["worker"] else "",
        ready="ready" if status["ready"] else "not ready",
        ready_class="fine" if status["ready"] else "alert",
        rows="\n".join(rows),
        alerts=alerts,
        insights=insights,
    )


def create_app(
    engine: Engine,
    daemon: DaemonConfig,
    scheduler: Scheduler | None = None,
    *,
    leases: LeaseKeeper | None = None,
) -> Starlette:
    view = DaemonView(engine, scheduler, leases)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(view))
    token = daemon.token.get_secret_value().encode() if daemon.token is not None else None

    def authorised(request: Request) -> bool:
        if token is None:
            return True
        given = ""
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        given = given or request.cookies.get(COOKIE, "")
        return hmac.compare_digest(given.encode(), token)

    def denied() -> Response:
        return JSONResponse(
            {"error": "a bearer token is required"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    async def webhook(request: Request) -> Response:
        channel = request.path_params["channel"]
        if channel not in engine.channels:
            return JSONResponse({"error": "no such channel"}, status_code=404)
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"error": "body too large"}, status_code=413)
        url = (
            daemon.webhook_base_url.rstrip("/") + request.url.path
            if daemon.webhook_base_url
            else str(request.url)
        )
        try:
            events = engine.accept_webhook(channel, request.headers, body, url)
        except WebhookVerificationError:
            log.warning("webhook.rejected", channel=channel, reason="signature")
            return JSONResponse({"error": "signature verification failed"}, status_code=401)
        except (OmnisyncError, ValueError, KeyError) as exc:
            log.warning("webhook.malformed", channel=channel, error=type(exc).__name__)
            return JSONResponse({"error": "malformed webhook"}, status_code=400)
        fresh, pull = len(events), wants_pull(events)
        log.info("webhook.accepted", channel=channel, fresh=fresh, wants_pull=pull)
        task = None
        if events:

            async def after_answer() -> None:  # runs once the answer is on its way
                if scheduler is not None:
                    await scheduler.webhook_accepted(channel, events)
                    return
                try:
                    await engine.apply_webhook(channel, events)
                except Exception as exc:  # a later pull reads the order again
                    log.warning("webhook.import_failed", channel=channel, error=redact_text(str(exc)))

            task = BackgroundTask(after_answer)
        return JSONResponse({"ok": True, "fresh": fresh}, background=task)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        ready, body = view.readiness()
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        if not authorised(request):
            return denied()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def status(request: Request) -> Response:
        if not authorised(request):
            return denied()
        return JSONResponse(view.status())

    async def page(request: Request) -> Response:
        given = request.query_params.get("token")
        if token is not None and given is not None:
            if not hmac.compare_digest(given.encode(), token):
                return denied()
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, given, httponly=True, samesite="strict")
            return response
        if not authorised(request):
            return denied()
        return HTMLResponse(
            render_status_page(view.status(), view.insights_html()), headers={"Cache-Control": "no-store"}
        )

    async def sku_page(request: Request) -> Response:
        if not authorised(request):
            return denied()
        sku = request.path_params.get("sku") or request.query_params.get("sku", "")
        if "sku" not in request.path_params:  # the page's search form
            return RedirectResponse(f"/sku/{quote(sku.strip(), safe='')}", status_code=303)
        try:
            explained = explain_sku(engine, sku)
            with engine.ledger.read() as conn:
                pid = engine.ledger.product_id(conn, sku)
                codes = {lid: str(row.code) for lid, row in engine.ledger.locations(conn).items()}
                stock = {
                    codes[lid]: v for lid, v in engine.ledger.stock_for(conn, [pid]).get(pid, {}).items()
                }
            page = render_sku_page(engine, sku, explained, stock, view.insights.get())
        except LedgerError as exc:
            return HTMLResponse(f"<!doctype html><title>omnisync</title><p>{_cell(exc)}</p>", status_code=404)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def static(request: Request) -> Response:
        found = static_file(request.path_params["name"])
        if found is None:
            return Response("not found", status_code=404)
        body, media_type = found
        return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    routes = [
        Route("/webhooks/{channel}", webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/status", status, methods=["GET"]),
        Route("/", page, methods=["GET"]),
        Route("/sku", sku_page, methods=["GET"]),
        Route("/sku/{sku:path}", sku_page, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.view = view
    app.state.registry = registry
    return app


__all__ = ["DaemonView", "create_app", "render_status_page"]
