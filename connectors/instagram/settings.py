"""Settings of the Instagram shop connector (Meta Graph API: catalog Batch API + Commerce orders).

Every key can be set from YAML; the access token only ever as ``${ENV_VAR}`` (it reaches us resolved).
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from omnisync.sdk import ConnectorSettings

#: Meta refuses more than this many requests in one ``items_batch`` call.
HARD_MAX_BATCH = 5000
#: What the connector sends per call unless told otherwise (Meta's advice: keep well under the hard limit).
DEFAULT_BATCH = 3000
#: The Graph API version current when this connector was written (changelog: v26.0, 2026-07-29).
DEFAULT_GRAPH_VERSION = "v26.0"
#: Order states read by default. COMPLETED is included so that orders finished (shipped or cancelled)
#: after their last import still reach the ledger; CREATED and IN_PROGRESS are the open ones.
DEFAULT_ORDER_STATES = ("CREATED", "IN_PROGRESS", "COMPLETED")

_VERSION = re.compile(r"^v\d+\.\d+$")
_NODE_ID = re.compile(r"^[A-Za-z0-9_]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class InstagramSettings(ConnectorSettings):
    """One Meta commerce account: a catalog and the commerce merchant settings (shop) selling from it."""

    access_token: SecretStr
    """System-user access token (catalog_management, commerce_manage_orders). Sent as a Bearer header."""
    catalog_id: str
    """The product catalog the Instagram shop sells from."""
    commerce_merchant_settings_id: str
    """The shop (commerce merchant settings, "CMS") whose orders are pulled."""
    graph_api_version: str = DEFAULT_GRAPH_VERSION
    base_url: str = "https://graph.facebook.com"
    batch_size: int = Field(default=DEFAULT_BATCH, ge=1, le=HARD_MAX_BATCH)
    """Requests per ``items_batch`` call (hard limit 5,000)."""
    batch_poll_interval_s: float = Field(default=5.0, gt=0)
    """Seconds between ``check_batch_request_status`` polls while a batch settles."""
    batch_timeout_s: float = Field(default=900.0, gt=0)
    """Give up waiting for a batch after this long; its items are reported retry-later."""
    currency: str = "USD"
    """ISO 4217 code used for prices when an update carries none."""
    order_states: tuple[str, ...] = DEFAULT_ORDER_STATES
    orders_page_size: int = Field(default=25, ge=1, le=100)
    acknowledge_orders: bool = True
    """Acknowledge CREATED orders after import (moves them to IN_PROGRESS on Meta)."""
    slow_down_at_percent: float = Field(default=75.0, gt=0, lt=100)
    """Usage (from X-Business-Use-Case-Usage / X-App-Usage) above which the call rate is reduced."""

    @field_validator("graph_api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("must look like 'v26.0'")
        return value

    @field_validator("catalog_id", "commerce_merchant_settings_id")
    @classmethod
    def _node_id(cls, value: str) -> str:
        if not _NODE_ID.match(value):
            raise ValueError("must be a Graph node id (letters, digits, underscore)")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.upper()
        if not _CURRENCY.match(value):
            raise ValueError("must be an ISO 4217 code such as 'USD' or 'KRW'")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or "?" in value:
            raise ValueError("must be an http(s) URL without a query")
        return value.rstrip("/")

    @field_validator("order_states")
    @classmethod
    def _states(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"FB_PROCESSING", "CREATED", "IN_PROGRESS", "COMPLETED"}
        bad = [s for s in value if s not in allowed]
        if bad or not value:
            raise ValueError(f"states must be a non-empty subset of {sorted(allowed)}")
        return value

    @property
    def api_root(self) -> str:
        return f"{self.base_url}/{self.graph_api_version}"
