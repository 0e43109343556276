"""The master catalogue in the ledger: CSV columns in and out (round trip), dirty listings on every
content change, the catalogue's refusals naming file, line and column; SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from omnisync import ledgerio
from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger, LedgerError
from omnisync.ledger.tables import LC

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

CSV = """\
sku,title,barcode,price,stock:WH,product,product_title,description,brand,condition,status,images,option:Colour,option:Size,attr:material
TEE-R-M,Tee red M,4006381333931,19.90,5,TEE,Classic tee,"<p>Soft <b>cotton</b></p>
<p>Second line, with comma</p>",Acme,new,active,https://img.example/t1.jpg|https://img.example/t2.jpg,Red,M,cotton
TEE-R-L,Tee red L,,19.90,3,TEE,,,,,,,Red,L,
MUG,Blue mug,,12.50,4,,,,,,,,,,
CAP,Cap,,9.00,1,CAP,,,,used,draft,,,,
"""


@pytest.fixture
def ledger(ledger_url: str) -> Ledger:
    engine = make_engine(ledger_url)
    upgrade(engine)
    led = Ledger(engine)
    with led.tx() as tx:
        tx.ensure_location("WH")
        tx.ensure_channel("web", "fake")
    return led


def write(tmp_path: Path, text: str, name: str = "cat.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def export(led: Ledger) -> str:
    buf = io.StringIO()
    ledgerio.export_csv(led, buf)
    return buf.getvalue()


def test_import_builds_products_with_variants_and_export_round_trips(ledger: Ledger, tmp_path: Path) -> None:
    result = ledgerio.import_csv(ledger, write(tmp_path, CSV), NOW)
    assert result["catalogue_changed"] == 2
    with ledger.read() as conn:
        tee, cap = (
            ledger.catalogue(conn)[::-1]
            if ledger.catalogue(conn)[0].handle == "CAP"
            else ledger.catalogue(conn)
        )
        assert ledger.catalogue_of_sku(conn, "MUG") is None, "a row without a product stays outside"
    assert (tee.handle, tee.title, tee.brand, tee.condition, tee.status) == (
        "TEE",
        "Classic tee",
        "Acme",
        "new",
        "active",
    )
    assert tee.description == "<p>Soft <b>cotton</b></p>\n<p>Second line, with comma</p>"
    assert tee.images == ("https://img.example/t1.jpg", "https://img.example/t2.jpg")
    assert tee.attributes == {"material": "cotton"}
    assert tee.options == ("Colour", "Size")
    assert [(v.sku, dict(v.options), v.barcode) for v in tee.variants] == [
        ("TEE-R-M", {"Colour": "Red", "Size": "M"}, "4006381333931"),
        ("TEE-R-L", {"Colour": "Red", "Size": "L"}, None),
    ]
    assert (cap.title, cap.condition, cap.status, cap.options) == ("Cap", "used", "draft", ())

    first = export(ledger)
    again = ledgerio.import_csv(ledger, write(tmp_path, first, "out.csv"), NOW)
    assert (again["movements"], again["catalogue_changed"]) == (0, 0), "export -> import changes nothing"
    assert export(ledger) == first


def test_an_export_without_catalogue_keeps_the_old_columns(ledger: Ledger, tmp_path: Path) -> None:
    ledgerio.import_csv(ledger, write(tmp_path, "sku,title,price,stock:WH\nMUG,Mug,1.00,2\n"), NOW)
    header = export(ledger).splitlines()[0].split(",")
    assert header[:8] == ["sku", "title", "barcode", "tags", "price", "currency", "active", "stock:WH"]
    assert not [c for c in header if c == "product" or c.startswith(("option:", "attr:"))]


def _dirty(ledger: Ledger) -> dict[int, bool]:
    with ledger.read() as conn:
        return {int(r.catalogue_product_id): bool(r.dirty) for r in conn.execute(select(LC))}


def test_content_changes_mark_the_listings_dirty(ledger: Ledger, tmp_path: Path) -> None:
    ledgerio.import_csv(ledger, write(tmp_path, CSV), NOW)
    with ledger.read() as conn:
        cid = ledger.channel_id(conn, "web")
        ids = {p.handle: p.id for p in ledger.catalogue(conn)}
        versions = {p.handle: p.version for p in ledger.catalogue(conn)}
    with ledger.tx() as tx:
        assert tx.ensure_listing_content(cid, list(ids.values())) == 2
        assert tx.ensure_listing_content(cid, list(ids.values())) == 0
        for pid in ids.values():
            tx.record_listing_answer(cid, pid, acked_digest="d", last_action="create", answered_at=NOW)
    assert _dirty(ledger) == {ids["TEE"]: False, ids["CAP"]: False}

    ledgerio.import_csv(ledger, write(tmp_path, CSV.replace("Acme", "Acme Co"), "b.csv"), NOW)
    assert _dirty(ledger) == {ids["TEE"]: True, ids["CAP"]: False}, "only the product that changed"

    with ledger.tx() as tx:
        tx.record_listing_answer(cid, ids["TEE"], acked_digest="d2")
        tx.upsert_product("TEE-R-L", title="Tee red large")
    assert _dirty(ledger)[ids["TEE"]] is True, "a variant's title is listing content too"

    with ledger.tx() as tx:
        tx.record_listing_answer(cid, ids["TEE"], acked_digest="d3")
        tx.upsert_product("TEE-R-L", price=Decimal("21.00"))
    assert _dirty(ledger)[ids["TEE"]] is False, "a price change is a price push, not a listing change"

    moved = CSV.replace("CAP,Cap,,9.00,1,CAP", "CAP,Cap,,9.00,1,TEE").replace(
        ",used,draft,,,,", ",,,,Blue,S,"
    )
    ledgerio.import_csv(ledger, write(tmp_path, moved, "c.csv"), NOW)
    with ledger.read() as conn:
        after = {p.handle: p for p in ledger.catalogue(conn)}
    assert [v.sku for v in after["TEE"].variants] == ["TEE-R-M", "TEE-R-L", "CAP"]
    assert after["CAP"].variants == (), "the variant left its old product"
    assert after["CAP"].version > versions["CAP"]
    assert _dirty(ledger) == {ids["TEE"]: True, ids["CAP"]: True}

    with ledger.tx() as tx, pytest.raises(LedgerError, match="unknown fields"):
        tx.record_listing_answer(cid, ids["TEE"], dirty=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CSV.replace("TEE-R-L,Tee red L,,19.90,3,TEE,,,,", "TEE-R-L,Tee red L,,19.90,3,TEE,,,Other,"),
         r"cat.csv:4: product TEE: brand differs from line 2"),
        (CSV.replace("Red,L,", "Red,M,"), r"cat.csv:4: product TEE: Colour=Red, Size=M repeats line 2"),
        (CSV.replace("Red,L,", "Red,,"), r"cat.csv:4: product TEE: options \['Colour'\] where line 2 gives"),
        (CSV.replace(",used,draft,", ",used,sold,"), r"cat.csv:6: status must be one of active, draft"),
        (CSV.replace(",used,draft,", ",mint,draft,"), r"cat.csv:6: condition must be one of new, used"),
        (CSV.replace("https://img.example/t2.jpg", "ftp://x/t2.jpg"), r"cat.csv:2: images: 'ftp://x/t2.jpg'"),
        (CSV.replace("MUG,Blue mug,,12.50,4,,,,,,,,,,", "MUG,Blue mug,,12.50,4,,,,,,,,Blue,,"),
         r"cat.csv:5: product columns are set but 'product' is empty"),
        ("sku,title,option:Size\nA,a,M\n", r"cat.csv:1: columns \['option:Size'\] need a 'product' column"),
    ],
    ids=["differs", "repeat", "options", "status", "condition", "image", "orphan", "no-product"],
)  # fmt: skip
def test_bad_catalogue_rows_name_file_line_and_column(
    ledger: Ledger, tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(LedgerError, match=message):
        ledgerio.import_csv(ledger, write(tmp_path, text), NOW)
    with ledger.read() as conn:
        assert ledger.products(conn) == [], "a bad row imports nothing"


def test_the_migration_keeps_existing_products(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    with engine.begin() as conn:  # the 0003 schema, written as it was
        conn.exec_driver_sql("INSERT INTO location (code, name, kind) VALUES ('WH', 'WH', 'warehouse')")
        conn.exec_driver_sql(
            "INSERT INTO product (sku, title, tags, price, currency, active, version) "
            "VALUES ('OLD', 'Old one', '', 3, 'EUR', 1, 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO stock (product_id, location_id, on_hand, reserved) VALUES (1, 1, 4, 0)"
        )
    upgrade(engine)
    led = Ledger(engine)
    with led.read() as conn:
        assert [(p.sku, p.title) for p in led.products(conn)] == [("OLD", "Old one")]
        assert led.stock_for(conn, [led.product_id(conn, "OLD")])
        assert led.catalogue(conn) == []
    with led.tx() as tx:
        tx.conn.execute(update(LC).values(dirty=True))  # the table exists and is empty


def test_an_answer_for_content_planned_before_a_change_leaves_the_listing_dirty(
    ledger: Ledger, tmp_path: Path
) -> None:
    """The listing job planned a product at version v; the catalogue changed (v + 1) before the
    channel's answer was written: that answer must not clear the mark of the change, or the new
    content is never sent."""
    ledgerio.import_csv(ledger, write(tmp_path, CSV), NOW)
    with ledger.read() as conn:
        tee = next(p for p in ledger.catalogue(conn) if p.handle == "TEE")
    with ledger.tx() as tx:
        web = tx.ensure_channel("web", "fake")
        tx.ensure_listing_content(web, [tee.id])
        tx.touch_catalogue([tee.id])  # the change after the plan's read
        tx.record_listing_answer(web, tee.id, planned_version=tee.version, acked_digest="d1")
    with ledger.read() as conn:
        assert ledger.listing_contents(conn, web)[tee.id].dirty, "the change is still to send"
        newer = next(p for p in ledger.catalogue(conn) if p.handle == "TEE").version
    assert newer == tee.version + 1
    with ledger.tx() as tx:
        tx.record_listing_answer(web, tee.id, planned_version=newer, acked_digest="d2")
    with ledger.read() as conn:
        assert not ledger.listing_contents(conn, web)[tee.id].dirty
