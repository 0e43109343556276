"""Every bad CSV is refused with one line naming the file and the line, exit non-zero, ledger unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnisync.cli import app

CORPUS = Path(__file__).parent / "csv"

CONFIG = """\
ledger:
  url: sqlite:///ledger.db
locations:
  - {code: WH, kind: warehouse}
  - {code: STORE, kind: store}
channels: {}
"""

GOOD = """\
sku,title,barcode,tags,price,currency,active,stock:WH,stock:STORE
MUG,"Blue mug
second line\u2028third",123,kitchen|blue,12.50,EUR,true,20,4
"""

# file -> (line reported, words the message must hold)
CASES = {
    "unbalanced_quote.csv": (2, "malformed CSV"),
    "unclosed_quote.csv": (3, "malformed CSV"),
    "too_few_fields.csv": (3, "4 fields where the header has 9"),
    "too_many_fields.csv": (2, "10 fields where the header has 9"),
    "nul_byte.csv": (2, "column title: control character U+0000"),
    "form_feed.csv": (3, "column title: control character U+000C"),
    "latin1.csv": (3, "not UTF-8 (byte 0xe9"),
    "huge_field_bad_row.csv": (3, "stock:WH: stock must be ≥ 0"),
}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "omnisync.yaml").write_text(CONFIG)
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    for file in CORPUS.glob("*.csv"):
        shutil.copy(file, tmp_path / file.name)
    header = "sku,title,barcode,tags,price,currency,active,stock:WH,stock:STORE\n"
    big = f'MUG,"{"x" * 2_000_000}",123,kitchen,12.50,EUR,true,20,4\n'
    big += "TEE,Red tee,,apparel,19.00,EUR,true,-1,3\n"
    (tmp_path / "huge_field_bad_row.csv").write_text(header + big)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    """Exit code and output, the terminal's line wrapping undone."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split(" ")).replace("\n", " ").strip()


def snapshot(folder: Path) -> str:
    code, output = run("ledger", "export", "snapshot.csv")
    assert code == 0, output
    return (folder / "snapshot.csv").read_text(encoding="utf-8")


def test_quoted_fields_keep_every_character(folder: Path) -> None:
    code, output = run("ledger", "import", "good.csv")
    assert code == 0, output
    assert "Blue mug\nsecond line\u2028third" in snapshot(folder)


def test_a_bom_is_accepted(folder: Path) -> None:
    (folder / "bom.csv").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    code, output = run("ledger", "import", "bom.csv")
    assert code == 0, output


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_csv_is_refused_where_it_is_wrong(folder: Path, name: str) -> None:
    assert run("ledger", "import", "good.csv")[0] == 0
    before = snapshot(folder)
    line, words = CASES[name]
    code, output = run("ledger", "import", name)
    assert code != 0
    assert f"{name}:{line}: " in output, output
    assert words in output, output
    assert "Traceback" not in output
    assert output.count("error:") == 1, output
    assert snapshot(folder) == before


@pytest.mark.parametrize(("target", "words"), [("missing.csv", "no such file"), (".", "is a directory")])
def test_missing_file_or_directory_is_one_line(folder: Path, target: str, words: str) -> None:
    code, output = run("ledger", "import", target)
    assert code != 0
    assert f"{target}: {words}" in output, output
    assert output.count("error:") == 1, output


def test_reimport_changes_only_what_differs(folder: Path) -> None:
    header = "sku,title,barcode,tags,price,currency,active,stock:WH,stock:STORE\n"
    tee = "TEE,Tee,,x,9,EUR,true,0,3\n"
    (folder / "a.csv").write_text(header + "MUG,Mug,1,kitchen,12.50,EUR,true,20,4\n" + tee)
    (folder / "b.csv").write_text(header + "MUG,Mug,1,kitchen,13.00,EUR,true,18,4\n" + tee)
    assert "(3 stock movements)" in run("ledger", "import", "a.csv")[1]
    assert "(0 stock movements)" in run("ledger", "import", "a.csv")[1]
    assert "(1 stock movements)" in run("ledger", "import", "b.csv")[1]
    exported = snapshot(folder)
    # the barcode survives the export, the price is written as the merchant wrote it
    assert "MUG,Mug,1,kitchen,13.00,EUR,true,4,18" in exported, exported


def test_export_then_import_changes_nothing_barcodes_and_prices_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "omnisync.yaml").write_text(CONFIG)
    (tmp_path / "in.csv").write_text(
        "sku,title,barcode,tags,price,currency,active,stock:WH,stock:STORE\n"
        "MUG,Mug,4006381333931,kitchen|blue,13.0000,EUR,true,20,4\n"
        "TEE,Tee,,,9.999,EUR,false,0,1\n"
    )
    runner = CliRunner()
    assert runner.invoke(app, ["-c", "omnisync.yaml", "ledger", "import", "in.csv"]).exit_code == 0
    first = runner.invoke(app, ["-c", "omnisync.yaml", "ledger", "export", "-"])
    assert first.exit_code == 0, first.output
    assert not (tmp_path / "-").exists(), "'-' is standard output, not a file named '-'"
    assert "MUG,Mug,4006381333931,blue|kitchen,13.00,EUR,true,4,20" in first.stdout  # STORE, WH
    assert "TEE,Tee,,,9.999,EUR,false,1,0" in first.stdout
    (tmp_path / "out.csv").write_text(first.stdout.split("exported")[0])
    again = runner.invoke(app, ["-c", "omnisync.yaml", "ledger", "import", "out.csv", "--json"])
    assert again.exit_code == 0, again.output
    second = runner.invoke(app, ["-c", "omnisync.yaml", "ledger", "export", "-"])
    assert second.stdout == first.stdout, "export -> import -> export is the same file"


def test_a_semicolon_in_tags_is_imported_with_a_warning_naming_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "omnisync.yaml").write_text(CONFIG)
    (tmp_path / "tags.csv").write_text(
        "sku,title,barcode,tags,price,currency,active\nMUG,Mug,,apparel;clearance,5,EUR,true\n"
    )
    result = CliRunner().invoke(app, ["-c", "omnisync.yaml", "ledger", "import", "tags.csv"])
    assert result.exit_code == 0
    assert "warning: tags.csv:2: tags: 'apparel;clearance' holds ';'" in result.output
    assert "separated by '|'" in result.output
