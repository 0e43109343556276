"""``omnisync --help`` loads typer and rich only: the engine, the ledger, alembic and the simulation are
imported by the commands that use them (the CPU figures: ``benchmarks/cli_start.py``)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("alembic", "sqlalchemy", "sqlmodel", "httpx", "structlog", "omnisync.engine", "omnisync.ledger")


def loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nimport json; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_help_imports_no_engine_ledger_or_alembic() -> None:
    code = "from omnisync.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
    modules = loaded_after(code)
    assert "omnisync.cli" in modules
    heavy = [m for m in modules if m.startswith(HEAVY)]
    assert heavy == [], f"--help imported {heavy[:10]}"


def test_simulate_still_registers_and_loads_on_use() -> None:
    modules = loaded_after("import omnisync.simulate as s\ns.small_scenario")
    assert "omnisync.simulate.scenario" in modules
    assert "omnisync.simulate.run" not in modules, "only what is asked for is loaded"
