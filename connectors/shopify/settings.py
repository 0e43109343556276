"""Settings of the Shopify connector: shop, Admin API token, API version, locations and plan.

The access token and the webhook secret arrive resolved from ``${ENV}`` in the YAML and stay
``SecretStr`` so they never print.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from omnisync.sdk import ConnectorSettings

Plan = Literal["standard", "advanced", "plus", "enterprise"]

# GraphQL Admin API restore rates per plan (points/second), shopify.dev "GraphQL Admin API rate limits".
RESTORE_RATE: dict[str, float] = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0, "enterprise": 2000.0}
# Bucket size (throttleStatus.maximumAvailable): 20 seconds of restore on every plan, as the live API
# reports it (Standard 2,000 at 100/s, Plus 20,000 at 1,000/s).
BUCKET_SECONDS = 20.0

_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+$")
_LOCATION_GID = re.compile(r"^gid://shopify/Location/\d+$")


class ShopifySettings(ConnectorSettings):
    shop: str = Field(min_length=3)
    """The shop's domain, e.g. ``my-shop.myshopify.com`` (no scheme, no path)."""
    access_token: SecretStr
    """Admin API access token (sent as ``X-Shopify-Access-Token``)."""
    api_version: str = Field(default="2026-04", pattern=r"^\d{4}-\d{2}$|^unstable$")
    locations: dict[str, str] = Field(min_length=1)
    """Ledger location code -> Shopify location GID (``gid://shopify/Location/123``). The first entry
    is the default location for pushes that name no location."""
    plan: Plan = "standard"
    """The shop's plan; sets the cost bucket until the first answer reports the real one."""
    webhook_secret: SecretStr | None = None
    """The app's client secret that signs webhooks (X-Shopify-Hmac-Sha256). None: webhooks refused."""
    orders_page_size: int = Field(default=2, ge=1, le=2)
    """Orders per page. Each order asks for up to 50 lines with their prices, fulfilments, refunds and
    fulfilment orders, 432 requested points, so two keep one query under the 1,000-point single-query
    limit (what a page really costs is charged, the rest refunded)."""
    endpoint: str | None = None
    """Overrides ``https://{shop}`` (an emulator on loopback, for instance)."""
    publication_id: str | None = Field(default=None, pattern=r"^gid://shopify/Publication/\d+$")
    """The sales channel (Online Store) publication that listings are published to; None: listings are
    created and updated but published by hand."""

    bulk_listings_from: int | None = Field(default=50, ge=2)
    """Listings in one push from which they go as bulk operations (``productSet`` over a staged JSONL
    file, then the publications), not one call each; None: never in bulk."""
    bulk_poll_interval_s: float = Field(default=5.0, gt=0)
    """Seconds between two polls of a running bulk operation."""
    bulk_timeout_s: float = Field(default=3600.0, gt=0)
    """How long one push waits for its bulk operation; later, its listings are retried (by handle, so
    nothing is created twice)."""

    @field_validator("shop")
    @classmethod
    def _shop_is_a_domain(cls, value: str) -> str:
        value = value.strip().lower()
        if not _SHOP.match(value):
            raise ValueError("must be the shop's domain such as 'my-shop.myshopify.com' (no scheme or path)")
        return value

    @field_validator("locations")
    @classmethod
    def _locations_are_gids(cls, value: dict[str, str]) -> dict[str, str]:
        for code, gid in value.items():
            if not _LOCATION_GID.match(gid):
                raise ValueError(f"location {code!r}: {gid!r} is not a Shopify location GID")
        return value

    @property
    def restore_rate(self) -> float:
        return RESTORE_RATE[self.plan]

    @property
    def bucket_size(self) -> float:
        return RESTORE_RATE[self.plan] * BUCKET_SECONDS

    @property
    def default_location(self) -> str:
        return next(iter(self.locations.values()))

    def location_gid(self, code: str | None) -> str | None:
        """The Shopify location for a ledger location code (None -> the first mapping entry)."""
        if code is None:
            return self.default_location
        return self.locations.get(code)

    def location_code(self, gid: str | None) -> str | None:
        """The ledger location code mapped to a Shopify location GID, if any."""
        if gid is None:
            return None
        for code, mapped in self.locations.items():
            if mapped == gid:
                return code
        return None

    @property
    def base_url(self) -> str:
        root = (self.endpoint or f"https://{self.shop}").rstrip("/")
        return f"{root}/admin/api/{self.api_version}"
