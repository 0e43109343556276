"""Adopting a channel's products into the catalogue (pure): what is created, filled, kept, skipped."""

from __future__ import annotations

from decimal import Decimal

from omnisync.catalogue.adopt import adopt
from omnisync.ledger.rows import CatalogueRow, ProductRow, VariantRow
from omnisync.mapping import ChannelMapping, MappingFile
from omnisync.pricing import PriceRules, price_for
from omnisync.sdk.listings import ChannelProduct, ChannelVariant


def listed(key: str, title: str, *skus: str) -> ChannelProduct:
    variants = tuple(ChannelVariant(s, s, {}, None, Decimal("5"), {"id": s}) for s in skus)
    return ChannelProduct(key, title, "", "", "", "active", (), (), variants, currency="USD")


def test_two_channel_products_of_one_handle_become_two_products() -> None:
    found = adopt([listed("mug", "Mug", "A"), listed("mug", "Mug", "B")], [], {}, lambda s: s)
    assert found.created == ["mug", "mug-2"]
    assert found.links == {"A": ("mug", None), "B": ("mug-2", None)}
    assert [i["sku"] for i in found.skus] == ["A", "B"]
    assert found.skus[0]["currency"] == "USD"


def test_variants_without_sku_or_taken_elsewhere_are_reported() -> None:
    row = ProductRow(1, "B", "Bee", (), Decimal("1"), "EUR", True, 1)
    other = CatalogueRow(
        9, "other", "Other", "", "", "new", "active", (), {}, (), 1,
        (VariantRow(1, "B", "Bee", None, {}, Decimal("1"), "EUR", ()),),
    )  # fmt: skip
    mug = CatalogueRow(8, "mug", "Mug", "", "", "new", "active", (), {}, (), 1, ())
    found = adopt([listed("mug", "Mug", "", "A", "B")], [mug, other], {"B": row}, lambda s: s)
    assert any("has no SKU" in line for line in found.skipped)
    assert "mug: SKU B is a variant of other; it stays there" in found.kept
    assert found.links == {"A": ("mug", None)}


def test_a_channel_price_that_is_the_marked_up_master_price_is_no_difference() -> None:
    """``catalog import`` reported "price differs" for every SKU of a channel with a markup rule."""
    mapping = ChannelMapping(
        "web", MappingFile.model_validate({"price": {"markup_percent": "10"}}), "web.yaml"
    )

    def channel_price(row: ProductRow) -> tuple[Decimal, str]:
        rules, _ = mapping.price_rules(row.sku, row.tags, PriceRules())
        shown = price_for(row.price, row.currency, rules)
        return shown.price, shown.currency

    ledger = {
        "A": ProductRow(1, "A", "A", (), Decimal("12.0000"), "EUR", True, 1),
        "B": ProductRow(2, "B", "B", (), Decimal("12.0000"), "EUR", True, 1),
    }
    a = ChannelVariant("A", "A", {}, None, Decimal("13.20"), {"id": "A"})  # 12.00 + 10 %
    b = ChannelVariant("B", "B", {}, None, Decimal("14.00"), {"id": "B"})
    product = ChannelProduct("mug", "Mug", "", "", "", "active", (), (), (a, b), currency="EUR")
    found = adopt([product], [], ledger, lambda s: s, channel_price=channel_price)
    assert found.kept == [
        "mug: SKU B price differs on the channel (14.00 EUR there, 13.20 EUR by its price rules from the "
        "ledger's 12.00 EUR); the ledger's is kept"
    ]
    plain = adopt([product], [], ledger, lambda s: s)  # without the rules both would differ
    assert len([line for line in plain.kept if "price differs" in line]) == 2
