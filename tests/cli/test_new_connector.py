"""``omnisync new-connector``: the package it writes passes the conformance kit as written."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnisync.cli import app
from omnisync.newconnector import check_name, placeholders
from omnisync.testing import conformance_suite


@pytest.fixture
def generated(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """The package ``shop_two``, importable; a test's ``bug`` (old, new) is written into its connector."""
    result = CliRunner().invoke(app, ["new-connector", "shop_two", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    bug = getattr(request, "param", None)
    if bug is not None:
        source = tmp_path / "shop_two" / "src" / "shop_two" / "connector.py"
        text = source.read_text()
        assert bug[0] in text
        source.write_text(text.replace(bug[0], bug[1], 1))
    sys.path.insert(0, str(tmp_path / "shop_two" / "src"))
    try:
        yield tmp_path / "shop_two"
    finally:
        sys.path.remove(str(tmp_path / "shop_two" / "src"))
        for name in [m for m in sys.modules if m == "shop_two" or m.startswith("shop_two.")]:
            del sys.modules[name]


def test_the_package_layout_and_entry_point(generated: Path) -> None:
    files = sorted(str(p.relative_to(generated)) for p in generated.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "pyproject.toml",
        "src/shop_two/__init__.py",
        "src/shop_two/connector.py",
        "src/shop_two/fake_api.py",
        "src/shop_two/harness.py",
        "tests/test_conformance.py",
    ]
    pyproject = (generated / "pyproject.toml").read_text()
    stanza = '[project.entry-points."omnisync.connectors"]\nshop_two = "shop_two.connector:ShopTwoConnector"'
    assert stanza in pyproject
    assert "{{" not in "".join(p.read_text() for p in generated.rglob("*") if p.is_file())


def test_the_generated_connector_passes_every_kit_check(generated: Path) -> None:
    harness = importlib.import_module("shop_two.harness").ShopTwoHarness
    suite = conformance_suite(harness)
    ran = []
    for check in sorted(n for n in dir(suite) if n.startswith("test_")):
        try:
            getattr(suite(), check)(harness())
        except pytest.skip.Exception:
            continue
        ran.append(check)
    assert "test_orders_arrive_as_placed" in ran
    assert "test_throttle_is_retried_on_the_clock" in ran
    assert len(ran) >= 15


BUGS = {
    "test_partial_failure_reported_per_item": (
        'out.append(ItemResult.rejected(u.sku, str(answer.get("error") or "rejected")))',
        "out.append(ItemResult.accepted(u.sku, u.quantity))",
    ),
    "test_orders_arrive_as_placed": (
        'params["updated_after"] = cursor.updated_after.isoformat()',
        "pass",
    ),
    "test_pagination_terminates_without_duplicates": (
        "None if following is None else str(following)",
        "None",
    ),
}
"""The bugs the guide's worked example tells an author to seed ("Break it on purpose")."""


@pytest.mark.parametrize(
    ("generated", "check"), [(b, c) for c, b in BUGS.items()], indirect=["generated"], ids=list(BUGS)
)
def test_the_kit_catches_a_bug_seeded_into_the_generated_connector(generated: Path, check: str) -> None:
    harness = importlib.import_module("shop_two.harness").ShopTwoHarness
    with pytest.raises(AssertionError):
        getattr(conformance_suite(harness)(), check)(harness())


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["new-connector", "demo", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("bad", ["Demo", "demo-channel", "1demo", "class", "demo__x", "demo_", ""])
def test_a_name_that_cannot_be_a_package_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="connector name"):
        check_name(bad)


def test_placeholders() -> None:
    assert placeholders("demo_channel") == {
        "channel": "demo_channel",
        "package": "demo_channel",
        "dist": "omnisync-demo-channel",
        "Class": "DemoChannel",
    }
