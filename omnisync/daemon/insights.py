"""What the status page shows beyond the channels: sales per channel over time, stock cover, the
reorder list, and a page per SKU with ``explain`` in the browser.

The charts are drawn in the browser by Plotly, whose Python package ships ``plotly.min.js``: the
daemon serves that file itself (``/static/plotly.min.js``), so a daemon without internet still draws
them; ``/static/charts.js`` (this package's own) reads the page's JSON and calls Plotly. The numbers
are the CLI's: :func:`omnisync.salesreport.report` by channel and day, and
:func:`omnisync.reorder.reorder_list`; both are kept for ``CACHE_S`` seconds of the engine's clock, as
the page refreshes itself every few seconds and a reorder list of 100k SKUs takes seconds.
"""

from __future__ import annotations

import html
import json
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from omnisync.engine.runtime import Engine
from omnisync.ledger.sales import Dimension
from omnisync.reorder import ReorderRow, reorder_list
from omnisync.reports import external_text
from omnisync.salesreport import report

CACHE_S = 60.0
SALES_DAYS = 30
COVER_BARS = 20
REORDER_ROWS = 50


def _cell(value: Any) -> str:
    return html.escape("—" if value is None else str(value))


def _template(name: str) -> string.Template:
    return string.Template(resources.files("omnisync.daemon").joinpath(name).read_text("utf-8"))


def static_file(name: str) -> tuple[bytes, str] | None:
    """The bytes and media type of a file the page loads; None for any other name."""
    if name == "plotly.min.js":
        js = resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
        return js, "text/javascript"
    if name == "charts.js":
        return resources.files("omnisync.daemon").joinpath("charts.js").read_bytes(), "text/javascript"
    return None


@dataclass
class Insights:
    """The sales series and the reorder list, as of ``at``."""

    at: datetime
    days: list[str]
    units: dict[str, list[int]]
    """Channel -> units sold per day of ``days``."""
    revenue: dict[str, dict[str, str]]
    """Channel -> currency -> revenue over the period."""
    rows: list[ReorderRow]


class InsightsCache:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._kept: Insights | None = None

    def get(self) -> Insights:
        now = self.engine.clock.now()
        kept = self._kept
        if kept is None or (now - kept.at).total_seconds() >= CACHE_S or now < kept.at:
            kept = self._kept = self._read(now)
        return kept

    def _read(self, now: datetime) -> Insights:
        engine = self.engine
        first = now.date() - timedelta(days=SALES_DAYS - 1)
        start = datetime.combine(first, datetime.min.time(), now.tzinfo)
        data = report(
            engine.ledger, start, now, (Dimension.CHANNEL, Dimension.DAY), currency=engine.config.currency
        )
        days = [(first + timedelta(days=n)).isoformat() for n in range(SALES_DAYS)]
        index = {d: n for n, d in enumerate(days)}
        units: dict[str, list[int]] = {name: [0] * SALES_DAYS for name in engine.config.channels}
        revenue: dict[str, dict[str, str]] = {}
        totals: dict[tuple[str, str], Decimal] = {}
        for row in data["rows"]:
            series = units.setdefault(row["channel"], [0] * SALES_DAYS)
            if row["day"] in index:
                series[index[row["day"]]] += row["units"]
            key = (row["channel"], row["currency"])
            totals[key] = totals.get(key, Decimal(0)) + Decimal(row["revenue"])
        for (channel, currency), amount in sorted(totals.items()):
            revenue.setdefault(channel, {})[currency] = f"{amount:.2f}"
        rows = reorder_list(engine.ledger, engine.config.replenishment, now)
        return Insights(now, days, units, revenue, rows)


def chart_data(insights: Insights) -> dict[str, Any]:
    """What ``charts.js`` draws: units per channel per day, and the days of cover of the SKUs with
    the least (those to order now in red)."""
    covered = [r for r in insights.rows if r.days_of_cover is not None][:COVER_BARS]
    return {
        "sales": {"days": insights.days, "channels": insights.units},
        "cover": {
            "labels": [f"{r.sku} @ {r.location}" for r in covered],
            "days": [round(r.days_of_cover or 0.0, 1) for r in covered],
            "order": [r.quantity > 0 for r in covered],
        },
    }


def _sku_link(sku: str) -> str:
    from urllib.parse import quote

    return f'<a href="/sku/{quote(sku, safe="")}">{_cell(sku)}</a>'


def reorder_table(rows: list[ReorderRow]) -> str:
    due = [r for r in rows if r.quantity > 0][:REORDER_ROWS]
    if not due:
        return '<p class="fine" id="reorder">Nothing to order now.</p>'
    body = "".join(
        f'<tr data-sku="{_cell(r.sku)}"><th scope=row>{_sku_link(r.sku)}<small>{_cell(r.title)}</small></th>'
        f"<td>{_cell(r.location)}</td>"
        f'<td class="num">{r.suggestion.velocity:.2f}</td>'
        f'<td class="num">{_cell(None if r.days_of_cover is None else round(r.days_of_cover, 1))}</td>'
        f'<td class="num">{r.available}</td><td class="num">{r.suggestion.incoming}</td>'
        f'<td class="num">{r.suggestion.safety_stock}</td><td class="num">{r.suggestion.reorder_point}</td>'
        f'<td class="num order">{r.quantity}</td></tr>'
        for r in due
    )
    more = sum(1 for r in rows if r.quantity > 0) - len(due)
    tail = f"<p>… and {more} more: <code>omnisync reorder --csv -</code></p>" if more > 0 else ""
    return (
        '<table id="reorder"><thead><tr><th>SKU</th><th>location</th><th>units/day</th><th>days of cover</th>'
        "<th>available</th><th>on order</th><th>safety stock</th><th>reorder point</th><th>order now</th>"
        f"</tr></thead><tbody>{body}</tbody></table>{tail}"
    )


def render_insights(insights: Insights) -> str:
    """The charts and the reorder list, for the status page."""
    revenue = "; ".join(
        f"{_cell(channel)} " + ", ".join(f"{_cell(amount)} {_cell(cur)}" for cur, amount in by_cur.items())
        for channel, by_cur in insights.revenue.items()
    )
    return _template("insights.html").substitute(
        days=SALES_DAYS,
        revenue=revenue or "no sales",
        reorder=reorder_table(insights.rows),
        data=_json_script(chart_data(insights)),
    )


def _json_script(data: Any) -> str:
    # '</' never closes the script element early, whatever a SKU is called
    text = json.dumps(data).replace("</", "<\\/")
    return f'<script id="chart-data" type="application/json">{text}</script>'


def render_sku_page(
    engine: Engine, sku: str, explained: dict[str, Any], stock: dict[str, tuple[int, int]], insights: Insights
) -> str:
    """One SKU: every channel's number with each rule behind it (``omnisync explain``), its stock per
    location and what to order."""
    channels = []
    for name, r in explained.items():
        steps = "".join(
            f"<tr><td>{_cell(s['rule'])}</td><td class=num>{_cell(s['value'])}</td>"
            f"<td>{_cell(s['detail'])}</td></tr>"
            for s in r["steps"]
        )
        price = (
            f"<p>price {_cell(r['price'])}: {_cell('; '.join(r['price_steps']))}</p>"
            if r["price"] is not None
            else ""
        )
        holds = "nothing confirmed yet" if r["acked_quantity"] is None else r["acked_quantity"]
        channels.append(
            f'<section class="channel" data-channel="{_cell(name)}"><h2>{_cell(name)} offers '
            f'<span class="offered">{_cell(r["offered"])}</span>'
            f" <small>(channel holds {_cell(holds)})</small></h2>"
            f'<table class="steps"><thead><tr><th>rule</th><th>value</th><th>detail</th></tr></thead>'
            f"<tbody>{steps}</tbody></table>{price}</section>"
        )
    kept = {code: k for r in explained.values() for code, k in r.get("external_stock", {}).items()}
    stock_rows = "".join(
        f'<tr><th scope=row>{_cell(code)}</th><td class="num">{on}</td><td class="num">{res}</td>'
        f"<td>{_cell(external_text(kept[code])) if code in kept else ''}</td></tr>"
        for code, (on, res) in sorted(stock.items())
    )
    mine = [r for r in insights.rows if r.sku == sku]
    reorder = "".join(
        f"<li><strong>{_cell(r.location)}</strong>: order {r.quantity} — "
        + "; ".join(_cell(f"{s.rule}: {s.detail}") for s in r.suggestion.steps)
        + "</li>"
        for r in mine
    )
    return _template("sku.html").substitute(
        sku=_cell(sku),
        channels="".join(channels) or "<p>No channel lists this SKU.</p>",
        stock=stock_rows,
        reorder=f"<ul>{reorder}</ul>" if reorder else "<p>No sales in the reorder window.</p>",
    )


__all__ = ["Insights", "InsightsCache", "render_insights", "render_sku_page", "static_file"]
