"""The emulator's product writes: ``productSet`` (synchronous) and ``publishablePublish`` /
``publishableUnpublish`` / ``publicationUpdate`` on the shop's publications, as the 2026-04 Admin
API documents them (``publicationUpdate``: at most 50 publishables to add and 50 to remove a call;
an unknown one refuses the whole call, nothing changed).

``productSet`` finds the product by ``identifier`` (id or handle; none creates one), replaces its
options, variants and media with the lists given (a variant given with its ``id`` is updated, one
without is created, one left out is deleted) and refuses, with ``userErrors`` and no change, what the
platform refuses: a new product without a title, more than 3 options, a variant that does not name
exactly one value of every option, two variants with the same values, more than 2,048 variants or
250 media, a media source that is not a URL. New variants are stocked at every location with 0.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo

from .emulator_state import ShopState

if TYPE_CHECKING:
    from .emulator_graphql import Views

MAX_OPTIONS = 3
MAX_VARIANTS = 2048
MAX_MEDIA = 250
PUBLICATION_UPDATE_MAX = 50
"""``PublicationUpdateInput``: "The maximum number of publishables to update simultaneously is 50"."""
PUBLICATION = "gid://shopify/Publication/1"
"""The emulated shop's Online Store publication."""


def _err(code: str, field: list[str], message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


class ProductWrites:
    def __init__(self, state: ShopState, now: Callable[[], datetime], views: Views) -> None:
        self.state = state
        self.now = now
        self.views = views
        self.publications = {PUBLICATION}

    def mutations(self) -> dict[str, Any]:
        return {
            "productSet": self.product_set,
            "publishablePublish": lambda info, id, input: self._publish(id, input, True),
            "publishableUnpublish": lambda info, id, input: self._publish(id, input, False),
            "publicationUpdate": lambda info, id, input: self.publication_update(id, input),
        }

    # -- productSet ------------------------------------------------------------------------------------
    def product_set(
        self,
        _info: GraphQLResolveInfo,
        input: dict[str, Any],
        synchronous: bool = True,
        identifier: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if not synchronous:
            return {
                "product": None,
                "userErrors": [
                    _err("INVALID_INPUT", ["synchronous"], "the emulator runs productSet synchronously only")
                ],
            }
        product, errors = self._find(input, identifier or {})
        if not errors:
            errors = self._check(input, product)
        if errors:
            return {"product": None, "userErrors": errors}
        product = self._apply(input, product)
        return {"product": self.views.product(str(product["id"])), "userErrors": []}

    def _find(
        self, input: dict[str, Any], identifier: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        gid = identifier.get("id") or input.get("id")
        if gid:
            found = self.state.products.get(gid)
            if found is None:
                return None, [_err("PRODUCT_DOES_NOT_EXIST", ["identifier", "id"], "Product does not exist")]
            return found, []
        handle = identifier.get("handle")
        if handle:
            return next((p for p in self.state.products.values() if p.get("handle") == handle), None), []
        return None, []

    def _check(self, input: dict[str, Any], product: dict[str, Any] | None) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = []
        if product is None and not (input.get("title") or "").strip():
            errors.append(_err("MISSING_FIELD_REQUIRED", ["input", "title"], "Title can't be blank"))
        options = input.get("productOptions")
        variants = input.get("variants")
        if variants is not None and options is None:
            errors.append(
                _err(
                    "PRODUCT_OPTIONS_INPUT_MISSING",
                    ["input", "productOptions"],
                    "productOptions must be given with variants",
                )
            )
            return errors
        names = [str(o.get("name") or "") for o in options or []]
        if len(names) > MAX_OPTIONS:
            errors.append(
                _err(
                    "OPTIONS_OVER_LIMIT",
                    ["input", "productOptions"],
                    f"Can only specify a maximum of {MAX_OPTIONS} options",
                )
            )
        if len(set(names)) != len(names):
            errors.append(
                _err("DUPLICATED_OPTION_NAME", ["input", "productOptions"], "Duplicated option name.")
            )
        values = {
            str(o.get("name")): {str(v.get("name")) for v in o.get("values") or []} for o in options or []
        }
        for n, o in enumerate(options or []):
            if not o.get("values"):
                errors.append(
                    _err(
                        "OPTION_VALUES_MISSING",
                        ["input", "productOptions", str(n)],
                        "Option values are missing",
                    )
                )
        if variants is not None and len(variants) > MAX_VARIANTS:
            errors.append(
                _err(
                    "VARIANTS_OVER_LIMIT",
                    ["input", "variants"],
                    f"Can only specify a maximum of {MAX_VARIANTS} variants",
                )
            )
        seen: set[tuple[str, ...]] = set()
        for n, v in enumerate(variants or []):
            where = ["input", "variants", str(n)]
            given = {str(o.get("optionName")): str(o.get("name")) for o in v.get("optionValues") or []}
            if set(given) != set(values):
                errors.append(
                    _err("INVALID_VARIANT", where, "Variant must name exactly one value of every option")
                )
                continue
            missing = [f"{k}: {x}" for k, x in given.items() if x not in values[k]]
            if missing:
                errors.append(
                    _err(
                        "OPTION_VALUE_DOES_NOT_EXIST",
                        where,
                        f"Option value does not exist: {', '.join(missing)}",
                    )
                )
            combo = tuple(given[k] for k in names)
            if combo in seen:
                errors.append(
                    _err("INVALID_VARIANT", where, f"The variant '{' / '.join(combo)}' already exists.")
                )
            seen.add(combo)
            if v.get("id") and (product is None or self.state.variants.get(v["id"], None) is None):
                errors.append(_err("PRODUCT_VARIANT_DOES_NOT_EXIST", where, "Product variant does not exist"))
            try:
                Decimal(str(v.get("price", "0")))
            except InvalidOperation:
                errors.append(_err("INVALID_INPUT", [*where, "price"], "Price is invalid"))
        files = input.get("files") or []
        if len(files) > MAX_MEDIA:
            errors.append(
                _err(
                    "INVALID_INPUT", ["input", "files"], f"Exceeded the maximum number of media, {MAX_MEDIA}"
                )
            )
        for n, f in enumerate(files):
            if not str(f.get("originalSource") or "").startswith(("https://", "http://")):
                errors.append(
                    _err(
                        "INVALID_INPUT", ["input", "files", str(n), "originalSource"], "Image URL is invalid"
                    )
                )
        return errors

    def _apply(self, input: dict[str, Any], product: dict[str, Any] | None) -> dict[str, Any]:
        now = self.now()
        if product is None:
            gid = self.state.new_id("Product")
            product = {"id": gid, "handle": input.get("handle") or gid.rsplit("/", 1)[-1], "status": "ACTIVE"}
            product.update(
                title="", descriptionHtml="", vendor="", productType="", published=set(), options=[], media=[]
            )
            self.state.products[gid] = product
        for key in ("title", "descriptionHtml", "vendor", "productType", "status", "handle"):
            if input.get(key) is not None:
                product[key] = input[key]
        if input.get("productOptions") is not None:
            product["options"] = [
                {"name": o["name"], "values": [v["name"] for v in o.get("values") or []]}
                for o in input["productOptions"]
            ]
        if input.get("files") is not None:
            product["media"] = [f["originalSource"] for f in input["files"]]
        if input.get("variants") is not None:
            self._set_variants(product, input["variants"], now)
        product["updatedAt"] = now
        return product

    def _set_variants(self, product: dict[str, Any], given: list[dict[str, Any]], now: datetime) -> None:
        state = self.state
        keep: set[str] = set()
        for position, v in enumerate(given, 1):
            sku = str((v.get("inventoryItem") or {}).get("sku") or "")
            price = Decimal(str(v.get("price") or "0"))
            if v.get("id"):
                variant = state.variants[v["id"]]
                if variant.sku != sku:
                    state.by_sku[variant.sku].remove(variant.id)
                    state.by_sku[sku].append(variant.id)
                    variant.sku = sku
                if v.get("price") is not None:
                    variant.price = price
                variant.updated_at = now
            else:
                variant = state.add_variant(sku, price, now, str(product["id"]))
                for location in state.locations:
                    state.stock(variant.inventory_item_id, location, 0, now)
            state.variant_content[variant.id] = {
                "options": {
                    str(o.get("optionName")): str(o.get("name")) for o in v.get("optionValues") or []
                },
                "barcode": v.get("barcode"),
                "position": v.get("position") or position,
            }
            keep.add(variant.id)
        for vid in [
            vid for vid, x in state.variants.items() if x.product_id == product["id"] and vid not in keep
        ]:
            gone = state.variants.pop(vid)
            state.by_sku[gone.sku].remove(vid)
            state.by_item.pop(gone.inventory_item_id, None)
            state.variant_content.pop(vid, None)

    # -- publications ----------------------------------------------------------------------------------
    def _publish(self, gid: str, input: list[dict[str, Any]], on: bool) -> dict[str, Any]:
        product = self.state.products.get(gid)
        if product is None:
            return {"userErrors": [{"field": ["id"], "message": "Publishable does not exist"}]}
        wanted = [str(p.get("publicationId") or "") for p in input]
        unknown = [p for p in wanted if p not in self.publications]
        if unknown:
            return {
                "userErrors": [
                    {
                        "field": ["input", "publicationId"],
                        "message": f"Publication {unknown[0]} does not exist",
                    }
                ]
            }
        published = product.setdefault("published", set())
        assert isinstance(published, set)
        if on:
            published.update(wanted)
        else:
            published.difference_update(wanted)
        product["updatedAt"] = self.now()
        return {"userErrors": []}

    def publication_update(self, gid: str, input: dict[str, Any]) -> dict[str, Any]:
        if gid not in self.publications:
            return {
                "publication": None,
                "userErrors": [_err("PUBLICATION_NOT_FOUND", ["id"], "Publication not found.")],
            }
        lists = {
            name: [str(x) for x in input.get(name) or []]
            for name in ("publishablesToAdd", "publishablesToRemove")
        }
        errors = [
            _err(
                "PUBLICATION_UPDATE_LIMIT_EXCEEDED",
                ["input", name],
                "The limit for simultaneous publication updates has been exceeded.",
            )
            for name, ids in lists.items()
            if len(ids) > PUBLICATION_UPDATE_MAX
        ]
        errors += [
            _err("INVALID_PUBLISHABLE_ID", ["input", name, str(n)], "Publishable ID not found.")
            for name, ids in lists.items()
            for n, x in enumerate(ids)
            if x not in self.state.products
        ]
        if errors:
            return {"publication": None, "userErrors": errors}
        now = self.now()
        for name, ids in lists.items():
            for x in ids:
                published = self.state.products[x].setdefault("published", set())
                assert isinstance(published, set)
                (published.add if name == "publishablesToAdd" else published.discard)(gid)
                self.state.products[x]["updatedAt"] = now
        return {"publication": {"__typename": "Publication", "id": gid}, "userErrors": []}
