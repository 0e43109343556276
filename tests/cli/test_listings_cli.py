"""``omnisync listings plan / validate`` and the listing in ``explain``, on the fake channel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import CONFIG, run

from omnisync.testing.fake import FakeChannelAPI, register_fake

CATALOGUE = """\
sku,title,price,stock:WH,product,product_title,description,brand,images,status,option:Size
TEE-M,Tee M,19.90,5,TEE,Classic tee,<p>Soft <b>cotton</b></p>,Acme,https://img.example/t1.jpg,active,M
TEE-L,Tee L,19.90,3,TEE,,,,,,L
CAP,Cap,9.00,1,CAP,,,,,draft,
LONG,Long,5.00,1,LONG,{title},,,,active,
MUG,Mug,3.00,1,,,,,,,
"""

TEMPLATE = """\
listings: create
listing:
  title: "{brand} {title}"
sku_aliases: {TEE-L: WEB-TEE-L}
"""


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeChannelAPI:
    monkeypatch.delenv("OMNISYNC_CONFIG", raising=False)
    monkeypatch.setenv("CLI_TOKEN", "fake-token-123")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "omnisync.yaml").write_text(CONFIG)
    (tmp_path / "web.yaml").write_text(TEMPLATE)
    (tmp_path / "catalogue.csv").write_text(CATALOGUE.replace("{title}", "x" * 120))
    run("ledger", "import", "catalogue.csv")
    return register_fake("cli-kit", FakeChannelAPI())


def test_plan_shows_what_would_be_created_and_why(deployment: FakeChannelAPI) -> None:
    rows = json.loads(run("listings", "plan", "--json").stdout)
    assert {(r["product"], r["action"], r["blocked"]) for r in rows} == {
        ("TEE", "create", False),
        ("LONG", "create", True),
    }
    tee = next(r for r in rows if r["product"] == "TEE")
    assert tee["why"] == "not on the channel yet (listings: create)"
    everything = json.loads(run("listings", "plan", "--all", "--json").stdout)
    assert {r["product"]: r["action"] for r in everything}["CAP"] == "keep", "a draft is not created"
    text = run("listings", "plan").stdout
    assert "create (blocked)" in text
    assert deployment.requests == [], "planning sends nothing"


def test_update_mode_never_creates(deployment: FakeChannelAPI, tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(TEMPLATE.replace("listings: create\n", ""))
    rows = json.loads(run("listings", "plan", "--json").stdout)
    assert {r["action"] for r in rows} == {"skip"}
    assert all("never creates" in r["why"] for r in rows)


def test_validate_names_product_field_and_rule_before_any_call(deployment: FakeChannelAPI) -> None:
    result = run("listings", "validate", code=1)
    assert "web: product LONG: title: 120 characters, the fake channel allows 100" in result.stderr
    assert "TEE" not in result.stderr
    assert "3 listings checked, 1 would be refused" in result.stdout
    data = json.loads(run("listings", "validate", "--json", code=1).stdout)
    assert [(r["product"], r["problems"]) for r in data["refused"]] == [
        ("LONG", [{"field": "title", "rule": "120 characters, the fake channel allows 100"}])
    ]
    assert deployment.requests == []


def test_explain_shows_the_listing_fields(deployment: FakeChannelAPI) -> None:
    data = json.loads(run("explain", "TEE-L", "--json").stdout)
    listing = data["web"]["listing"]
    assert listing["action"] == "create"
    fields = listing["fields"]
    assert fields["title"] == "Acme Classic tee"
    assert fields["description"] == "Soft cotton", "the fake channel takes no HTML"
    assert [(v["sku"], v["channel_sku"], v["title"]) for v in fields["variants"]] == [
        ("TEE-M", "TEE-M", "Acme Classic tee - M"),
        ("TEE-L", "WEB-TEE-L", "Acme Classic tee - L"),
    ]
    text = run("explain", "TEE-L").stdout
    assert "listing              TEE: create" in text
    assert "Acme Classic tee" in text
    outside = json.loads(run("explain", "MUG", "--json").stdout)
    assert "listing" not in outside["web"], "a SKU outside the catalogue has no listing to explain"


def test_import_reports_catalogue_changes(deployment: FakeChannelAPI) -> None:
    again = json.loads(run("ledger", "import", "catalogue.csv", "--json").stdout)
    assert again["catalogue_changed"] == 0
