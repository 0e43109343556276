"""CSV import/export of the catalogue and stock, and the starter config for ``omnisync init``.

CSV columns: ``sku,title,barcode,tags,price,currency,active`` then one ``stock:<LOCATION>`` column per
location holding the absolute on-hand count, optionally the supplier terms the reorder list uses:
``lead_time_days,moq,pack,service_level`` (a blank cell: the config's ``replenishment`` default; exported
when some SKU has terms), optionally ``kit``: a kit SKU's components and quantities (``MUG:2|LID``,
:mod:`omnisync.kits`; a pack of 6 is ``MUG:6``; a kit holds no stock of its own, so its stock cells stay
blank; exported when the ledger holds a kit), and
optionally the master catalogue's columns (``product`` and the product's content, ``option:<Name>``,
``attr:<name>``: :mod:`omnisync.catalogue.columns`).
Tags are separated by ``|`` (``apparel|clearance``; a
``;`` inside a tag is kept, with a warning, since it is most likely a separator meant as ``|``).
Export writes the same columns, so export -> import changes nothing. Import validates every
row first and writes everything in one transaction: a bad row is reported with its line number and
nothing is imported. Stock columns become adjustment movements of the difference, with keys derived
from the file's content, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from omnisync.audit import import_batch
from omnisync.catalogue.columns import (
    VariantCells,
    export_cells,
    export_header,
    is_catalogue_column,
    parse_catalogue,
)
from omnisync.kits import Component, KitError, format_kit, parse_kit
from omnisync.ledger import journal
from omnisync.ledger import kits as kit_rows
from omnisync.ledger.repository import Ledger, LedgerError
from omnisync.ledger.rows import MovementRow
from omnisync.ledger.supply import Terms, supplier_terms

BASE_COLUMNS = ("sku", "title", "barcode", "tags", "price", "currency", "active")
TERM_COLUMNS = ("lead_time_days", "moq", "pack", "service_level")
KIT_COLUMN = "kit"
TRUE = {"1", "true", "yes", "y", ""}
FALSE = {"0", "false", "no", "n"}


class CsvError(LedgerError):
    pass


TAG_SEPARATOR = "|"


@dataclass(frozen=True)
class Row:
    line: int
    sku: str
    title: str
    barcode: str
    tags: tuple[str, ...]
    price: Decimal
    currency: str
    active: bool
    stock: dict[str, int]
    catalogue: dict[str, str]
    """The row's catalogue columns (stripped)."""
    terms: Terms | None = None
    """None when the file has no supplier term column."""
    kit: tuple[Component, ...] | None = None
    """The kit's components (empty: a plain SKU); None when the file has no ``kit`` column."""


def _read_text(file: Path) -> str:
    """The file's text, or one CsvError naming the file (and the line of the first non-UTF-8 byte)."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise CsvError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise CsvError(f"{file}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise CsvError(f"{file}: cannot read ({exc.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CsvError(
            f"{file}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at character {column});"
            " save the file as UTF-8"
        ) from None


def _control_char(value: str) -> str | None:
    """The first character a field may not hold (control characters other than tab and line breaks)."""
    for ch in value:
        code = ord(ch)
        if (code < 0x20 and ch not in "\t\n\r") or 0x7F <= code <= 0x9F:
            return ch
    return None


def _records(file: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on, parsed strictly: quoted fields keep every character."""
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            msg = f"{file}:{start}: malformed CSV ({exc}); check the quotes from this line on"
            raise CsvError(msg) from None
        if record:
            yield start, record
        start = reader.line_num + 1


def _parse(file: Path, known_locations: set[str]) -> tuple[list[Row], list[str], str]:
    text = _read_text(file)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    records = _records(file, text)
    first = next(records, None)
    header = [h.strip() for h in first[1]] if first else []
    if "sku" not in header:
        raise CsvError(f"{file}:1: the header needs a 'sku' column")
    stock_cols = [h for h in header if h.startswith("stock:")]
    unknown = [
        h
        for h in header
        if h not in (*BASE_COLUMNS, *TERM_COLUMNS, KIT_COLUMN)
        and h not in stock_cols
        and not is_catalogue_column(h)
    ]
    if unknown:
        raise CsvError(f"{file}:1: unknown columns {unknown}")
    for col in stock_cols:
        if col[6:] not in known_locations:
            raise CsvError(f"{file}:1: column {col}: location {col[6:]!r} is not configured")
    rows: list[Row] = []
    seen: set[str] = set()
    for line, record in records:
        if len(record) != len(header):
            raise CsvError(
                f"{file}:{line}: {len(record)} fields where the header has {len(header)}"
                " (a stray quote or separator?)"
            )
        for name, value in zip(header, record, strict=True):
            ch = _control_char(value)
            if ch is not None:
                msg = f"{file}:{line}: column {name}: control character U+{ord(ch):04X} is not allowed"
                raise CsvError(msg)
        rows.append(_row(file, line, dict(zip(header, record, strict=True)), stock_cols, seen))
    return rows, header, digest


def _row(file: Path, line: int, raw: dict[str, Any], stock_cols: list[str], seen: set[str]) -> Row:
    def bad(msg: str) -> CsvError:
        return CsvError(f"{file}:{line}: {msg}")

    sku = (raw.get("sku") or "").strip()
    if not sku:
        raise bad("empty sku")
    if sku in seen:
        raise bad(f"sku {sku} appears twice")
    seen.add(sku)
    try:
        price = Decimal((raw.get("price") or "0").strip())
    except InvalidOperation:
        raise bad(f"price {raw.get('price')!r} is not a number") from None
    if price < 0:
        raise bad("price must be ≥ 0")
    active_raw = (raw.get("active") or "").strip().lower()
    if active_raw not in TRUE | FALSE:
        raise bad(f"active must be true or false, not {active_raw!r}")
    stock: dict[str, int] = {}
    for col in stock_cols:
        value = (raw.get(col) or "").strip()
        if value == "":
            continue
        try:
            stock[col[6:]] = int(value)
        except ValueError:
            raise bad(f"{col}: {value!r} is not a whole number") from None
        if stock[col[6:]] < 0:
            raise bad(f"{col}: stock must be ≥ 0")
    currency = (raw.get("currency") or "EUR").strip().upper()
    if len(currency) != 3:
        raise bad(f"currency {currency!r} is not a 3-letter code")
    terms: Terms | None = None
    if any(col in raw for col in TERM_COLUMNS):
        terms = _terms(raw, bad)
    kit: tuple[Component, ...] | None = None
    if KIT_COLUMN in raw:
        try:
            kit = parse_kit(raw.get(KIT_COLUMN) or "")
        except KitError as exc:
            raise bad(f"{KIT_COLUMN}: {exc}") from None
        if kit and stock:
            raise bad(f"{KIT_COLUMN}: kit {sku} holds no stock of its own; leave its stock cells blank")
    return Row(
        line,
        sku,
        (raw.get("title") or "").strip(),
        (raw.get("barcode") or "").strip(),
        tuple(t.strip() for t in (raw.get("tags") or "").split(TAG_SEPARATOR) if t.strip()),
        price,
        currency,
        active_raw in TRUE,
        stock,
        {k: (v or "").strip() for k, v in raw.items() if is_catalogue_column(k)},
        terms,
        kit,
    )


def _terms(raw: dict[str, Any], bad: Any) -> Terms:
    """The supplier terms of a row; a blank cell is None (the config's default)."""

    def number(col: str, kind: type, low: float, high: float | None = None) -> Any:
        text = (raw.get(col) or "").strip()
        if not text:
            return None
        try:
            value = kind(text)
        except ValueError:
            raise bad(f"{col}: {text!r} is not a {'whole number' if kind is int else 'number'}") from None
        if value < low or (high is not None and value >= high):
            raise bad(f"{col}: {text} must be ≥ {low:g}" + (f" and < {high:g}" if high is not None else ""))
        return value

    return {
        "lead_time_days": number("lead_time_days", float, 0),
        "moq": number("moq", int, 1),
        "pack": number("pack", int, 1),
        "service_level": number("service_level", float, 0.5, 1),
    }


def tag_warnings(file: Path, rows: list[Row]) -> list[str]:
    """Rows whose tags hold a ``;`` (most likely meant as the ``|`` separator)."""
    return [
        f"{file}:{row.line}: tags: {tag!r} holds ';' - tags are separated by '{TAG_SEPARATOR}' "
        f"(imported as one tag)"
        for row in rows
        for tag in row.tags
        if ";" in tag
    ]


def import_csv(
    ledger: Ledger, file: Path, now: datetime, *, progress: bool = False, actor: str | None = None
) -> dict[str, Any]:
    """Import the file in one transaction; returns rows, movements, warnings and the import's id
    (its movements' batch, which ``omnisync undo`` takes)."""
    with ledger.read() as conn:
        known = {row.code for row in ledger.locations(conn).values()}
    rows, header, digest = _parse(file, known)
    catalogue = parse_catalogue(
        file, header, [VariantCells(r.line, r.sku, r.title, r.catalogue) for r in rows]
    )
    warnings = tag_warnings(file, rows)
    iterator: Any = rows
    if progress:  # a bar on a terminal, plain lines on stderr otherwise
        from omnisync.progress import track

        iterator = track(rows, f"importing {file.name}", len(rows))
    with ledger.tx() as tx:
        codes = {row.code: lid for lid, row in ledger.locations(tx.conn).items()}
        ids, changed = tx.upsert_products(
            [
                {
                    "sku": r.sku,
                    "title": r.title,
                    "barcode": r.barcode,
                    "tags": r.tags,
                    "price": r.price,
                    "currency": r.currency,
                    "active": r.active,
                }
                for r in iterator
            ]
        )
        tx.set_terms({ids[r.sku]: r.terms for r in rows if r.terms is not None})
        changed |= _define_kits(ledger, tx.conn, file, rows, ids)
        current = ledger.stock_for(tx.conn, list(ids.values()))
        generation = journal.undo_generation(tx.conn, import_batch(digest))
        batch = import_batch(digest, generation)
        wanted: list[MovementRow] = []
        for row in rows:
            pid = ids[row.sku]
            for code, target in row.stock.items():
                on_hand = current.get(pid, {}).get(codes[code], (0, 0))[0]
                if target != on_hand:
                    wanted.append(
                        {
                            "product_id": pid,
                            "location_id": codes[code],
                            "kind": "adjustment",
                            "quantity": target - on_hand,
                            "idempotency_key": f"import:{digest}:{generation}:{row.sku}:{code}",
                            "reference": None,
                            "note": f"{file.name} line {row.line}",
                            "created_at": now,
                            "actor": actor,
                            "batch": batch,
                        }
                    )
        inserted = tx.insert_movements(wanted)
        deltas: dict[tuple[int, int], tuple[int, int]] = {}
        for m in wanted:
            if m["idempotency_key"] in inserted:
                deltas[(m["product_id"], m["location_id"])] = (m["quantity"], 0)
        tx.ensure_stock_rows(deltas)
        tx.apply_stock(deltas, deltas)
        tx.touch_products(changed | {pid for pid, _ in deltas})
        movements = len(deltas)
        products = len(tx.upsert_catalogue(catalogue.items, catalogue.links)) if catalogue else 0
    return {
        "rows": len(rows),
        "movements": movements,
        "catalogue_changed": products,
        "warnings": warnings,
        "import_id": batch if movements else None,
    }


def _define_kits(ledger: Ledger, conn: Any, file: Path, rows: list[Row], ids: dict[str, int]) -> set[int]:
    """The kits of the file's ``kit`` column; a refused one names its line. Returns the kits changed."""
    kits = {r.sku: r.kit for r in rows if r.kit is not None}
    if not kits:
        return set()
    named = {c.sku for components in kits.values() for c in components}
    known = {**ledger.find_product_ids(conn, named - set(ids)), **ids}
    try:
        return kit_rows.define_kits(conn, kits, known)
    except KitError as exc:
        line = next((r.line for r in rows if r.kit is not None and str(exc).startswith(f"kit {r.sku}:")), 1)
        raise CsvError(f"{file}:{line}: {KIT_COLUMN}: {exc}") from None


def export_csv(ledger: Ledger, out: TextIO) -> int:
    """Write every product with its stock per location, in the import's columns."""
    with ledger.read() as conn:
        locations = ledger.locations(conn)
        products = ledger.products(conn)
        stock = ledger.stock_for(conn, [p.id for p in products])
        catalogue = ledger.catalogue(conn)
        terms = supplier_terms(conn)
        kits = kit_rows.all_kits(conn)
    codes = sorted((row.code, lid) for lid, row in locations.items())
    extra = export_header(catalogue)
    parent = {v.sku: (c, v.options) for c in catalogue for v in c.variants}
    writer = csv.writer(out)
    # optional column groups appear only when the ledger holds something for them, so a ledger without
    # supplier terms or a catalogue exports the plain columns it was imported from
    term_columns = TERM_COLUMNS if terms else ()
    kit_column = (KIT_COLUMN,) if kits else ()
    writer.writerow([*BASE_COLUMNS, *(f"stock:{c}" for c, _ in codes), *term_columns, *kit_column, *extra])
    for p in products:
        product, options = parent.get(p.sku, (None, {}))
        per = stock.get(p.id, {})
        writer.writerow(
            [
                p.sku,
                p.title,
                p.barcode or "",
                TAG_SEPARATOR.join(p.tags),
                price_text(p.price),
                p.currency,
                str(p.active).lower(),
            ]
            + (["" if p.sku in kits else per.get(lid, (0, 0))[0] for _, lid in codes])
            + (_term_cells(terms.get(p.id)) if term_columns else [])
            + ([format_kit(kits.get(p.sku, ()))] if kit_column else [])
            + export_cells(extra, product, options)
        )
    return len(products)


def _term_cells(terms: Terms | None) -> list[str]:
    """The terms as written in the file: blank for the default, ``7`` rather than ``7.0``."""
    if terms is None:
        return [""] * len(TERM_COLUMNS)
    values = (terms["lead_time_days"], terms["moq"], terms["pack"], terms["service_level"])
    return ["" if v is None else f"{v:g}" for v in values]


def price_text(price: Decimal) -> str:
    """A price as a person writes it: two decimals unless it has more (13.0000 -> 13.00)."""
    cents = price.quantize(Decimal("0.01"))
    return f"{cents:.2f}" if cents == price else format(price.normalize(), "f")


def starter_config() -> str:
    example = Path(__file__).resolve().parents[1] / "config.example.yaml"
    if example.exists():
        return example.read_text(encoding="utf-8")
    return STARTER


STARTER = """\
# omnisync configuration: see config.example.yaml in the project for every key.
ledger:
  url: sqlite:///omnisync.db
currency: EUR
locations:
  - {code: WH, name: Warehouse, kind: warehouse}
channels: {}
"""
