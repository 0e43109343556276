"""The oversell simulation on a small scenario: the real engine, the fake web store and the Square
emulator, every fault on; the invariants hold, the run is deterministic, violations name the seed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omnisync.ledger.db import make_engine
from omnisync.ledger.migrate import upgrade
from omnisync.ledger.repository import Ledger
from omnisync.simulate import load_scenario, run_async, small_scenario
from omnisync.simulate.cli import app
from omnisync.simulate.measures import measure
from omnisync.simulate.policies import pick_variants, variants
from omnisync.simulate.scenario import FaultSpec, Scenario
from omnisync.simulate.state import ChannelFigures, RunState, SimOrder

REPO = Path(__file__).resolve().parents[2]


def tiny() -> Scenario:
    """One hour of trading with every fault: an outage of the web store, a kill mid-cycle."""
    sc = small_scenario()
    faults = sc.faults.model_copy(update={"outage": ("web", 900.0, 900.0)})
    return sc.model_copy(update={"name": "tiny", "duration": 3600.0, "settle": 900.0, "faults": faults})


def _comparable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "wall_s"}


@pytest.fixture(scope="module")
def runs() -> list[dict[str, Any]]:
    import asyncio

    async def both() -> list[dict[str, Any]]:
        return [await run_async(tiny(), 11), await run_async(tiny(), 11)]

    return asyncio.run(both())


@pytest.mark.slow
def test_invariants_hold_under_every_fault(runs: list[dict[str, Any]]) -> None:
    result = runs[0]
    assert result["ok"], result["first_violation"]
    t = result["totals"]
    assert t["orders"] > 0
    assert t["orders_missing"] == t["orders_unexpected"] == t["orders_misapplied"] == 0
    assert t["conservation_violations"] == 0
    assert t["drift"] == 0
    assert result["faults"]["kills"] == 1
    assert result["faults"]["api_faults_injected"] > 0
    assert result["channels"]["web"]["refused_down"] > 0, "the outage was felt"
    assert result["channels"]["pos"]["lost_update_units"] == 0, "Square pushes deltas"
    # the listing sync: the daemon's listing job listed the tote, then the scarf, and unpublished the tote
    assert result["listings"] == {"web": [], "pos": []}


@pytest.mark.slow
def test_same_seed_same_run(runs: list[dict[str, Any]]) -> None:
    assert _comparable(runs[0]) == _comparable(runs[1])


def test_a_lost_order_fails_the_run_naming_the_seed(tmp_path: Path) -> None:
    ledger = Ledger(make_engine(f"sqlite:///{tmp_path / 'l.db'}"))
    upgrade(ledger.engine)
    sc = small_scenario()
    state = RunState(sc, 42, [], figures={n: ChannelFigures() for n in sc.channels})
    state.orders[("web", "O9")] = SimOrder("web", "O9", "SKU-0001", 1, 0.0)
    m = measure(ledger, state)
    assert m.orders_missing == [("web", "O9")]
    assert m.violations[0].startswith("order lost: web accepted O9")
    assert "seed 42" in m.violations[0]


def test_conservation_checks_receipts_against_deliveries(tmp_path: Path) -> None:
    ledger = Ledger(make_engine(f"sqlite:///{tmp_path / 'l.db'}"))
    upgrade(ledger.engine)
    with ledger.tx() as tx:
        tx.ensure_location("WH")
        tx.upsert_product("A", title="A", price=Decimal("1.00"), currency="EUR")
        tx.record_movement("A", "WH", "receipt", 5, "r1", at=datetime(2026, 1, 1, tzinfo=UTC))
    sc = small_scenario()
    state = RunState(sc, 3, [], figures={n: ChannelFigures() for n in sc.channels})
    state.receipts[("A", "WH")] = 4
    m = measure(ledger, state)
    assert m.conservation == ["A at WH: 5 units received in the journal, 4 delivered"]


def test_policy_variants_are_valid_configurations() -> None:
    sc = small_scenario()
    out = variants(sc)
    assert list(out) == [
        "buffered-0",
        "buffered-1",
        "buffered-2",
        "buffered-3",
        "split",
        "priority",
        "adaptive",
    ]
    assert out["buffered-2"].channels["web"].buffer_units == 2
    assert out["buffered-2"].channels["pos"].buffer_units == 0, "the POS shows its real count"
    assert out["priority"].channels["pos"].priority > out["priority"].channels["web"].priority
    assert out["adaptive"].policy == "adaptive"
    assert {spec.buffer_units for spec in out["adaptive"].channels.values()} == {0}
    assert list(pick_variants(out, ["adaptive", "buffered-0"])) == ["buffered-0", "adaptive"]
    with pytest.raises(ValueError, match="unknown policy variant\\(s\\) nope"):
        pick_variants(out, ["nope"])


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_example_scenarios_load(path: Path) -> None:
    assert load_scenario(path).channels


def test_cli_runs_a_scenario_file_and_prints_json(tmp_path: Path) -> None:
    sc = small_scenario().model_copy(update={"duration": 1200.0, "settle": 300.0, "faults": FaultSpec()})
    path = tmp_path / "quick.yaml"
    import yaml

    path.write_text(yaml.safe_dump(sc.model_dump(mode="json")))
    result = CliRunner().invoke(app, [str(path), "--seed", "5", "--json"])
    assert result.exit_code == 0, result.output
    import json

    out = json.loads(result.stdout)  # progress lines go to stderr
    assert out["seed"] == 5
    assert out["ok"] is True


def test_cli_refuses_a_bad_scenario(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("channels: {web: {kind: nosuch, sources: [WH]}}\n")
    result = CliRunner().invoke(app, [str(path)])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("duration: 1h\nchannels: [web\n", "bad.yaml:3: invalid YAML: expected ',' or ']'"),
        ("duration: 1h\nskus: abc\n", "bad.yaml:2: skus: unknown key"),
        ("- 1\n", "bad.yaml:1: a scenario is a mapping of keys"),
    ],
)
def test_a_bad_scenario_file_is_named_at_its_line_without_a_traceback(
    tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, [str(path)])
    assert result.exit_code == 2
    assert said in result.output, result.output
    assert "Traceback" not in result.output
