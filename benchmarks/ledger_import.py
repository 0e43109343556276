"""Time ``omnisync ledger import`` of an N-row CSV with two stock columns into a fresh SQLite ledger.

    python benchmarks/ledger_import.py --rows 100000 --json

The import goes through the CLI command, its validation and its journal, as a merchant runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from omnisync.cli import app

CONFIG = """\
ledger: {url: "sqlite:///ledger.db"}
locations: [{code: WH, kind: warehouse}, {code: STORE, kind: store}]
channels: {}
"""


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("sku,title,barcode,tags,price,currency,active,stock:WH,stock:STORE\n")
        for i in range(rows):
            fh.write(f'SKU-{i:07d},"Product {i}, size M",{400000000000 + i},tee|cotton,{i % 90 + 9}.90,')
            fh.write(f"EUR,true,{i % 50},{i % 7}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="omnisync-import-"))
    os.chdir(folder)
    (folder / "omnisync.yaml").write_text(CONFIG)
    write_csv(folder / "stock.csv", args.rows)
    runner = CliRunner()
    runner.invoke(app, ["status"])  # creates the ledger, outside the measure
    wall, cpu = time.perf_counter(), time.process_time()
    result = runner.invoke(app, ["ledger", "import", "stock.csv", "--json"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if result.exit_code != 0:
        raise SystemExit(result.output)
    out = {
        "rows": args.rows,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "rows_per_s": round(args.rows / wall),
    }
    print(json.dumps(out) if args.json else f"{args.rows} rows in {wall:.2f} s ({cpu:.2f} s CPU)")


if __name__ == "__main__":
    main()
