from __future__ import annotations

import textwrap
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from omnisync.allocation import ChannelInput, LocationStock, QuantityRules, allocate_channel
from omnisync.drops import DropSchedule, MonthlyRule, Window
from omnisync.mapping import ChannelMapping, MappingFile, QuantityOverride, drop_across
from omnisync.pricing import PriceRules, price_for

WEBSTORE = textwrap.dedent(
    """
    sku_aliases:
      TSHIRT-RED-M: TS-R-M
    quantity:
      buffer_units: 1
    price:
      markup_percent: "10"
      rounding: ".99"
    tags:
      clearance: {quantity: {out_of_stock_below: 2}, price: {markup_percent: "-20"}}
      fragile: {quantity: {buffer_units: 3, source_buffers: {store: 2}}, exclude: true}
    skus:
      MUG-BLUE: {quantity: {max_quantity: 5}, price: {override: "9.99"}, exclude: false}
    drops:
      - skus: [DROP-1, DROP-2]
        tags: [drop-june]
        exclusive: true
        monthly: {day: 1, start: "18:00", hours: 24, timezone: "Europe/Paris"}
        windows: [{start: 2026-06-01T18:00:00+02:00, end: 2026-06-02T18:00:00+02:00}]
    """
)


def load(text: str) -> MappingFile:
    return MappingFile.model_validate(yaml.safe_load(text))


@pytest.fixture
def webstore() -> ChannelMapping:
    return ChannelMapping("webstore", load(WEBSTORE))


def errors(data: Any) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(ValidationError) as info:
        MappingFile.model_validate(data)
    return [(e["loc"], e["msg"]) for e in info.value.errors()]


def test_aliases_both_ways(webstore: ChannelMapping) -> None:
    assert webstore.channel_sku("TSHIRT-RED-M") == "TS-R-M"
    assert webstore.channel_sku("MUG-BLUE") == "MUG-BLUE"
    assert webstore.master_sku("TS-R-M") == "TSHIRT-RED-M"
    assert webstore.master_sku("MUG-BLUE") == "MUG-BLUE"
    assert webstore.master_sku("TSHIRT-RED-M") is None  # the channel does not use the master's name


def test_two_masters_on_one_channel_sku_are_refused() -> None:
    data = {"sku_aliases": {"A": "X", "B": "X"}}
    assert errors(data) == [
        (("sku_aliases",), "Value error, sku_aliases: 'A' and 'B' are both mapped to 'X'")
    ]
    with pytest.raises(ValueError, match="'A' and 'B' are both mapped to 'X'"):
        ChannelMapping("web", MappingFile.model_construct(sku_aliases={"A": "X", "B": "X"}))


def test_alias_colliding_with_an_unaliased_master_sku() -> None:
    mapping = ChannelMapping("web", MappingFile(sku_aliases={"A": "B"}))
    mapping.check_catalog(["A", "C"])
    with pytest.raises(ValueError, match="maps 'A' to 'B', which is also a master SKU"):
        mapping.check_catalog(["A", "B"])


def test_quantity_precedence_and_provenance(webstore: ChannelMapping) -> None:
    base = QuantityRules(buffer_units=0, max_quantity=50)
    rules, provenance = webstore.quantity_rules("MUG-BLUE", {"clearance", "fragile"}, base)
    assert rules == QuantityRules(
        buffer_units=3, max_quantity=5, out_of_stock_below=2, source_buffers={"store": 2}
    )
    assert provenance == (
        "mapping webstore.yaml: buffer_units=1",
        "tag clearance: out_of_stock_below=2",
        "tag fragile: buffer_units=3",
        "tag fragile: source_buffers[store]=2",
        "sku MUG-BLUE: max_quantity=5",
    )
    plain, plain_provenance = webstore.quantity_rules("OTHER", set(), base)
    assert plain == QuantityRules(buffer_units=1, max_quantity=50)
    assert plain_provenance == ("mapping webstore.yaml: buffer_units=1",)


def test_provenance_shows_up_in_the_explanation(webstore: ChannelMapping) -> None:
    rules, provenance = webstore.quantity_rules("MUG-BLUE", {"clearance", "fragile"}, QuantityRules())
    stock = {"store": LocationStock("store", 12, 2)}
    result = allocate_channel(stock, ChannelInput("webstore", ("store",), rules, provenance))
    details = {step.rule: step.detail for step in result.steps}
    assert "[tag fragile: source_buffers[store]=2]" in details["pool"]
    assert "[mapping webstore.yaml: buffer_units=1; tag fragile: buffer_units=3]" in details["buffer"]
    assert "[sku MUG-BLUE: max_quantity=5]" in details["cap"]
    assert result.offered == 5  # 10 − 2 kept = 8; − 3 = 5; cap 5


def test_price_precedence_tag_replaces_markup_and_override_wins(webstore: ChannelMapping) -> None:
    rules, provenance = webstore.price_rules("SHIRT", {"clearance"}, PriceRules(markup_percent=Decimal(5)))
    assert rules == PriceRules(markup_percent=Decimal(-20), rounding=".99")
    assert provenance == (
        "mapping webstore.yaml: markup_percent=10",
        "mapping webstore.yaml: rounding=.99",
        "tag clearance: markup_percent=-20",
    )
    assert price_for(Decimal("25.00"), "EUR", rules).price == Decimal("20.99")
    mug, _ = webstore.price_rules("MUG-BLUE", set(), PriceRules())
    assert price_for(Decimal("4.00"), "EUR", mug).price == Decimal("9.99")


def test_merged_rules_that_conflict_name_the_file_and_sku() -> None:
    mapping = ChannelMapping("web", MappingFile.model_validate({"skus": {"A": {"price": {"floor": "30"}}}}))
    with pytest.raises(ValueError, match=r"web.yaml: rules for A: floor 30 is above ceiling 20"):
        mapping.price_rules("A", set(), PriceRules(ceiling=Decimal(20)))


def test_exclusion_tags_then_sku(webstore: ChannelMapping) -> None:
    assert not webstore.excluded("SHIRT", set())
    assert webstore.excluded("SHIRT", {"fragile"})
    assert not webstore.excluded("MUG-BLUE", {"fragile"})  # the SKU's own `exclude: false` wins


def test_drop_for_by_sku_and_by_tag(webstore: ChannelMapping) -> None:
    schedule = webstore.drop_for("DROP-1", set())
    paris = timezone(timedelta(hours=2))
    assert schedule == DropSchedule(
        "webstore",
        windows=(Window(datetime(2026, 6, 1, 18, tzinfo=paris), datetime(2026, 6, 2, 18, tzinfo=paris)),),
        monthly=MonthlyRule(day=1, start=time(18), timezone="Europe/Paris", hours=24),
    )
    assert webstore.drop_for("ANY", {"drop-june"}) == schedule
    assert webstore.drop_for("ANY", {"clearance"}) is None


def test_a_sku_in_two_drops_is_refused() -> None:
    monthly = {"day": 1, "start": "18:00", "timezone": "UTC"}
    assert errors({"drops": [{"skus": ["A"], "monthly": monthly}, {"skus": ["A"], "monthly": monthly}]}) == [
        ((), "Value error, drops: 'A' is in drops[0] and drops[1]")
    ]
    by_tag = ChannelMapping(
        "web",
        load(
            "drops: [{skus: [A], monthly: {day: 1, start: '18:00', timezone: UTC}}, "
            "{tags: [hot], monthly: {day: 2, start: '18:00', timezone: UTC}}]"
        ),
    )
    with pytest.raises(ValueError, match=r"A is in more than one drop \(drops\[0\] and drops\[1\]\)"):
        by_tag.drop_for("A", {"hot"})


def test_drop_across_channels() -> None:
    drop = {
        "drops": [{"skus": ["A"], "windows": [{"start": "2026-06-01T00:00Z", "end": "2026-06-02T00:00Z"}]}]
    }
    insta = ChannelMapping("instagram", MappingFile.model_validate(drop))
    web = ChannelMapping("webstore", MappingFile())
    found = drop_across([web, insta], "A", set())
    assert found is not None
    assert found.exclusive_channel == "instagram"
    assert found.windows[0].start == datetime(2026, 6, 1, tzinfo=UTC)
    assert drop_across([web, insta], "B", set()) is None
    with pytest.raises(
        ValueError, match=r"A is in a drop on more than one channel \(instagram.yaml and tiktok.yaml\)"
    ):
        drop_across([insta, ChannelMapping("tiktok", MappingFile.model_validate(drop))], "A", set())


@pytest.mark.parametrize(
    ("data", "loc", "message"),
    [
        ({"quantity": {"buffer_units": -1}}, ("quantity", "buffer_units"), "Value error, must be ≥ 0"),
        ({"quantity": {"max_quantity": -2}}, ("quantity", "max_quantity"), "Value error, must be ≥ 0"),
        ({"quantity": {"share": 120}}, ("quantity", "share"), "Value error, must be between 0 and 100"),
        (
            {"quantity": {"source_buffers": {"store": -1}}},
            ("quantity", "source_buffers"),
            "Value error, store: must be ≥ 0",
        ),
        ({"quantity": {"bufer_units": 1}}, ("quantity", "bufer_units"), "Extra inputs are not permitted"),
        ({"price": {"override": 9.99}}, ("price", "override"), "money never goes through floats"),
        ({"price": {"rounding": "cheap"}}, ("price", "rounding"), "not understood"),
        ({"price": {"currency": "usd"}}, ("price", "currency"), "should match pattern"),
        ({"price": {"rate": "0"}}, ("price", "rate"), "Value error, must be > 0"),
        ({"skus": {"A": {"exclude": "maybe"}}}, ("skus", "A", "exclude"), "valid boolean"),
        (
            {"drops": [{"monthly": {"day": 1, "start": "18:00", "timezone": "UTC"}}]},
            ("drops", 0),
            "skus or tags",
        ),
        ({"drops": [{"skus": ["A"]}]}, ("drops", 0), "monthly rule or windows"),
        (
            {"drops": [{"skus": ["A"], "monthly": {"day": 32, "start": "18:00", "timezone": "UTC"}}]},
            ("drops", 0, "monthly", "day"),
            "between 1 and 31",
        ),
        (
            {"drops": [{"skus": ["A"], "monthly": {"day": 1, "start": "18:00", "timezone": "Nowhere/City"}}]},
            ("drops", 0, "monthly", "timezone"),
            "unknown IANA timezone",
        ),
        (
            {
                "drops": [
                    {"skus": ["A"], "windows": [{"start": "2026-06-02T00:00", "end": "2026-06-03T00:00Z"}]}
                ]
            },
            ("drops", 0, "windows", 0, "start"),
            "timezone",
        ),
    ],
)
def test_invalid_files_name_the_key(data: Any, loc: tuple[int | str, ...], message: str) -> None:
    found = errors(data)
    assert any(got_loc == loc and message in msg for got_loc, msg in found), found


def test_unquoted_yaml_time_is_explained() -> None:
    data = yaml.safe_load("drops: [{skus: [A], monthly: {day: 1, start: 18:00, timezone: UTC}}]")
    assert data["drops"][0]["monthly"]["start"] == 1080  # YAML 1.1 sexagesimal
    [(loc, msg)] = errors(data)
    assert loc == ("drops", 0, "monthly", "start")
    assert "write the time quoted" in msg


def test_quantity_override_reports_only_what_it_sets() -> None:
    override = QuantityOverride(buffer_units=2, max_quantity=None)
    assert override.set_values() == {"buffer_units": 2}


def test_a_listing_mode_no_file_sets_is_named_the_default() -> None:
    """``explain`` said "mapping pos.yaml: listings=update" for a channel without any mapping file."""
    none = ChannelMapping("pos", MappingFile())
    assert none.listing_template("MUG", [("MUG", ())]).provenance[0] == (
        "default (channel pos has no mapping file): listings=update"
    )
    silent = ChannelMapping("pos", MappingFile(), source="pos.yaml")
    assert silent.listing_template("MUG", [("MUG", ())]).provenance[0] == "default: listings=update"
    creates = ChannelMapping("pos", MappingFile.model_validate({"listings": "create"}), source="pos.yaml")
    assert creates.listing_template("MUG", [("MUG", ())]).provenance[0] == "mapping pos.yaml: listings=create"
