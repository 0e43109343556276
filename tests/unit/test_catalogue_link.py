"""Matching channel listings to the catalogue (by SKU, then barcode) and writing the aliases it needs."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from omnisync.catalogue.link import gtin_key, plan_links
from omnisync.ledger.rows import CatalogueRow, VariantRow
from omnisync.mappingedit import with_aliases
from omnisync.sdk.listings import ChannelProduct, ChannelVariant


def product(handle: str, *variants: tuple[str, str | None]) -> CatalogueRow:
    rows = tuple(
        VariantRow(n, sku, sku, barcode, {}, Decimal("1"), "EUR", ())
        for n, (sku, barcode) in enumerate(variants)
    )
    return CatalogueRow(1, handle, handle, "", "", "new", "active", (), {}, (), 1, rows)


def listed(key: str, *variants: tuple[str, str | None]) -> ChannelProduct:
    return ChannelProduct(
        key, key, "", "", "", "active", (), (),
        tuple(ChannelVariant(sku, sku, {}, code, None, {"id": f"{key}/{sku}"}) for sku, code in variants),
    )  # fmt: skip


def test_gtins_compare_as_fourteen_digits() -> None:
    assert gtin_key("012345678905") == gtin_key("0012345678905") == "00012345678905"
    assert gtin_key(" ") is None
    assert gtin_key("ABC-1") == "ABC-1"


def test_sku_first_then_barcode_and_every_doubt_reported() -> None:
    catalogue = [
        product("tee", ("TEE-S", "111"), ("TEE-M", "222")),
        product("cap", ("CAP", "333")),
        product("bag", ("BAG", "444")),
        product("pin", ("PIN", "555")),
        product("hat", ("HAT", "666")),
    ]
    found = {"TEE-S": [{"id": "x"}], "HAT": [{"id": "h1"}, {"id": "h2"}]}
    channel = [
        listed("tee", ("TEE-S", "111"), ("SHOP-TEE-M", "0000000000222")),
        listed("caps", ("C-1", "333"), ("C-2", "333")),  # one barcode on two variants
        listed("bags", ("", "444")),  # no SKU on the channel
        listed("pins", ("TEE-S-OLD", "555")),
        listed("other", ("ELSE", None)),
    ]
    plan = plan_links(catalogue, lambda s: s, found, channel, {"TEE-S", "TEE-M", "CAP", "BAG", "PIN", "HAT"})
    assert plan.by_sku == {"TEE-S": {"id": "x"}}
    assert {(m.sku, m.channel_sku) for m in plan.by_barcode} == {
        ("TEE-M", "SHOP-TEE-M"),
        ("PIN", "TEE-S-OLD"),
    }
    assert plan.ambiguous == {"HAT": 2, "barcode 333": 2}
    assert "without a SKU" in plan.refused["BAG"]
    assert plan.partial == {"tee": ["TEE-M"]}, "a barcode match is not linked before its alias exists"
    assert plan.unknown == ["caps", "bags", "other"], "none of their variants is linked"
    aliased = plan_links(catalogue, lambda s: s, found, channel, set(), aliasing=True)
    assert aliased.linked == ["tee", "pin"]


def test_a_channel_sku_that_is_another_master_sku_is_refused() -> None:
    plan = plan_links([product("a", ("A", "9"))], lambda s: s, {}, [listed("b", ("B", "9"))], {"A", "B"})
    assert plan.by_barcode == []
    assert "another master SKU" in plan.refused["A"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# web\nlistings: create   # keep\n",
        "sku_aliases:\n    OLD: O-1   # from 2024\nlisting:\n  title: '{title}'\n",
        "sku_aliases: {OLD: O-1}\nlistings: update\n",
    ],
)
def test_aliases_are_added_and_nothing_else_changes(text: str) -> None:
    edited = with_aliases(text, {"TEE-M": "SHOP-TEE-M", "we: ird": "x'y"})
    before = yaml.safe_load(text) or {}
    after = yaml.safe_load(edited)
    assert after == {
        **before,
        "sku_aliases": {**before.get("sku_aliases", {}), "TEE-M": "SHOP-TEE-M", "we: ird": "x'y"},
    }
    for line in text.splitlines():
        if "{OLD" not in line:
            assert line in edited.splitlines(), "comments and layout kept"
    assert with_aliases(edited, {"TEE-M": "SHOP-TEE-M"}) == edited, "adding an alias twice changes nothing"


def test_an_alias_to_another_sku_is_refused() -> None:
    with pytest.raises(ValueError, match="already maps TEE-M"):
        with_aliases("sku_aliases: {TEE-M: A}\n", {"TEE-M": "B"})
