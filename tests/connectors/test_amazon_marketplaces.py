"""Amazon settings accept only a real marketplace id, in its own region (issue 14)."""

from __future__ import annotations

import pytest
from omnisync_connectors.amazon.settings import AmazonSettings, marketplace_problem
from pydantic import ValidationError

BASE = {"seller_id": "A3SELLER", "client_id": "c", "client_secret": "s", "refresh_token": "r"}


def test_real_marketplace_in_its_region() -> None:
    assert marketplace_problem("A1PA6795UKMFR9", "eu") is None
    assert marketplace_problem("ATVPDKIKX0DER", "na") is None
    AmazonSettings(region="eu", marketplace_ids=("A1PA6795UKMFR9",), **BASE)


@pytest.mark.parametrize(
    ("region", "marketplace", "says"),
    [("eu", "A1PM5H5W6DQQ", "not an Amazon marketplace id"), ("na", "A1PA6795UKMFR9", "region 'eu'")],
)
def test_unknown_id_or_wrong_region_is_refused(region: str, marketplace: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        AmazonSettings(region=region, marketplace_ids=(marketplace,), **BASE)
