"""Settings of the Square (POS) connector: one omnisync channel per Square account and store set.

Example (``omnisync.yaml``)::

    channels:
      store-main:
        connector: square
        settings:
          access_token: ${SQUARE_ACCESS_TOKEN}
          environment: production            # or sandbox
          locations: {STORE1: L88917AVBK2S5}  # ledger location code -> Square location id
          webhook_signature_key: ${SQUARE_WEBHOOK_SIGNATURE_KEY}
          notification_url: https://sync.example.com/webhooks/store-main
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from omnisync.sdk import ConnectorSettings

BASE_URLS = {
    "production": "https://connect.squareup.com",
    "sandbox": "https://connect.squareupsandbox.com",
}
DEFAULT_SQUARE_VERSION = "2025-08-20"
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SquareSettings(ConnectorSettings):
    access_token: SecretStr
    """Personal or OAuth access token, sent as ``Authorization: Bearer``. Only from ``${ENV}``."""
    square_version: str = DEFAULT_SQUARE_VERSION
    """The ``Square-Version`` header: the API version every request is pinned to."""
    environment: Literal["production", "sandbox"] = "production"
    base_url: str | None = None
    """Overrides the environment's base URL (the emulator on loopback, a proxy)."""
    locations: dict[str, str] = Field(min_length=1)
    """Ledger location code -> Square location id. ``InventoryUpdate.location`` picks where a push goes;
    orders are pulled from every mapped location."""
    webhook_signature_key: SecretStr | None = None
    """The subscription's signature key (``x-square-hmacsha256-signature``); None: webhooks refused."""
    notification_url: str | None = None
    """The URL exactly as registered in the webhook subscription: it is part of the signed text."""
    decrease_to_state: Literal["SOLD", "WASTE"] = "SOLD"
    """Where units go when omnisync lowers the POS count. SOLD ("sold through a non-Square system",
    the usual cause: another channel sold or reserved them); WASTE keeps them in the loss reports."""
    restock_returns: bool = True
    """The Orders API does not say whether a returned unit went back on the shelf; Square POS restocks
    by default. False: returns are imported as refunds without restock (reconcile catches the rest)."""
    orders_page_size: int = Field(default=500, ge=1, le=1000)
    catalog_attempts: int = Field(default=3, ge=1, le=10)
    """Catalog writes per price batch when Square answers VERSION_MISMATCH (re-read in between)."""
    catalog_images: bool = True
    """Listing images: each catalogue image URL fetched and uploaded (CreateCatalogImage, once per
    content digest) and named by the item in order. False: omnisync sends no images and keeps the ones
    the item has (set in the Square Dashboard)."""

    @field_validator("square_version")
    @classmethod
    def _version_format(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("must look like YYYY-MM-DD, e.g. 2025-08-20")
        return value

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _one_code_per_location(self) -> SquareSettings:
        ids = list(self.locations.values())
        if len(set(ids)) != len(ids):
            raise ValueError("locations: each Square location id may be mapped from one ledger code only")
        if any(not code or not sq for code, sq in self.locations.items()):
            raise ValueError("locations: codes and Square location ids must be non-empty")
        return self

    @property
    def api_base_url(self) -> str:
        return self.base_url or BASE_URLS[self.environment]

    def square_location(self, code: str | None) -> str | None:
        """The Square location for a ledger code; with no code, the only mapped location (if one)."""
        if code is None:
            return next(iter(self.locations.values())) if len(self.locations) == 1 else None
        return self.locations.get(code)

    def ledger_location(self, square_id: str | None) -> str | None:
        for code, sq in self.locations.items():
            if sq == square_id:
                return code
        return None
