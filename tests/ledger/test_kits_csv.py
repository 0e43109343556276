"""Kits in the catalogue CSV: the ``kit`` column imported, refused with one line, exported back."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnisync import ledgerio
from omnisync.kits import Component
from omnisync.ledger import kits as kit_rows
from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger

NOW = datetime(2026, 3, 1, tzinfo=UTC)
HEADER = "sku,title,barcode,tags,price,currency,active,stock:WH,kit\n"


@pytest.fixture
def ledger(tmp_path: Path, ledger_url: str) -> Ledger:
    ledger = Ledger(make_engine(ledger_url))
    upgrade(ledger.engine)
    with ledger.tx() as tx:
        tx.ensure_location("WH", "Warehouse", "warehouse")
    return ledger


def write(folder: Path, rows: str) -> Path:
    path = folder / "catalogue.csv"
    path.write_text(HEADER + rows)
    return path


def test_kits_import_and_export_unchanged(tmp_path: Path, ledger: Ledger) -> None:
    path = write(
        tmp_path,
        "MUG,Mug,,,5.00,EUR,true,10,\n"
        "LID,Lid,,,1.00,EUR,true,3,\n"
        "GIFT,Gift set,,,12.00,EUR,true,,MUG:2|LID\n"
        "SIX,Six mugs,,,25.00,EUR,true,,MUG:6\n",
    )
    ledgerio.import_csv(ledger, path, NOW)
    with ledger.read() as conn:
        assert kit_rows.all_kits(conn) == {
            "GIFT": (Component("LID", 1), Component("MUG", 2)),
            "SIX": (Component("MUG", 6),),
        }
    out = io.StringIO()
    ledgerio.export_csv(ledger, out)
    exported = out.getvalue().replace("\r\n", "\n")
    assert exported.splitlines()[0] == HEADER.strip()
    assert "GIFT,Gift set,,,12.00,EUR,true,,LID|MUG:2" in exported
    again = tmp_path / "again.csv"
    again.write_text(exported)
    assert ledgerio.import_csv(ledger, again, NOW)["movements"] == 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            "MUG,Mug,,,5,EUR,true,1,\nGIFT,G,,,9,EUR,true,,MUG|NOPE\n",
            "catalogue.csv:3: kit: kit GIFT: unknown component SKU 'NOPE'",
        ),
        (
            "MUG,Mug,,,5,EUR,true,1,\nGIFT,G,,,9,EUR,true,,MUG\nBIG,B,,,9,EUR,true,,GIFT:2\n",
            "catalogue.csv:4: kit: kit BIG: component GIFT is itself a kit (kits cannot be nested)",
        ),
        ("MUG,Mug,,,5,EUR,true,,MUG:2\n", "catalogue.csv:2: kit: kit MUG: a kit cannot contain itself"),
        (
            "MUG,Mug,,,5,EUR,true,1,\nGIFT,G,,,9,EUR,true,4,MUG\n",
            "catalogue.csv:3: kit: kit GIFT holds no stock of its own; leave its stock cells blank",
        ),
        (
            "MUG,Mug,,,5,EUR,true,1,MUG:x\n",
            "catalogue.csv:2: kit: kit component 'MUG:x': 'x' is not a whole number",
        ),
    ],
)
def test_a_refused_kit_names_its_line_and_imports_nothing(
    tmp_path: Path, ledger: Ledger, rows: str, message: str
) -> None:
    with pytest.raises(ledgerio.CsvError) as refused:
        ledgerio.import_csv(ledger, write(tmp_path, rows), NOW)
    assert str(refused.value).endswith(message)
    fresh = Ledger(ledger.engine)  # the id cache of the first one saw the rolled-back products
    with fresh.read() as conn:
        assert fresh.find_product_ids(conn, ["MUG", "GIFT"]) == {}
        assert kit_rows.all_kits(conn) == {}
