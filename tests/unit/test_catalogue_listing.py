"""The pure listing core: catalogue + template -> wanted listing (digest), its checks and the plan."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from pydantic import ValidationError

from omnisync.catalogue.clean import html_to_text
from omnisync.catalogue.plan import ListingAction, decide
from omnisync.catalogue.template import ListingMode, template_fields
from omnisync.catalogue.validate import gtin_valid, validate_listing
from omnisync.catalogue.wanted import wanted_listing
from omnisync.ledger.rows import CatalogueRow, ListingContentRow, VariantRow
from omnisync.mapping import ChannelMapping, MappingFile
from omnisync.sdk.listings import ListingRules

AMAZON = ListingRules(
    "Amazon",
    title_max=200,
    description_max=2000,
    html=False,
    max_images=9,
    min_images=1,
    required=("title", "brand", "category", "barcode"),
    gtin_checked=True,
)
SHOPIFY = ListingRules(
    "Shopify", title_max=255, html=True, max_images=250, required=("title",), max_options=3
)


def variant(sku: str, size: str, barcode: str | None = "4006381333931") -> VariantRow:
    return VariantRow(1, sku, f"Tee {size}", barcode, {"Size": size}, Decimal("19.90"), "EUR", ())


def tee(**changes: object) -> CatalogueRow:
    base = CatalogueRow(
        id=1,
        handle="TEE",
        title="Classic tee",
        description="<p>Soft <b>cotton</b> &amp; more</p><ul><li>Regular fit</li><li>Washable</li></ul>",
        brand="Acme",
        condition="new",
        status="active",
        images=tuple(f"https://img.example/tee{i}.jpg" for i in range(12)),
        attributes={"material": "cotton", "care": "30C"},
        options=("Size",),
        version=1,
        variants=(variant("TEE-M", "M"), variant("TEE-L", "L")),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def mapping(doc: dict[str, object]) -> ChannelMapping:
    return ChannelMapping("ch", MappingFile.model_validate(doc))


def wanted(product: CatalogueRow, doc: dict[str, object], rules: ListingRules = AMAZON):  # type: ignore[no-untyped-def]
    m = mapping(doc)
    resolved = m.listing_template(product.handle, [(v.sku, v.tags) for v in product.variants])
    return wanted_listing(product, resolved, rules, channel_sku=m.channel_sku)


TEMPLATE = {
    "listings": "create",
    "listing": {"title": "{brand} {title}", "category": "SHIRT", "attributes": {"material": "material_type"}},
    "sku_aliases": {"TEE-M": "AMZ-TEE-M"},
}


def test_the_template_shapes_the_listing_for_the_channel() -> None:
    w = wanted(tee(), TEMPLATE)
    c = w.content
    assert c.title == "Acme Classic tee"
    assert c.description == "Soft cotton & more\n\n• Regular fit\n• Washable", "Amazon takes no HTML"
    assert len(c.images) == 9, "trimmed to Amazon's limit"
    assert c.images[0] == "https://img.example/tee0.jpg", "in order"
    assert c.attributes == {"material_type": "cotton"}, "only mapped attributes, under the channel's names"
    assert c.category == "SHIRT"
    assert [(v.sku, v.channel_sku, v.title) for v in c.variants] == [
        ("TEE-M", "AMZ-TEE-M", "Acme Classic tee - M"),
        ("TEE-L", "TEE-L", "Acme Classic tee - L"),
    ]
    assert any("images: 12 -> 9" in n for n in w.notes)
    assert any("HTML turned into text" in n for n in w.notes)


def test_a_channel_that_takes_html_keeps_it_unless_the_template_says_text() -> None:
    assert "<b>cotton</b>" in wanted(tee(), TEMPLATE, SHOPIFY).content.description
    text = {**TEMPLATE, "listing": {"description": "text"}}
    assert "<" not in wanted(tee(), text, SHOPIFY).content.description


def test_the_digest_moves_with_content_and_not_with_price() -> None:
    base = wanted(tee(), TEMPLATE)
    assert wanted(tee(), TEMPLATE).content.digest == base.content.digest, "stable"
    cheaper = tee(variants=tuple(replace(v, price=Decimal("9.90")) for v in tee().variants))
    assert wanted(cheaper, TEMPLATE).content.digest == base.content.digest, "prices travel as price pushes"
    renamed = wanted(tee(title="Classic tee 2"), TEMPLATE)
    assert renamed.content.digest != base.content.digest
    changed = [f for f in base.fields if base.fields[f] != renamed.fields[f]]
    assert changed == ["title", "variants"], "the variant titles follow the product title"
    reordered = wanted(tee(images=tuple(reversed(tee().images))), TEMPLATE)
    assert [f for f in base.fields if base.fields[f] != reordered.fields[f]] == ["images"], (
        "image order counts"
    )


def test_overrides_per_product_and_per_variant_and_exclusions() -> None:
    doc = {
        **TEMPLATE,
        "skus": {
            "TEE": {"listing": {"title": "The tee", "images": ["https://img.example/only.jpg"]}},
            "TEE-L": {"listing": {"variant_title": "{title} large", "attributes": {"fit": "loose"}}},
            "TEE-M": {"exclude": True},
        },
    }
    w = wanted(tee(), doc)
    assert w.content.title == "The tee"
    assert w.content.images == ("https://img.example/only.jpg",)
    assert [(v.sku, v.title, v.attributes.get("fit")) for v in w.content.variants] == [
        ("TEE-L", "The tee large", "loose")
    ]
    assert "sku TEE-M: excluded from this channel" in w.notes


def test_missing_template_values_leave_no_dangling_separators() -> None:
    doc = {"listing": {"title": "{brand} - {title} | {attributes[colour]}"}}
    assert wanted(tee(brand=""), doc).content.title == "Classic tee"


def test_template_fields_are_checked_when_the_mapping_loads() -> None:
    assert template_fields("{brand} {attributes[material]}", variant=False) == [
        "brand",
        "attributes[material]",
    ]
    for bad in ("{title.__class__}", "{sku}", "{price}", "{title!r}", "{title"):
        with pytest.raises(ValueError, match=r"title|sku|price"):
            template_fields(bad, variant=False)
    with pytest.raises(ValidationError, match="unknown field"):
        MappingFile.model_validate({"listing": {"title": "{colour}"}})
    with pytest.raises(ValidationError, match="listing overrides go under skus"):
        MappingFile.model_validate({"tags": {"sale": {"listing": {"title": "x"}}}})
    with pytest.raises(ValidationError):
        MappingFile.model_validate({"listings": "sometimes"})


def test_validation_names_the_field_and_the_rule() -> None:
    bad = tee(
        brand="",
        title="x" * 230,
        images=(),
        variants=(variant("TEE-M", "M", barcode="4006381333932"), variant("TEE-L", "L", barcode=None)),
    )
    problems = {(p.field, p.rule) for p in validate_listing(wanted(bad, TEMPLATE).content, AMAZON)}
    assert ("brand", "required by Amazon") in problems
    assert ("title", "230 characters, Amazon allows 200") in problems, "no brand: the template adds nothing"
    assert any(f == "images" for f, _ in problems)
    assert any(f == "variant TEE-M barcode" and "not a valid GTIN" in r for f, r in problems)
    assert ("variant TEE-L barcode", "Amazon requires a GTIN (the barcode column)") in problems
    assert validate_listing(wanted(tee(), TEMPLATE).content, AMAZON) == []


def test_gtin_check_digit() -> None:
    assert gtin_valid("4006381333931")
    assert gtin_valid("036000291452")
    assert not gtin_valid("4006381333932")
    assert not gtin_valid("ABC")


def state(digest: str | None, fields: dict[str, str], published: bool | None = True) -> ListingContentRow:
    return ListingContentRow(1, 1, {"id": "P1"}, digest, fields, published, True, (), "update", None)


def test_the_plan_creates_only_where_allowed_and_never_deletes() -> None:
    w = wanted(tee(), TEMPLATE)
    create = decide(w, None, ListingMode.CREATE, on_channel=False)
    assert create.action is ListingAction.CREATE
    assert decide(w, None, ListingMode.UPDATE, on_channel=False).action is ListingAction.SKIP
    assert decide(w, None, ListingMode.OFF, on_channel=True).action is ListingAction.KEEP
    assert decide(w, None, ListingMode.UPDATE, on_channel=True).action is ListingAction.UPDATE
    same = state(w.content.digest, dict(w.fields))
    assert decide(w, same, ListingMode.CREATE, on_channel=True).action is ListingAction.KEEP
    renamed = wanted(tee(title="New"), TEMPLATE)
    update = decide(renamed, same, ListingMode.UPDATE, on_channel=True)
    assert (update.action, update.changed) == (ListingAction.UPDATE, ("title", "variants"))
    gone = wanted(tee(status="discontinued"), TEMPLATE)
    off = decide(gone, same, ListingMode.CREATE, on_channel=True)
    assert off.action is ListingAction.UNPUBLISH
    assert "never deleted" in off.why
    hidden = state(gone.content.digest, dict(gone.fields), published=False)
    assert decide(gone, hidden, ListingMode.CREATE, on_channel=True).action is ListingAction.KEEP
    assert decide(gone, None, ListingMode.CREATE, on_channel=False).action is ListingAction.KEEP
    back = decide(w, hidden, ListingMode.UPDATE, on_channel=True)
    assert back.action is ListingAction.UPDATE
    assert "republished" in back.why
    # an unpublish leaves the digest of the last content written: active again is still republished
    unpublished = state(w.content.digest, dict(w.fields), published=False)
    again = decide(w, unpublished, ListingMode.UPDATE, on_channel=True)
    assert (again.action, again.why) == (ListingAction.UPDATE, "active again: republished")


def test_html_to_text() -> None:
    assert html_to_text("<h2>Care</h2><p>Wash&nbsp;cold<br>Dry flat</p><script>alert(1)</script>") == (
        "Care\n\nWash cold\nDry flat"
    )
    assert html_to_text("no  markup\n\n\n\nhere") == "no markup\n\nhere"
