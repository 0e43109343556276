"""The Meta emulator takes items_batch form-encoded, as Meta's SDK sends it (issue 14, point 17)."""

from __future__ import annotations

import json

import httpx
from omnisync_connectors.instagram.emulator import InstagramEmulator

from omnisync.clock import VirtualClock


async def _post(form: dict[str, str]) -> httpx.Response:
    emulator = InstagramEmulator(VirtualClock())
    async with httpx.AsyncClient(transport=emulator.transport(), base_url="http://emulator") as client:
        return await client.post(
            f"/v26.0/{emulator.catalog_id}/items_batch",
            headers={"Authorization": f"Bearer {emulator.access_token}"},
            data=form,
        )


async def test_form_encoded_items_batch_is_accepted() -> None:
    requests = [{"method": "UPDATE", "data": {"id": "SKU-1", "inventory": 3}}]
    answer = await _post({"item_type": "PRODUCT_ITEM", "requests": json.dumps(requests)})
    assert answer.status_code == 200, answer.text
    assert "handles" in answer.json()


async def test_malformed_requests_is_metas_400_code_100() -> None:
    answer = await _post({"item_type": "PRODUCT_ITEM", "requests": "[not json"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100
