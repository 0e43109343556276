"""``omnisync report sales`` and ``omnisync reorder``, and the stock on order they count.

Wired into the main CLI by :func:`register`; each command imports the ledger when it runs, so
``omnisync --help`` stays light. Both read the ledger only: no secret is needed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

report_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode="markdown", help="What the ledger learned: sales over a period."
)

CsvOpt = Annotated[
    Path | None, typer.Option("--csv", help="Write CSV to this file (``-``: standard output).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _write_csv(file: Path, write: Any) -> int:
    """Run ``write(handle)`` on the file, or on standard output for ``-``; a file that cannot be
    written is one line."""
    from omnisync import cli
    from omnisync.sdk.errors import ConfigurationError

    if str(file) == "-":
        return int(write(sys.stdout))
    try:
        with file.open("w", newline="", encoding="utf-8") as fh:
            return int(write(fh))
    except OSError as exc:
        cli._fail(ConfigurationError(f"{file}: cannot write ({exc.strerror})"))
        raise


@report_app.command("sales")
def report_sales(
    by: Annotated[
        str,
        typer.Option(
            "--by", help="Group by any of channel, sku, location, tag, day, week (comma-separated)."
        ),
    ] = "channel",
    since: Annotated[
        str | None, typer.Option("--since", help="First day counted (UTC date or time; default 30 days ago).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last day counted (default: now).")] = None,
    csv_file: CsvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Orders, units, revenue per currency, cancellations, returns, refunds and oversold units."""
    from rich.table import Table

    from omnisync import cli, salesreport

    engine = cli._engine(existing=True)
    try:
        dims = salesreport.dimensions(by)
        start, end = salesreport.period(since, until, engine.clock.now())
    except ValueError as exc:
        cli._fail(exc)
        raise
    data = salesreport.report(engine.ledger, start, end, dims, currency=engine.config.currency)
    if csv_file is not None:
        rows = _write_csv(csv_file, lambda fh: salesreport.write_csv(data, fh))
        if str(csv_file) != "-":
            cli.err.print(f"wrote {rows} rows to {csv_file}", soft_wrap=True)
        return
    if as_json:
        cli._print_json(data)
        return
    period = f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"
    if not data["rows"]:
        cli.out.print(f"no orders in {period} (see --since and --until)", soft_wrap=True)
        return
    columns = [*data["by"], "currency", *salesreport.NUMBERS]
    table = Table(*columns, title=f"sales {period}")
    for row in data["rows"]:
        table.add_row(*(cli.word(row[c], "—") for c in columns))
    for total in data["totals"]:
        table.add_row(*(["total"] + [""] * (len(data["by"]) - 1) if data["by"] else []),
                      *(cli.word(total[c]) for c in columns[len(data["by"]):]), style="bold")  # fmt: skip
    cli.out.print(table)


def reorder(
    show_all: Annotated[
        bool, typer.Option("--all", help="Every SKU that sold, not only those to order.")
    ] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write the purchase list as CSV (``-``: standard output).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What to order now, per SKU and location: velocity, days of cover, reorder point, safety stock,
    suggested quantity (stock already on order counts)."""
    from rich.table import Table

    from omnisync import cli, reorder

    engine = cli._engine(existing=True)
    rows = reorder.reorder_list(engine.ledger, engine.config.replenishment, engine.clock.now())
    if csv_file is not None:
        n = _write_csv(csv_file, lambda fh: reorder.write_purchase_list(rows, fh))
        if str(csv_file) != "-":
            cli.err.print(f"wrote {n} lines to purchase list {csv_file}", soft_wrap=True)
        return
    shown = [reorder.row_dict(r) for r in rows if show_all or r.quantity > 0]
    if as_json:
        cli._print_json(shown)
        return
    if not shown:
        cli.out.print(
            "nothing to order now" + ("" if show_all else f" ({len(rows)} SKU/location pairs sold)")
        )
        return
    columns = (
        "sku", "location", "velocity", "days_of_cover", "available", "incoming", "safety_stock",
        "reorder_point", "quantity",
    )  # fmt: skip
    table = Table(*columns)
    for r in shown:
        table.add_row(*(cli.word(r[c], "—") for c in columns))
    cli.out.print(table)


def stock_incoming(
    sku: str,
    location: str,
    quantity: int,
    reference: Annotated[str, typer.Option("--ref", help="The purchase order: the same one again sets it.")],
    expected: Annotated[str | None, typer.Option("--expected", help="Expected date (2026-12-20).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Stock on order: QUANTITY units of SKU expected at LOCATION under purchase order --ref (0 closes it).
    ``stock receive ... --ref`` lowers it as the goods come in."""
    from datetime import UTC, datetime

    from omnisync import cli

    if quantity < 0:
        cli._fail(ValueError("the quantity on order is ≥ 0"))
    when = None
    if expected:
        try:
            when = datetime.fromisoformat(expected).replace(tzinfo=UTC)
        except ValueError:
            cli._fail(ValueError(f"--expected: {expected!r} is not a date (2026-12-20)"))
    engine = cli._engine(existing=True)
    ledger = engine.ledger
    with ledger.tx() as tx:
        pid = ledger.product_id(tx.conn, sku)
        lid = ledger.location_id(tx.conn, location)
        tx.expect(reference, pid, lid, quantity, expected_at=when, at=engine.clock.now())
    if as_json:
        cli._print_json({"sku": sku, "location": location, "reference": reference, "incoming": quantity})
    else:
        cli.out.print(f"{sku} at {location}: {quantity} on order under {reference}")


def register(app: typer.Typer, stock_app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
    app.command("reorder")(reorder)
    stock_app.command("incoming")(stock_incoming)


__all__ = ["register"]
