"""Listing sync through the CLI over the four emulators on loopback (a real `omnisync emulators`
process): a new product in the catalogue appears on every channel whose template allows creating it,
with its variants and price, and its stock follows on sync; an edited title reaches every channel; a
discontinued product is unpublished everywhere; a product a channel would refuse is reported by
`listings validate` before any call."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from test_sandbox_path import emulators, fresh, omnisync  # noqa: F401 - fixtures

from omnisync.sandbox import CHANNELS

TEMPLATES = {
    "webstore": {"listings": "create"},
    "amazon": {"listings": "create", "listing": {"category": "PRODUCT"}},
    "pos": {"listings": "create"},
    "instagram": {"listings": "create", "listing": {"link": "https://shop.example/products/{product}"}},
}
PRODUCT_COLUMNS = ["product", "product_title", "description", "brand", "status", "images", "option:Size"]
TEE = [
    # sku, title, barcode, price, WH, STORE1, size
    ("TEE-S", "Tee S", "4006381333986", "19.90", 10, 2, "S"),
    ("TEE-M", "Tee M", "4006381333993", "19.90", 12, 3, "M"),
    ("TEE-L", "Tee L", "4006381334006", "19.90", 8, 1, "L"),
]


def catalogue(
    store: Path, *, title: str = "Classic tee", status: str = "active", brand: str = "Acme"
) -> None:
    """The sandbox's sample rows (outside the catalogue) plus the tee, one row per variant."""
    with (store / "catalogue.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0] + PRODUCT_COLUMNS
    out = [header, *(row + [""] * len(PRODUCT_COLUMNS) for row in rows[1:])]
    description = "<p>Soft <b>organic</b> cotton.</p>"
    images = "https://img.example/tee-1.jpg|https://img.example/tee-2.jpg"
    for n, (sku, vtitle, barcode, price, wh, store1, size) in enumerate(TEE):
        first = n == 0
        out.append(
            [sku, vtitle, barcode, "apparel", price, "EUR", "true", str(wh), str(store1), "TEE"]
            + ([title, description, brand, status, images] if first else ["", "", "", "", ""])
            + [size]
        )
    with (store / "with-tee.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(out)


def listing_templates(store: Path) -> None:
    config = yaml.safe_load((store / "omnisync.yaml").read_text())
    for name, template in TEMPLATES.items():
        (store / f"{name}.yaml").write_text(yaml.safe_dump(template))
        config["channels"][name]["mapping"] = f"{name}.yaml"
    (store / "omnisync.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def push() -> dict[str, dict[str, object]]:
    rows: dict[str, dict[str, object]] = json.loads(omnisync("listings", "push", "--json").stdout)
    for name, row in rows.items():
        assert row["ok"], (name, row)
    return rows


@pytest.mark.slow
def test_a_product_reaches_every_channel_its_stock_follows_and_it_is_unpublished(
    emulators: tuple[subprocess.Popen[str], Path],  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, store = emulators
    monkeypatch.chdir(store)
    listing_templates(store)
    catalogue(store, brand="")
    omnisync("ledger", "import", "with-tee.csv")

    refused = json.loads(omnisync("listings", "validate", "--json", code=1).stdout)["refused"]
    assert {(r["channel"], p["field"]) for r in refused for p in r["problems"]} == {
        ("amazon", "brand"),
        ("instagram", "brand"),
    }, "a channel's rules, named before any call"
    blocked = push()
    assert {n: r["blocked"] for n, r in blocked.items()} == {
        "webstore": 0,
        "amazon": 1,
        "pos": 0,
        "instagram": 1,
    }

    catalogue(store)
    omnisync("ledger", "import", "with-tee.csv")
    assert json.loads(omnisync("listings", "validate", "--json").stdout)["refused"] == []
    planned = json.loads(omnisync("listings", "plan", "--json").stdout)
    assert {(r["channel"], r["product"], r["action"]) for r in planned} == {
        ("amazon", "TEE", "create"),
        ("instagram", "TEE", "create"),
        ("webstore", "TEE", "update"),
        ("pos", "TEE", "update"),
    }, "the two that refused it get it now; the others hold it and get the brand"
    done = push()
    assert {n: (r["created"], r["updated"]) for n, r in done.items()} == {
        "webstore": (0, 1),
        "amazon": (1, 0),
        "pos": (0, 1),
        "instagram": (1, 0),
    }

    synced = json.loads(omnisync("sync", "--once", "--json").stdout)
    assert all(row["ok"] for row in synced.values()), synced
    explained = json.loads(omnisync("explain", "TEE-M", "--json").stdout)
    for name in (ch.name for ch in CHANNELS):
        row = explained[name]
        assert row["acked_quantity"] == row["offered"], f"{name}: the new variant's stock follows"
        assert row["listing"]["action"] == "keep", (name, row["listing"])
        assert [v["sku"] for v in row["listing"]["fields"]["variants"]] == ["TEE-S", "TEE-M", "TEE-L"]
    assert explained["pos"]["offered"] == 3, "the store's own count"
    unchanged = push()
    assert all(
        r["created"] == r["updated"] == r["unpublished"] == r["api_calls"] == 0 for r in unchanged.values()
    ), "an unchanged catalogue sends nothing"

    catalogue(store, title="Classic tee, organic")
    omnisync("ledger", "import", "with-tee.csv")
    assert {n: r["updated"] for n, r in push().items()} == {ch.name: 1 for ch in CHANNELS}
    fields = json.loads(omnisync("explain", "TEE-S", "--json").stdout)["webstore"]["listing"]["fields"]
    assert fields["title"] == "Classic tee, organic"

    catalogue(store, title="Classic tee, organic", status="discontinued")
    omnisync("ledger", "import", "with-tee.csv")
    assert {n: r["unpublished"] for n, r in push().items()} == {ch.name: 1 for ch in CHANNELS}
    assert {n: r["unpublished"] for n, r in push().items()} == {ch.name: 0 for ch in CHANNELS}, "once"
