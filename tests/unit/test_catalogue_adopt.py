"""Adopting a channel's products into the catalogue (pure): what is created, filled, kept, skipped."""

from __future__ import annotations

from decimal import Decimal

from omnisync.catalogue.adopt import adopt
from omnisync.ledger.rows import CatalogueRow, ProductRow, VariantRow
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
