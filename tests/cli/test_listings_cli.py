"""``omnisync listings plan / validate`` and the listing in ``explain``, on the fake channel."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from clikit import CONFIG, run

from omnisync.testing.fake import FakeChannelAPI, register_fake
from omnisync.testing.harness import SeedItem

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


def _deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalogue: str) -> FakeChannelAPI:
    monkeypatch.delenv("OMNISYNC_CONFIG", raising=False)
    monkeypatch.setenv("CLI_TOKEN", "fake-token-123")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "omnisync.yaml").write_text(CONFIG)
    (tmp_path / "web.yaml").write_text(TEMPLATE)
    (tmp_path / "catalogue.csv").write_text(catalogue)
    run("ledger", "import", "catalogue.csv")
    return register_fake("cli-kit", FakeChannelAPI())


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeChannelAPI:
    return _deploy(tmp_path, monkeypatch, CATALOGUE.replace("{title}", "x" * 120))


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


def test_an_empty_catalogue_says_how_to_fill_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _deploy(tmp_path, monkeypatch, "sku,title,price,stock:WH\nMUG,Mug,3.00,1\n")
    for command in (("listings", "plan"), ("listings", "validate")):
        text = " ".join(run(*command).stdout.split())
        assert "the master catalogue has no product yet" in text
        assert "catalog import --from CHANNEL" in text


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


def _push() -> dict[str, object]:
    rows: dict[str, dict[str, object]] = json.loads(run("listings", "push", "--json").stdout)
    return rows["web"]


def test_listings_are_created_updated_and_unpublished_and_stock_follows(
    deployment: FakeChannelAPI, tmp_path: Path
) -> None:
    first = _push()
    assert (first["created"], first["blocked"], first["ok"]) == (1, 1, True)
    assert first["issues"] == {"LONG": ["title: 120 characters, the fake channel allows 100"]}
    listing = deployment.listings.by_key("TEE")
    assert listing is not None
    assert (listing.title, listing.published, sorted(listing.variants)) == (
        "Acme Classic tee", True, ["TEE-M", "WEB-TEE-L"]
    )  # fmt: skip
    assert deployment.items["WEB-TEE-L"].quantity == 0, "a new listing's variants start with nothing"

    run("sync")
    assert (deployment.items["TEE-M"].quantity, deployment.items["WEB-TEE-L"].quantity) == (5, 3)
    assert deployment.items["TEE-M"].price == Decimal("19.90")

    calls = len(deployment.requests)
    assert _push()["created"] == 0
    assert len(deployment.requests) == calls, "an unchanged catalogue sends nothing"

    edited = CATALOGUE.replace("{title}", "x" * 120).replace("Classic tee", "Classic tee II")
    (tmp_path / "catalogue.csv").write_text(edited)
    run("ledger", "import", "catalogue.csv")
    plan = {r["product"]: r["why"] for r in json.loads(run("listings", "plan", "--json").stdout)}
    assert plan["TEE"] == "changed: title, variants"
    assert _push()["updated"] == 1
    assert deployment.listings.by_key("TEE").title == "Acme Classic tee II"  # type: ignore[union-attr]

    (tmp_path / "catalogue.csv").write_text(
        edited.replace("https://img.example/t1.jpg,active", "https://img.example/t1.jpg,discontinued")
    )
    run("ledger", "import", "catalogue.csv")
    assert _push()["unpublished"] == 1
    gone = deployment.listings.by_key("TEE")
    assert gone is not None, "unpublished, never deleted"
    assert gone.published is False
    assert _push()["unpublished"] == 0, "once"
    listed = json.loads(run("status", "--json").stdout)["channels"]["web"]["catalogue"]
    assert (listed["on_channel"], listed["published"]) == (1, 0)
    assert [(a["product"], a["action"]) for a in listed["answers"]] == [("LONG", "blocked")]
    assert "[web] listing LONG (blocked): title: 120 characters" in run("status").stderr


def test_the_page_shows_the_channels_answers() -> None:
    from omnisync.daemon.http import render_status_page

    answer = {"product": "TEE", "action": "rejected", "issues": ["TEE-M: brand is required"], "at": None}
    channel = {
        "connector": "fake", "state": "ok", "why": "", "last_pull": None, "last_push": None, "pending": 0,
        "orders_imported": 0, "items_pushed": 0, "api_calls": 0, "throttled": 0, "push_lag_s": None,
        "catalogue": {"on_channel": 0, "published": 0, "pending": 0, "answers": [answer]},
    }  # fmt: skip
    page = render_status_page(
        {
            "now": None,
            "worker": "w",
            "ready": True,
            "channels": {"web": channel},
            "oversold": [],
            "quarantined_lines": 0,
        }
    )
    assert 'id="listings"' in page
    assert "web · TEE (rejected): TEE-M: brand is required" in page


def test_link_matches_existing_listings_by_sku(deployment: FakeChannelAPI, tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(TEMPLATE.replace("listings: create\n", ""))  # update only
    deployment.seed([SeedItem("TEE-M", 0, Decimal("1")), SeedItem("LONG", 0, Decimal("1"))])
    linked = json.loads(run("listings", "link", "--json").stdout)["web"]
    assert linked["linked"] == ["LONG"]
    assert linked["partial"] == {"TEE": ["WEB-TEE-L"]}, "the channel lacks one variant"
    assert linked["unmatched"] == ["CAP"]
    plan = {r["product"]: r for r in json.loads(run("listings", "plan", "--json").stdout)}
    assert plan["TEE"]["action"] == "update", "found by SKU: kept up to date, not created"
    assert "CAP" not in plan, "a draft not on the channel: nothing to do"
    deployment.seed([SeedItem("WEB-TEE-L", 0, Decimal("1"))])
    assert json.loads(run("listings", "link", "--json").stdout)["web"]["linked"] == ["LONG", "TEE"]
    assert "web: 2 linked, 0 partly, 1 unmatched" in run("listings", "link").stdout
