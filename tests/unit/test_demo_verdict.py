"""The demo's summary as printed: every column whole and filled, piped or not."""

from __future__ import annotations

import pytest

from omnisync.demo.verdict import print_verdict


def test_the_summary_table_has_a_value_in_every_column_and_cuts_nothing_when_piped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    channel = {
        "orders_imported": 11, "orders_placed": 11, "items_pushed": 93, "api_calls": 50, "throttles": 0,
        "offered": 220, "channel_quantity": 220, "oversold_units": 0,
    }  # fmt: skip
    summary = {
        "ok": True, "seconds": 15, "skus": 40, "notes": [], "problems": [],
        "channels": {"shopify": channel, "instagram": channel},
        "listing_sync": [{"product": "wool-scarf", "published": True, "variants": ["S", "M"]}],
    }  # fmt: skip
    print_verdict(summary)
    text = capsys.readouterr().out
    assert "…" not in text, text
    header = next(line for line in text.splitlines() if "channel" in line)
    assert [c.strip() for c in header.strip().strip("┃").split("┃")] == [
        "channel", "orders", "pushed", "calls", "throttled", "offered", "shown", "oversold",
    ]  # fmt: skip
    row = next(line for line in text.splitlines() if "instagram" in line)
    assert all(cell.strip() for cell in row.strip().strip("│").split("│")), row
    assert "wool-scarf listed" in text
