"""The catalogue's CSV columns (``ledger import`` / ``ledger export``): one row per variant.

``product`` names the catalogue product a row's SKU is a variant of (empty: a SKU outside the
catalogue). The product's own columns - ``product_title`` (default: the first variant's ``title``),
``description``, ``brand``, ``condition`` (new | used | refurbished, default new), ``status``
(active | draft | discontinued, default active), ``images`` (URLs separated by ``|``, in order) and
one ``attr:<name>`` column per attribute - are written on the product's first row; a later row of
the same product leaves them empty or repeats them exactly. ``option:<Name>`` columns give each
variant's option values (``option:Size`` = ``M``); every variant of a product names the same
options, and no two variants of a product share all their values. Export writes every column on
every row, so export -> import changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from omnisync.ledger.catalogue import CONDITIONS, STATUSES
from omnisync.ledger.rows import CatalogueItem, CatalogueRow
from omnisync.ledger.tables import LedgerError

PRODUCT = "product"
PRODUCT_COLUMNS = ("product_title", "description", "brand", "condition", "status", "images")
OPTION = "option:"
ATTR = "attr:"
IMAGE_SEPARATOR = "|"


def is_catalogue_column(name: str) -> bool:
    return name == PRODUCT or name in PRODUCT_COLUMNS or name.startswith((OPTION, ATTR))


@dataclass(frozen=True)
class VariantCells:
    """One CSV row as the catalogue reads it."""

    line: int
    sku: str
    title: str
    cells: Mapping[str, str]
    """The row's catalogue columns, stripped."""


@dataclass
class CatalogueImport:
    items: list[CatalogueItem] = field(default_factory=list)
    links: dict[str, tuple[str | None, dict[str, str] | None]] = field(default_factory=dict)
    """SKU -> (its product's handle or None, its option values)."""


def _product_fields(file: Path, row: VariantCells, header: Sequence[str]) -> dict[str, str]:
    """The product columns this row sets (non-empty), validated."""
    got = {c: row.cells.get(c, "") for c in header if c in PRODUCT_COLUMNS or c.startswith(ATTR)}
    got = {c: v for c, v in got.items() if v}
    where = f"{file}:{row.line}"
    if "condition" in got and got["condition"].lower() not in CONDITIONS:
        raise LedgerError(
            f"{where}: condition must be one of {', '.join(CONDITIONS)}, not {got['condition']!r}"
        )
    if "status" in got and got["status"].lower() not in STATUSES:
        raise LedgerError(f"{where}: status must be one of {', '.join(STATUSES)}, not {got['status']!r}")
    for url in split_images(got.get("images", "")):
        if not url.startswith(("https://", "http://")):
            raise LedgerError(f"{where}: images: {url!r} is not an http(s) URL")
    return got


def split_images(raw: str) -> list[str]:
    return [u.strip() for u in raw.split(IMAGE_SEPARATOR) if u.strip()]


def parse_catalogue(
    file: Path, header: Sequence[str], rows: Sequence[VariantCells]
) -> CatalogueImport | None:
    """The products and variant links the rows describe; None when the file has no ``product``
    column (its SKUs' catalogue links are left as they are). LedgerError names file, line, column."""
    if PRODUCT not in header:
        orphans = [c for c in header if is_catalogue_column(c)]
        if orphans:
            raise LedgerError(
                f"{file}:1: columns {orphans} need a '{PRODUCT}' column naming each row's product"
            )
        return None
    option_names = [c[len(OPTION) :] for c in header if c.startswith(OPTION)]
    found = CatalogueImport()
    first: dict[str, tuple[VariantCells, dict[str, str]]] = {}
    options_of: dict[str, tuple[int, tuple[str, ...]]] = {}
    combos: dict[tuple[str, tuple[str, ...]], int] = {}
    for row in rows:
        handle = row.cells.get(PRODUCT, "")
        values = {n: row.cells.get(OPTION + n, "") for n in option_names}
        values = {n: v for n, v in values.items() if v}
        if not handle:
            if values or _product_fields(file, row, header):
                raise LedgerError(f"{file}:{row.line}: product columns are set but '{PRODUCT}' is empty")
            found.links[row.sku] = (None, None)
            continue
        if len(handle) > 128:
            raise LedgerError(f"{file}:{row.line}: product {handle[:20]}...: at most 128 characters")
        fields = _product_fields(file, row, header)
        if handle not in first:
            first[handle] = (row, fields)
            options_of[handle] = (row.line, tuple(values))
        else:
            line, names = options_of[handle]
            if tuple(values) != names:
                raise LedgerError(
                    f"{file}:{row.line}: product {handle}: options {list(values)} where line {line} "
                    f"gives {list(names)} (every variant names the same options)"
                )
            origin, set_first = first[handle]
            for column, value in fields.items():
                if set_first.get(column, "") != value:
                    raise LedgerError(
                        f"{file}:{row.line}: product {handle}: {column} differs from line {origin.line} "
                        f"(a product's columns are empty after its first row, or the same)"
                    )
        combo = (handle, tuple(values.values()))
        if combo in combos:
            shown = ", ".join(f"{n}={v}" for n, v in values.items()) or "no options"
            raise LedgerError(
                f"{file}:{row.line}: product {handle}: {shown} repeats line {combos[combo]} "
                f"(variants differ by their option values)"
            )
        combos[combo] = row.line
        found.links[row.sku] = (handle, values or None)
    for handle, (row, fields) in first.items():
        found.items.append(
            {
                "handle": handle,
                "title": fields.get("product_title") or row.title,
                "description": fields.get("description", ""),
                "brand": fields.get("brand", ""),
                "condition": fields.get("condition", "new").lower(),
                "status": fields.get("status", "active").lower(),
                "images": split_images(fields.get("images", "")),
                "attributes": {c[len(ATTR) :]: v for c, v in fields.items() if c.startswith(ATTR)},
                "options": list(options_of[handle][1]),
            }
        )
    return found


def export_header(catalogue: Sequence[CatalogueRow]) -> list[str]:
    """The catalogue columns of an export (none when the ledger has no catalogue)."""
    if not catalogue:
        return []
    options = list(dict.fromkeys(n for p in catalogue for n in p.options))
    attributes = sorted({k for p in catalogue for k in p.attributes})
    return [PRODUCT, *PRODUCT_COLUMNS, *(OPTION + n for n in options), *(ATTR + a for a in attributes)]


def export_cells(
    header: Sequence[str], product: CatalogueRow | None, options: Mapping[str, str]
) -> list[str]:
    """A variant's catalogue cells in ``header`` order (empty for a SKU outside the catalogue)."""
    if product is None:
        return ["" for _ in header]
    own = {
        PRODUCT: product.handle,
        "product_title": product.title,
        "description": product.description,
        "brand": product.brand,
        "condition": product.condition,
        "status": product.status,
        "images": IMAGE_SEPARATOR.join(product.images),
        **{OPTION + n: v for n, v in options.items()},
        **{ATTR + k: v for k, v in product.attributes.items()},
    }
    return [own.get(column, "") for column in header]
