"""The ``omnisync`` command. Every command that prints data also takes ``--json``.

Imports are lazy: this module loads typer and rich only, and each command imports the engine, the
ledger and the config it needs when it runs, so ``omnisync --help`` starts in a fraction of the
time (``benchmarks/cli_start.py``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text

from .audit import cli_actor
from .cligroup import OmnisyncGroup

if TYPE_CHECKING:
    from omnisync.config import LoadedConfig
    from omnisync.engine.runtime import CycleReport, Engine

app = typer.Typer(
    cls=OmnisyncGroup,
    rich_markup_mode="markdown",
    no_args_is_help=True,
    add_completion=False,
    help="Keep every sales channel in step with one ledger.",
)
ledger_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode="markdown", help="Import and export the catalogue and stock."
)
stock_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode="markdown", help="Journal stock movements; show stock levels."
)
listings_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode="markdown",
    help="Listings from the master catalogue: what would be sent, and what a channel refuses.",
)
app.add_typer(ledger_app, name="ledger")
returns_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode="markdown",
    help="Returned units: restockable, damaged, to inspect.",
)
app.add_typer(stock_app, name="stock")
app.add_typer(returns_app, name="returns")
app.add_typer(listings_app, name="listings")
# data never loses a "[mapping ...]" note to markup; piped or captured, tables are not cut at 80 columns
out = Console(markup=False, highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)
T = TypeVar("T")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (else $OMNISYNC_CONFIG, else ./omnisync.yaml)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


class _State:
    config: Path | None = None
    verbose: bool = False


def _fail(exc: Exception) -> None:
    """Every problem the error names on a line of its own, never wrapped; exit 2."""
    from omnisync import logging as oslog

    for line in oslog.redact_text(str(exc)).splitlines() or [type(exc).__name__]:
        err.print(f"[red]error:[/red] {escape(line)}", soft_wrap=True)
    raise typer.Exit(2)


def word(value: Any, none: str = "") -> str:
    """A table cell a person reads: yes/no for booleans, ``none`` for a missing value."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _loaded(*, contact: bool = False) -> LoadedConfig:
    """The config; a channel's secret is required only by a command that will ``contact`` it."""
    from omnisync.config import load_config
    from omnisync.sdk.errors import OmnisyncError

    try:
        return load_config(_State.config, offline=not contact)
    except OmnisyncError as exc:
        _fail(exc)
        raise


def _engine(
    loaded: LoadedConfig | None = None, *, contact: bool = False, existing: bool = False, quiet: bool = False
) -> Engine:
    """The engine on the config's ledger; with ``existing``, a ledger not created yet is an error
    that says how to create it (and nothing is created by asking)."""
    from omnisync import logging as oslog
    from omnisync.engine.runtime import Engine
    from omnisync.ledger.db import ledger_exists, make_engine
    from omnisync.ledger.repository import Ledger
    from omnisync.sdk.errors import ConfigurationError, OmnisyncError

    loaded = loaded or _loaded(contact=contact)
    # ``quiet``: the command reports every channel's error itself; the engine's log lines would say
    # each twice (-v shows them)
    level = "debug" if _State.verbose else ("critical" if quiet else loaded.config.logging.level)
    oslog.configure(level, _fmt(loaded))
    try:
        if existing and not ledger_exists(loaded.ledger_url()):
            raise ConfigurationError(
                f"no ledger yet at {loaded.config.ledger.url} (from {loaded.path.name}): "
                f"run `omnisync init` or `omnisync ledger import FILE` first"
            )
        return Engine(loaded, Ledger(make_engine(loaded.ledger_url())))
    except (OmnisyncError, ValueError) as exc:
        _fail(exc)
        raise


def _fmt(loaded: LoadedConfig) -> bool | None:
    fmt = loaded.config.logging.format
    return None if fmt == "auto" else fmt == "json"


def _run(make: Callable[[Engine], Coroutine[Any, Any, T]], *, prepare: bool = False) -> T:
    """Start the engine and run ``make`` on it. Without ``prepare`` (no channel contacted: plan,
    explain) the ledger must exist already; with ``prepare`` the channels are contacted (their secrets
    are needed) and the command, which reports each channel's error, logs only with -v."""
    from omnisync.sdk.errors import OmnisyncError

    engine = _engine(contact=prepare, existing=not prepare, quiet=prepare)

    async def go() -> T:
        try:
            await engine.start(prepare=prepare)
            return await make(engine)
        finally:
            await engine.aclose()

    try:
        return _arun(go())
    except OmnisyncError as exc:
        _fail(exc)
        raise


def _arun(work: Coroutine[Any, Any, T]) -> T:
    import asyncio  # lazily: `omnisync --help` never runs a loop

    return asyncio.run(work)


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


@app.callback()
def main_options(
    config: ConfigOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")] = False,
) -> None:
    """Global options may come before or after the subcommand."""
    _State.config = config
    _State.verbose = verbose or debug
    OmnisyncGroup.debug = debug


@app.command()
def init(
    directory: Annotated[Path | None, typer.Argument(help="Folder for a new deployment.")] = None,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Wire the four channels to `omnisync emulators` on loopback.")
    ] = False,
    port: Annotated[
        int, typer.Option(help="--sandbox: the daemon's port; the emulators take the next four.")
    ] = 8700,
    as_json: JsonOpt = False,
) -> None:
    """Write a config and its mapping files into DIRECTORY (never overwriting), and bring the ledger
    schema to head. No channel is contacted, so no secret is needed yet."""
    written: list[Path] = []
    if sandbox:
        from omnisync.sandbox import write_sandbox

        directory = directory or Path(".")
        written = write_sandbox(directory, port)
        _State.config = directory / "omnisync.yaml"
    elif directory is not None:
        from omnisync.scaffold import write_starter

        written = write_starter(directory)
        _State.config = directory / "omnisync.yaml"
    engine = _engine()
    engine.migrate_and_seed()
    if as_json:
        _print_json({"written": [str(p) for p in written], "ledger": engine.loaded.ledger_url()})
        return
    for path in written:
        out.print(f"wrote {path}")
    out.print(f"ledger ready at {engine.loaded.ledger_url()}")
    if sandbox:
        out.print(f"next: omnisync emulators -c {_State.config}  (and leave it running)")


@app.command()
def emulators(
    catalogue: Annotated[
        Path | None,
        typer.Option(help="CSV whose SKUs the emulators list (default: catalogue.csv by the config)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the emulators a sandbox config (`init --sandbox`) points at, on loopback, until Ctrl-C."""
    from omnisync.emulators import Served, serve
    from omnisync.sandbox import CATALOGUE, catalogue_prices

    loaded = _loaded()
    listed = catalogue or loaded.base_dir / CATALOGUE
    items = catalogue_prices(listed) if listed.exists() else []

    def ready(served: list[Served]) -> None:
        if as_json:  # one line, so that a script reads it with one readline()
            sys.stdout.write(json.dumps({"emulators": [s.row() for s in served], "skus": len(items)}) + "\n")
        else:
            for s in served:
                out.print(f"{s.connector:<10} {s.channel:<12} {s.url}")
            out.print(f"{len(served)} emulators ready, {len(items)} SKUs listed; Ctrl-C stops them")
        sys.stdout.flush()

    _arun(serve(loaded, items, ready))


@app.command()
def validate(
    connect: Annotated[
        bool, typer.Option("--connect", help="Also make one cheap read call per channel.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the config, the mapping files and every channel's connector settings; with --connect,
    each channel's credentials and ids with one read call (a missing secret is named per channel)."""
    from omnisync.engine.runtime import Engine
    from omnisync.ledger.db import make_engine
    from omnisync.ledger.repository import Ledger
    from omnisync.sdk.errors import OmnisyncError
    from omnisync.sdk.registry import load_connector

    loaded = _loaded(contact=not connect)

    try:
        engine = Engine(loaded, Ledger(make_engine("sqlite://")))
    except (OmnisyncError, ValueError) as exc:
        _fail(exc)
    problems: list[str] = []  # every channel's problems in one run, not the first one's only
    kept: dict[str, Any] = {}
    for name, ch in loaded.config.channels.items():
        try:
            cls = load_connector(ch.connector)
            settings = loaded.channel_settings(name, cls.Settings)
        except (OmnisyncError, ValueError) as exc:
            problems += str(exc).splitlines()
            continue
        if name in engine.mappings:
            kept[name] = cls.kept_locations(settings)
    if not problems:
        try:
            loaded.check_kept_locations(kept)
        except OmnisyncError as exc:
            problems += str(exc).splitlines()
    if problems:
        _fail(ValueError("\n".join(problems)))
    rows: list[dict[str, Any]] = []
    if connect:
        from omnisync.connectcheck import check_all

        rows = [c.row() for c in _arun(check_all(_loaded(contact=True)))]
    ok = all(r["ok"] for r in rows)
    if as_json:
        _print_json({"config": str(loaded.path), "ok": ok, "channels": len(engine.mappings), "connect": rows})
    else:
        out.print(f"{loaded.path}: ok ({len(engine.mappings)} channels)")
        for r in rows:
            line = f"{r['channel']:<12} {r['connector']:<10} {'ok' if r['ok'] else 'FAILED':<7} {r['detail']}"
            out.print(line, soft_wrap=True)  # one line a channel, never folded
    if not ok:
        raise typer.Exit(1)


@app.command()
def connectors(as_json: JsonOpt = False) -> None:
    """List the installed connectors and what they can do."""
    from omnisync import reports

    rows = reports.connector_rows()
    if as_json:
        _print_json(rows)
        return
    table = Table("connector", "capabilities", "push batch")
    for r in rows:
        table.add_row(r["name"], ", ".join(r["capabilities"]), str(r["push_inventory_batch"]))
    out.print(table)


@app.command("new-connector")
def new_connector(
    name: Annotated[str, typer.Argument(help="The connector's name, also its package (e.g. demo_channel).")],
    directory: Annotated[Path, typer.Option("--dir", help="Folder to create the package in.")] = Path("."),
) -> None:
    """Write a connector package (connector, fake API, harness, one-line kit suite, pyproject with the
    entry point) that passes the conformance kit as written."""
    from omnisync.newconnector import write_connector_package

    try:
        written = write_connector_package(name, directory)
    except (ValueError, FileExistsError) as exc:
        _fail(exc)
        raise
    for path in written:
        out.print(f"wrote {path}")
    out.print(f"next: pip install -e '{directory / name}[test]' && pytest {directory / name}")


@ledger_app.command("import")
def ledger_import(file: Path, as_json: JsonOpt = False) -> None:
    """Import SKUs, prices and stock per location from CSV; a bad row imports nothing."""
    from omnisync import ledgerio
    from omnisync.sdk.errors import OmnisyncError

    engine = _engine()
    engine.migrate_and_seed()
    try:
        result = ledgerio.import_csv(
            engine.ledger, file, engine.clock.now(), progress=True, actor=cli_actor()
        )
    except (OmnisyncError, ValueError) as exc:
        _fail(exc)
        raise
    for warning in result["warnings"]:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    if as_json:
        _print_json(result)
    else:
        catalogue = (
            f", {result['catalogue_changed']} catalogue products changed"
            if result["catalogue_changed"]
            else ""
        )
        said = f"imported {result['rows']} rows ({result['movements']} stock movements{catalogue})"
        if result["import_id"]:
            said += f"; import id {result['import_id']} (`omnisync undo {result['import_id']}` takes it back)"
        out.print(said, soft_wrap=True)


@ledger_app.command("export")
def ledger_export(file: Path, as_json: JsonOpt = False) -> None:
    """Export SKUs, prices and stock per location to CSV (FILE ``-``: standard output)."""
    from omnisync import ledgerio
    from omnisync.sdk.errors import ConfigurationError

    engine = _engine(existing=True)
    if str(file) == "-":
        rows = ledgerio.export_csv(engine.ledger, sys.stdout)
        err.print(f"exported {rows} SKUs", soft_wrap=True)
        return
    try:
        with file.open("w", newline="", encoding="utf-8") as fh:
            rows = ledgerio.export_csv(engine.ledger, fh)
    except OSError as exc:
        _fail(ConfigurationError(f"{file}: cannot write ({exc.strerror})"))
    if as_json:
        _print_json({"file": str(file), "skus": rows})
    else:
        out.print(f"exported {rows} SKUs to {file}")


KeyOpt = Annotated[str | None, typer.Option("--key", help="Idempotency key: the same key is applied once.")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="Why: kept with the movement, shown by history.")]
AllowNegativeOpt = Annotated[
    bool, typer.Option("--allow-negative", help="Let the on-hand count go below zero.")
]
# "-2" is a quantity, not an unknown option
_NUMBERS = {"ignore_unknown_options": True}


def _stock_change(
    sku: str,
    moves: list[tuple[str, int]],
    record: Callable[[Any, Any], bool],
    *,
    allow_negative: bool,
    as_json: bool,
) -> None:
    """Apply ``record`` in one transaction after checking that no location of ``moves`` (location,
    delta) goes below zero; print the on-hand after at each location."""
    from omnisync.ledger.repository import LedgerError

    engine = _engine(existing=True)
    now = engine.clock.now()
    ledger = engine.ledger
    with ledger.tx() as tx:
        pid = ledger.product_id(tx.conn, sku)
        lids = {code: ledger.location_id(tx.conn, code) for code, _ in moves}
        before = ledger.stock_for(tx.conn, [pid]).get(pid, {})
        for code, delta in moves:
            on_hand = before.get(lids[code], (0, 0))[0]
            refusal = stock_refusal(sku, code, on_hand, delta, allow_negative=allow_negative)
            if refusal:
                raise LedgerError(refusal)
        done = record(tx, now)
        after = ledger.stock_for(tx.conn, [pid]).get(pid, {})
    levels = {code: after.get(lid, (0, 0))[0] for code, lid in lids.items()}
    if as_json:
        _print_json({"sku": sku, "recorded": done, "on_hand": sum(levels.values()), "locations": levels})
        return
    said = "recorded" if done else "already recorded (same key): nothing changed"
    out.print(f"{said}; {sku} on hand: " + ", ".join(f"{c} {n}" for c, n in levels.items()))


def stock_refusal(sku: str, location: str, on_hand: int, delta: int, *, allow_negative: bool) -> str | None:
    """Why a movement of ``delta`` is refused (None: allowed): stock never goes below zero by default."""
    if delta >= 0 or on_hand + delta >= 0 or allow_negative:
        return None
    return (
        f"{sku} at {location}: {on_hand} on hand, cannot take {-delta} "
        f"(it would leave {on_hand + delta}; pass --allow-negative to record it anyway)"
    )


def _movement(
    kind: str,
    sku: str,
    location: str,
    quantity: int,
    key: str | None,
    note: str | None,
    allow: bool,
    js: bool,
) -> None:
    def record(tx: Any, now: Any) -> bool:
        k = key or f"cli:{kind}:{sku}:{location}:{quantity}:{now.isoformat()}"
        return bool(
            tx.record_movement(sku, location, kind, quantity, k, at=now, note=note, actor=cli_actor())
        )

    _stock_change(sku, [(location, quantity)], record, allow_negative=allow, as_json=js)


@stock_app.command("receive")
def stock_receive(
    sku: str,
    location: str,
    quantity: int,
    key: KeyOpt = None,
    note: NoteOpt = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="The purchase order received against: it expects fewer.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Goods in: add QUANTITY units of SKU at LOCATION."""
    if quantity <= 0:
        _fail(ValueError("a receipt adds a positive quantity"))
    if ref is None:
        _movement("receipt", sku, location, quantity, key, note, False, as_json)
        return

    def record(tx: Any, now: Any) -> bool:
        k = key or f"cli:receipt:{ref}:{sku}:{location}:{quantity}:{now.isoformat()}"
        return bool(tx.receive(ref, sku, location, quantity, k, at=now, note=note, actor=cli_actor()))

    _stock_change(sku, [(location, quantity)], record, allow_negative=False, as_json=as_json)


@stock_app.command("adjust", context_settings=_NUMBERS)
def stock_adjust(
    sku: str,
    location: str,
    delta: int,
    key: KeyOpt = None,
    note: NoteOpt = None,
    allow_negative: AllowNegativeOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Correct the count by DELTA (negative for shrinkage: ``stock adjust SKU LOC -2``)."""
    _movement("adjustment", sku, location, delta, key, note, allow_negative, as_json)


@stock_app.command("transfer")
def stock_transfer(
    sku: str,
    source: str,
    target: str,
    quantity: int,
    key: KeyOpt = None,
    allow_negative: AllowNegativeOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Move QUANTITY units of SKU from SOURCE to TARGET."""

    def record(tx: Any, now: Any) -> bool:
        return bool(
            tx.transfer(
                sku,
                source,
                target,
                quantity,
                key or f"cli:transfer:{sku}:{now.isoformat()}",
                at=now,
                actor=cli_actor(),
            )
        )

    _stock_change(
        sku, [(source, -quantity), (target, quantity)], record, allow_negative=allow_negative, as_json=as_json
    )


@app.command()
def history(
    sku: str,
    limit: Annotated[int, typer.Option("--limit", help="How many movements, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The SKU's stock movements, newest first: who or what made each, and the import it belongs to."""
    from omnisync.ledger import journal
    from omnisync.localtime import readable

    engine = _engine(existing=True)
    with engine.ledger.read() as conn:
        try:
            engine.ledger.product_id(conn, sku)
        except ValueError as exc:  # LedgerError: unknown SKU
            _fail(exc)
        rows = journal.history(conn, sku, limit)
    if as_json:
        _print_json(rows)
        return
    table = Table(
        "id", "when", "location", "kind", Column("units", justify="right"), "by", "import / order", "note"
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            readable(r["at"]),
            r["location"],
            f"{r['kind']} ({r['bucket']})" if r["bucket"] else r["kind"],
            f"{r['quantity']:+d}",
            word(r["actor"], "(before audit)"),
            word(r["batch"] or r["reference"]),
            word(r["note"]),
        )
    out.print(table if rows else f"no movements of {sku}")


@app.command()
def undo(
    target: Annotated[str, typer.Argument(help="An import id (import-...) or a movement id from `history`.")],
    as_json: JsonOpt = False,
) -> None:
    """Take back an import or a stock movement with compensating movements (nothing is deleted);
    refused, whole, where it would leave fewer units than open orders reserve."""
    from omnisync.ledger import journal
    from omnisync.ledger.repository import LedgerError

    engine = _engine(existing=True)
    try:
        with engine.ledger.tx() as tx:
            plan = journal.undo(engine.ledger, tx, target, actor=cli_actor(), at=engine.clock.now())
            if plan.refusals:
                raise LedgerError("\n".join(f"cannot undo {target}: {r}" for r in plan.refusals))
    except LedgerError as exc:
        _fail(exc)
    if as_json:
        _print_json(
            {
                "target": target,
                "compensations": [
                    {
                        "undoes": c.undoes.id,
                        "sku": c.undoes.sku,
                        "location": c.undoes.location,
                        "quantity": c.quantity,
                    }
                    for c in plan.compensations
                ],
                "already_undone": list(plan.already),
            }
        )
        return
    for c in plan.compensations:
        out.print(f"{c.undoes.sku} at {c.undoes.location}: {c.quantity:+d} (undoes movement {c.undoes.id})")
    if plan.already and not plan.compensations:
        out.print(f"{target} was undone already: nothing changed")
    else:
        out.print(f"undone {target}: {len(plan.compensations)} compensating movements")


def _bucket_moves(
    step: str,
    sku: str,
    location: str,
    make: Callable[[dict[str, int]], list[Any]],
    *,
    key: str | None,
    note: str | None = None,
    order: str | None = None,
    as_json: bool,
) -> None:
    """Journal the movements ``make`` gives from the location's buckets now, in one transaction, and
    print the location's sellable stock and buckets after."""
    engine = _engine(existing=True)
    now, ledger = engine.clock.now(), engine.ledger
    try:
        with ledger.tx() as tx:
            pid, lid = ledger.product_id(tx.conn, sku), ledger.location_id(tx.conn, location)
            moves = make(ledger.buckets(tx.conn, [pid]).get(pid, {}).get(lid, {}))
            base = key or f"cli:{step}:{sku}:{location}:{now.isoformat()}"
            done = False
            for m in moves:
                done |= tx.record_movement(
                    sku,
                    location,
                    m.kind,
                    m.quantity,
                    f"{base}:{m.part}",
                    at=now,
                    note=note,
                    reference=order,
                    actor=cli_actor(),
                    bucket=m.bucket,
                )
            on_hand, reserved = ledger.stock_for(tx.conn, [pid]).get(pid, {}).get(lid, (0, 0))
            held = ledger.buckets(tx.conn, [pid]).get(pid, {}).get(lid, {})
    except ValueError as exc:  # DispositionError, LedgerError: one line
        _fail(exc)
    after = {
        "on_hand": on_hand,
        "reserved": reserved,
        "damaged": held.get("damaged", 0),
        "inspect": held.get("inspect", 0),
    }
    if as_json:
        _print_json({"sku": sku, "location": location, "recorded": done, **after})
        return
    said = "recorded" if done else "already recorded (same key): nothing changed"
    out.print(
        f"{said}; {sku} at {location}: {on_hand} on hand, {after['damaged']} damaged, "
        f"{after['inspect']} to inspect"
    )


OrderOpt = Annotated[str | None, typer.Option("--order", help="The order the units came back from.")]


@returns_app.command("receive")
def returns_receive(
    sku: str,
    location: str,
    restockable: Annotated[int, typer.Option("--restockable", help="Units fit to sell again.")] = 0,
    damaged: Annotated[int, typer.Option("--damaged", help="Units not fit to sell.")] = 0,
    inspect: Annotated[int, typer.Option("--inspect", help="Units held until inspected.")] = 0,
    order: OrderOpt = None,
    key: KeyOpt = None,
    note: NoteOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Returned units in at LOCATION: only restockable ones go back to what channels are offered;
    damaged ones and those to inspect are counted apart (``stock levels`` shows them). For returns the
    channel does not restock itself: a channel return that restocks is already journalled by intake."""
    from omnisync import returns

    _bucket_moves(
        "return",
        sku,
        location,
        lambda _held: returns.received(restockable, damaged, inspect),
        key=key,
        note=note,
        order=order,
        as_json=as_json,
    )


@returns_app.command("inspect")
def returns_inspect(
    sku: str,
    location: str,
    restock: Annotated[int, typer.Option("--restock", help="Inspected units fit to sell again.")] = 0,
    damaged: Annotated[int, typer.Option("--damaged", help="Inspected units not fit to sell.")] = 0,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide on units waiting for inspection at LOCATION: back to sellable stock, or to damaged."""
    from omnisync import returns

    _bucket_moves(
        "inspect",
        sku,
        location,
        lambda held: returns.inspected(restock, damaged, held.get(returns.INSPECT, 0)),
        key=key,
        as_json=as_json,
    )


@stock_app.command("write-off")
def stock_write_off(
    sku: str, location: str, quantity: int, key: KeyOpt = None, note: NoteOpt = None, as_json: JsonOpt = False
) -> None:
    """Damaged units at LOCATION leave the books (scrapped, returned to the supplier)."""
    from omnisync import returns

    _bucket_moves(
        "write_off",
        sku,
        location,
        lambda held: returns.written_off(quantity, held.get(returns.DAMAGED, 0)),
        key=key,
        note=note,
        as_json=as_json,
    )


@stock_app.command("levels")
def stock_levels(
    sku: Annotated[str | None, typer.Argument(help="One SKU (default: every SKU).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per SKU and location: on hand, reserved by open orders, available, and the returned units held
    apart (damaged, to inspect), which are never offered."""
    engine = _engine(existing=True)
    ledger = engine.ledger
    try:
        with ledger.read() as conn:
            ids = {sku: ledger.product_id(conn, sku)} if sku else {p.sku: p.id for p in ledger.products(conn)}
            codes = {lid: row.code for lid, row in ledger.locations(conn).items()}
            stock = ledger.stock_for(conn, list(ids.values()))
            held = ledger.buckets(conn, list(ids.values()))
    except ValueError as exc:
        _fail(exc)
    rows = []
    for name, pid in sorted(ids.items()):
        for lid in sorted(set(stock.get(pid, {})) | set(held.get(pid, {})), key=lambda i: codes[i]):
            on_hand, reserved = stock.get(pid, {}).get(lid, (0, 0))
            buckets = held.get(pid, {}).get(lid, {})
            rows.append(
                {
                    "sku": name,
                    "location": codes[lid],
                    "on_hand": on_hand,
                    "reserved": reserved,
                    "available": on_hand - reserved,
                    "damaged": buckets.get("damaged", 0),
                    "inspect": buckets.get("inspect", 0),
                }
            )
    if as_json:
        _print_json(rows)
        return
    numbers = ("on hand", "reserved", "available", "damaged", "to inspect")
    table = Table("sku", "location", *(Column(n, justify="right") for n in numbers))
    for r in rows:
        table.add_row(
            r["sku"],
            r["location"],
            *(str(r[k]) for k in ("on_hand", "reserved", "available", "damaged", "inspect")),
        )
    out.print(table if rows else "no stock recorded")


ChannelOpt = Annotated[str | None, typer.Option("--channel", help="Only this channel.")]


@app.command()
def plan(
    channel: ChannelOpt = None,
    all_pairs: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Plan every listing against what its channel last acknowledged, not only the changed ones.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """What the next push would send and why. Sends nothing."""
    from omnisync import reports

    async def go(engine: Engine) -> tuple[list[dict[str, Any]], int]:
        from omnisync.ledger import queries

        names = [channel] if channel else list(engine.channels)
        rows = [reports.planned_row(i) for n in names for i in engine.plan(n, all_pairs=all_pairs)]
        with engine.ledger.read() as conn:
            marked = sum(queries.channel_counts(conn, n).pending for n in names)
        return rows, marked

    rows, marked = _run(go)
    if as_json:
        _print_json(rows)
        return
    table = Table("channel", "sku", "quantity", "price", "why")
    for r in rows:
        qty = "" if r["quantity"] is None else f"{word(r['previous'], 'unknown')} → {r['quantity']}"
        table.add_row(r["channel"], r["sku"], qty, r["price"] or "", r["why"])
    if rows:
        out.print(table)
    elif marked:  # status counts them as pending: say why nothing goes
        out.print(
            f"nothing to push: the {marked} listing(s) marked as changed already hold what the ledger "
            "offers (the next sync or run clears the mark)"
        )
    else:
        out.print("nothing to push")


AllListingsOpt = Annotated[bool, typer.Option("--all", help="Also list the products with nothing to send.")]


NO_CATALOGUE_HINT = (
    "the master catalogue has no product yet: give your CSV a `product` column and `ledger import` it, "
    "or build it from a channel with `omnisync catalog import --from CHANNEL`"
)


@listings_app.command("plan")
def listings_plan(
    channel: ChannelOpt = None, all_products: AllListingsOpt = False, as_json: JsonOpt = False
) -> None:
    """What the listing pipeline would create, update or unpublish on each channel, and why. Sends
    nothing; a listing the channel's rules refuse is shown as blocked."""
    from omnisync import reports

    async def go(engine: Engine) -> list[dict[str, Any]]:
        names = [channel] if channel else list(engine.channels)
        return [reports.listing_row(p) for n in names for p in engine.plan_listings(n)]

    planned = _run(go)
    rows = [r for r in planned if all_products or r["action"] != "keep"]
    if as_json:
        _print_json(rows)
        return
    table = Table(Column("channel", no_wrap=True), Column("product", no_wrap=True), "action", "why")
    for r in rows:
        action = f"{r['action']} (blocked)" if r["blocked"] else r["action"]
        table.add_row(r["channel"], r["product"], action, r["why"])
    out.print(table if rows else "no listing to create, update or unpublish")
    if not planned:
        out.print(NO_CATALOGUE_HINT)


async def _each_channel(
    engine: Engine, channel: str | None, row: Callable[[Engine, str], Coroutine[Any, Any, dict[str, Any]]]
) -> dict[str, Any]:
    """``row`` for the channel named, else for every channel, one after the other."""
    return {n: await row(engine, n) for n in ([channel] if channel else list(engine.channels))}


@listings_app.command("push")
def listings_push(channel: ChannelOpt = None, as_json: JsonOpt = False) -> None:
    """Create, update and unpublish listings as `listings plan` shows, within each channel's limits;
    a listing the channel's rules refuse is not sent. Stock and price follow through `sync`."""

    async def one(engine: Engine, n: str) -> dict[str, Any]:
        report, done = await engine.push_listings(n)
        return {
            "ok": report.ok,
            "created": done.created,
            "updated": done.updated,
            "unpublished": done.unpublished,
            "rejected": done.rejected,
            "retry": done.retry,
            "blocked": done.blocked,
            "issues": done.issues,
            "issues_read": done.issues_read,
            "api_calls": report.api_calls,
            "error": report.error,
        }

    async def go(engine: Engine) -> dict[str, Any]:
        return await _each_channel(engine, channel, one)

    rows = _run(go, prepare=True)
    if as_json:
        _print_json(rows)
    else:
        table = Table(
            "channel", "ok", "created", "updated", "unpublished", "rejected", "blocked", "api calls"
        )
        for n, r in rows.items():
            table.add_row(
                n, word(r["ok"]), str(r["created"]), str(r["updated"]), str(r["unpublished"]),
                str(r["rejected"]), str(r["blocked"]), str(r["api_calls"]),
            )  # fmt: skip
        out.print(table)
        for n, r in rows.items():
            for product, issues in r["issues"].items():
                err.print(escape(f"{n}: product {product}: {'; '.join(issues)}"), soft_wrap=True)
        _print_errors(rows)
    if not all(r["ok"] for r in rows.values()):
        raise typer.Exit(1)


@listings_app.command("validate")
def listings_validate(channel: ChannelOpt = None, as_json: JsonOpt = False) -> None:
    """Check every active product's listing against each channel's rules before any call: one line
    per product naming each field and the rule. Exit 1 when a channel would refuse one."""
    from omnisync import reports

    async def go(engine: Engine) -> list[dict[str, Any]]:
        names = [channel] if channel else list(engine.channels)
        return [
            reports.listing_row(p) for n in names for p in engine.plan_listings(n) if p.wanted is not None
        ]

    rows = _run(go)
    refused = [r for r in rows if r["problems"]]
    if as_json:
        _print_json({"checked": len(rows), "refused": refused})
    else:
        for r in refused:
            problems = "; ".join(f"{p['field']}: {p['rule']}" for p in r["problems"])
            err.print(escape(f"{r['channel']}: product {r['product']}: {problems}"), soft_wrap=True)
        out.print(f"{len(rows)} listings checked, {len(refused)} would be refused")
        if not rows:
            out.print(NO_CATALOGUE_HINT)
    if refused:
        raise typer.Exit(1)


@app.command()
def sync(
    once: Annotated[bool, typer.Option("--once", help="One cycle per channel, then exit.")] = True,
    channel: ChannelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pull orders, plan and push, once per channel."""
    from omnisync import reports

    async def go(engine: Engine) -> dict[str, Any]:
        from omnisync.progress import Progress

        names = [channel] if channel else list(engine.channels)
        with Progress("sync", 2 * len(names)) as progress:

            def done(stage: str, r: CycleReport) -> None:
                progress.advance(f"{r.channel} {stage}{'' if r.ok else ' FAILED'}")

            ran = await engine.sync_once(names, done=done)
        return {n: reports.cycle_row(r) for n, r in ran.items()}

    rows = _run(go, prepare=True)
    if as_json:
        _print_json(rows)
    else:
        table = Table("channel", "ok", "orders", "pushed", "accepted", "rejected", "api calls")
        for n, r in rows.items():
            table.add_row(
                n, "yes" if r["ok"] else "NO", str(r["orders_imported"]), str(r["items_pushed"]),
                str(r["accepted"]), str(r["rejected"]), str(r["api_calls"]),
            )  # fmt: skip
        out.print(table)
        _print_errors(rows)
    if not all(r["ok"] for r in rows.values()):
        raise typer.Exit(1)


def _when(at: Any) -> str:
    from omnisync.localtime import readable

    return "never" if at is None else readable(at)


def _print_errors(rows: dict[str, Any]) -> None:
    """Each channel's error on one line of its own, never folded into a table cell."""
    from omnisync import logging as oslog

    for n, r in rows.items():
        if r["error"]:
            text = r["error"] if r["error"].startswith(f"[{n}]") else f"[{n}] {r['error']}"
            err.print(escape(oslog.redact_text(text)), soft_wrap=True)


@app.command()
def reconcile(channel: ChannelOpt = None, as_json: JsonOpt = False) -> None:
    """Read every channel's live quantities, report drift, re-plan and push every pair."""
    from omnisync import reports

    async def go(engine: Engine) -> dict[str, Any]:
        from omnisync.progress import Progress

        names = [channel] if channel else list(engine.channels)
        rows = {}
        with Progress("reconcile", len(names)) as progress:
            for n in names:
                rows[n] = reports.cycle_row(await engine.reconcile(n))
                progress.advance(f"{n}{'' if rows[n]['ok'] else ' FAILED'}")
        return rows

    rows = _run(go, prepare=True)
    if as_json:
        _print_json(rows)
    else:
        table = Table("channel", "ok", "drift corrected", "pushed")
        for n, r in rows.items():
            table.add_row(n, "yes" if r["ok"] else "NO", str(r["drift"]), str(r["items_pushed"]))
        out.print(table)
        _print_errors(rows)
    if not all(r["ok"] for r in rows.values()):
        raise typer.Exit(1)


@app.command()
def explain(sku: str, as_json: JsonOpt = False) -> None:
    """Why each channel shows what it shows for SKU: every rule, step by step."""
    from omnisync import reports

    async def go(engine: Engine) -> dict[str, Any]:
        rows = reports.explain_sku(engine, sku)
        for name, planned in engine.explain_listing(sku).items():
            if name in rows:
                rows[name]["listing"] = reports.listing_row(planned, fields=True)
        return rows

    rows = _run(go)
    if as_json:
        _print_json(rows)
        return
    for name, r in rows.items():
        holds = word(r["acked_quantity"], "nothing confirmed yet")
        out.print(Text.assemble((name, "bold"), f"  offers {r['offered']}  (channel holds {holds})"))
        for step in r["steps"]:
            out.print(f"  {step['rule']:<20} {word(step['value']):>6}  {step['detail']}", soft_wrap=True)
        if r["price"] is not None:
            out.print(f"  {'price':<20} {r['price']:>6}  {'; '.join(r['price_steps'])}")
        for code, kept in r.get("external_stock", {}).items():
            text = f"{code}: {reports.external_text(kept)}"
            out.print(f"  {'channel count':<20} {kept['count']:>6}  {text}", soft_wrap=True)
        if "listing" in r:
            _print_listing(r["listing"])


def _print_listing(r: dict[str, Any]) -> None:
    """The listing a SKU belongs to, as the channel would get it (``explain``)."""
    out.print(f"  {'listing':<20} {r['product']}: {r['action']} ({r['why']})", soft_wrap=True)
    for name, value in r.get("fields", {}).items():
        if name == "variants":
            for v in value:
                opts = ", ".join(f"{k}={x}" for k, x in v["options"].items())
                barcode = word(v["barcode"], "none")
                text = f"{v['channel_sku']}: {v['title']} [{opts}] barcode {barcode}, {v['price']}"
                out.print(f"    {'variant':<18} {text}", soft_wrap=True)
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        out.print(f"    {name:<18} {shown.replace(chr(10), ' / ')}", soft_wrap=True)
    for note in r.get("notes", []):
        out.print(f"    {'from':<18} {note}", soft_wrap=True)
    for p in r["problems"]:
        out.print(f"    {'PROBLEM':<18} {p['field']}: {p['rule']}", soft_wrap=True)


@app.command()
def status(as_json: JsonOpt = False) -> None:
    """Per channel: last cycle, pending changes, errors. Never shows secrets."""
    from omnisync import reports

    engine = _engine(existing=True)
    data = reports.status(engine)
    if as_json:
        _print_json(data)
        return
    # Names and times never fold at 80 columns; the last error goes on a line of its own below.
    table = Table(
        Column("channel", no_wrap=True), Column("connector", no_wrap=True), Column("state", no_wrap=True),
        Column("last run", no_wrap=True), "pending", "missing", "listing errors",
    )  # fmt: skip
    for n, r in data["channels"].items():
        table.add_row(
            n, r["connector"], r["state"], _when(r["last_run"]),
            str(r["pending"]), str(r["missing"]), str(r["listing_errors"]),
        )  # fmt: skip
    out.print(table)
    _print_errors(
        {  # the error's own "[channel] " is said once, in front
            n: {
                "error": f"[{n}] last error at {_when(r['last_error_at'])}: {_unprefixed(r['last_error'], n)}"
            }
            for n, r in data["channels"].items()
            if r["last_error"]
        }
    )
    for n, r in data["channels"].items():  # the channel's words about each listing it refused
        for a in r["catalogue"]["answers"]:
            err.print(
                escape(f"[{n}] listing {a['product']} ({a['action']}): {'; '.join(a['issues'])}"),
                soft_wrap=True,
            )
    out.print(f"quarantined order lines: {data['quarantined_lines']}")


def _unprefixed(error: str, channel: str) -> str:
    """``error`` without the ``[channel] `` an SDK error puts before its text (the caller says it)."""
    return error.replace(f"[{channel}] ", "", 1)


@app.command()
def orders(
    quarantined: Annotated[bool, typer.Option("--quarantined", help="List quarantined lines.")] = False,
    retry_quarantined: Annotated[
        bool, typer.Option("--retry-quarantined", help="Import lines now mapped.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Recent orders, or the quarantined lines (unknown SKUs)."""
    from omnisync import reports

    if retry_quarantined:

        async def retry(engine: Engine) -> tuple[int, int]:
            return engine.retry_quarantined()

        done, still = _run(retry)
        if as_json:
            _print_json({"imported": done, "still_quarantined": still})
        else:
            out.print(f"imported {done} lines; {still} still quarantined")
        return
    engine = _engine(existing=True)
    rows = reports.quarantined(engine) if quarantined else reports.recent_orders(engine)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out.print("no quarantined order line" if quarantined else "no order imported yet")
        return
    table = Table(*(key.replace("_", " ") for key in rows[0]))
    for r in rows:  # times as status shows them, not 2026-12-04 15:19:58.361808+00:00
        table.add_row(*(_when(v) if isinstance(v, datetime) else word(v) for v in r.values()))
    out.print(table)


@app.command()
def alerts(
    send_test: Annotated[
        bool, typer.Option("--send-test", help="Send one test message through each notifier.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The alerts firing or pending in the ledger; or, with --send-test, whether each notifier
    (alerts.notifiers) takes a message (exit 1 when one does not)."""
    if send_test:
        from omnisync.alerts.service import send_test as send
        from omnisync.sdk.errors import OmnisyncError

        engine = _engine(contact=True, quiet=True)
        if engine.config.alerts is None or not engine.config.alerts.notifiers:
            _fail(ValueError(f"no alerts.notifiers in {engine.loaded.path.name}"))
        try:
            results = _arun(send(engine))
        except OmnisyncError as exc:  # a notifier's secret not set
            _fail(exc)
            raise
        if as_json:
            _print_json({name: {"ok": error is None, "error": error} for name, error in results.items()})
        else:
            for name, error in results.items():
                out.print(f"{name}: " + ("sent" if error is None else f"[red]failed[/red]: {escape(error)}"))
        raise typer.Exit(0 if all(e is None for e in results.values()) else 1)
    engine = _engine(existing=True)
    with engine.ledger.read() as conn:
        rows = [r for r in engine.ledger.alert_rows(conn) if r["status"] in ("firing", "pending")]
    rows.sort(key=lambda r: (r["status"] != "firing", r["key"]))
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out.print("no alert firing or pending")
        return
    table = Table("status", "since", "alert")
    for r in rows:
        table.add_row(r["status"], _when(r["since"]), escape(r["summary"]))
    out.print(table)


@app.command()
def run() -> None:
    """The daemon: scheduled pull, push and reconcile per channel, webhooks, status page."""
    from omnisync.daemon import ServiceInfo, serve
    from omnisync.sdk.errors import OmnisyncError

    engine = _engine(contact=True)

    def started(info: ServiceInfo) -> None:
        if info.port is not None:  # whatever the log level: where the merchant looks
            err.print(f"status page: http://{info.host}:{info.port}/  (JSON: /status); Ctrl-C stops")

    async def go() -> int:
        await engine.start(prepare=True)
        return await serve(engine, engine.config.daemon, on_ready=started)

    try:
        code = _arun(go())
    except OmnisyncError as exc:
        _fail(exc)
        raise
    raise typer.Exit(code)


@app.command()
def demo(
    folder: Annotated[
        Path, typer.Option(help="Where the demo leaves its config, mappings and ledger.")
    ] = Path("omnisync-demo"),
    seconds: Annotated[
        float | None, typer.Option(help="Trading time in seconds (default 15; 60 with --long).")
    ] = None,
    skus: Annotated[int | None, typer.Option(help="Catalogue size (default 40; 300 with --long).")] = None,
    long: Annotated[bool, typer.Option("--long", help="The long form: 300 SKUs, 60 s of trading.")] = False,
    seed: Annotated[int, typer.Option(help="The same seed gives the same orders and stock counts.")] = 7,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a config and ledger the demo did not create.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Four emulated channels, a seeded ledger, shoppers and walk-in customers; then a summary."""
    from omnisync.demo import run_demo

    code = run_demo(folder, seconds=seconds, skus=skus, long=long, as_json=as_json, seed=seed, force=force)
    raise typer.Exit(code)


def _register_simulate() -> None:
    from omnisync.simulate.cli import simulate_command

    app.command("simulate")(simulate_command)


_register_simulate()


def _register_reports() -> None:
    from omnisync.clireports import register

    register(app, stock_app)


_register_reports()


def _register_catalogue() -> None:
    from omnisync.clicatalog import register

    register(app, listings_app)


_register_catalogue()


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["Decimal", "app", "main"]
