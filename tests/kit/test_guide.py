"""The connector author's guide (docs/, MkDocs) builds without a warning and covers the contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import FunctionType

import pytest

from omnisync.sdk import Capability, Connector, ItemStatus, OrderStatus
from omnisync.testing import Fault, conformance_suite
from omnisync.testing.fake import FakeHarness

ROOT = Path(__file__).resolve().parents[2]
GUIDE = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


@pytest.mark.slow
def test_the_guide_builds_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    for name in ("OAuth2RefreshToken", "conformance_suite", "OperationLimits", "PageNumber"):
        assert name in reference, f"the API reference lacks {name}"


def _methods() -> list[str]:
    own = (
        "push_inventory",
        "push_prices",
        "pull_orders",
        "read_inventory",
        "read_listings",
        "upsert_listings",
    )
    own += ("unpublish_listings", "read_listing_issues", "read_catalogue")
    queued = ("read_orders", "notification_queue", "subscribe_notifications", "parse_notification")
    external = ("external_locations", "read_location_stock")
    return [*own, "parse_webhook", *queued, *external, "prepare", "http_options", "classify"]


@pytest.mark.parametrize(
    "name",
    [
        *(f"`{m}" for m in _methods()),
        *(f"`{c.name}`" for c in Capability),
        *(f"`{s.name}`" for s in ItemStatus),
        *(f"`{s.name}`" for s in OrderStatus),
        *(f"`{f.name}`" for f in Fault),
        *(f"`{c}`" for c in dir(conformance_suite(FakeHarness)) if c.startswith("test_")),
        '[project.entry-points."omnisync.connectors"]',
    ],
)
def test_the_guide_names_every_part_of_the_contract(name: str) -> None:
    assert name in GUIDE


def test_every_method_a_connector_overrides_is_documented() -> None:
    kinds = (FunctionType, classmethod)
    public = {n for n, v in vars(Connector).items() if isinstance(v, kinds) and not n.startswith("_")}
    host_side = {"known_operations", "supports", "aclose", "transport"}
    assert {f"`{m}" for m in public - host_side} <= {f"`{m}" for m in _methods()}


def test_the_readme_connector_example_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Writing a connector") :]
    code = section[
        section.index("```python\n") + 10 : section.index("```\n", section.index("```python\n") + 10)
    ]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec", dont_inherit=True), namespace)  # not this file's __future__
    connector: type[Connector] = namespace["MyConnector"]  # type: ignore[assignment]
    options = connector.http_options(connector.Settings.model_validate({"api_key": "k-1"}))
    assert options.headers["X-Key"] == "k-1"
    assert "k-1" in options.secrets
    assert '[project.entry-points."omnisync.connectors"]' in section
