"""Settings of the Amazon connector: region, seller, marketplaces and LWA credentials.

Secrets (``client_secret``, ``refresh_token``) arrive resolved from ``${ENV}`` in the YAML and are
kept as ``SecretStr`` so they never print.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from omnisync.sdk import ConnectorSettings

SQS_ARN = re.compile(
    r"^arn:aws[a-z-]*:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,80})$"
)

# The documented SP-API endpoints per selling region.
REGION_ENDPOINTS: dict[str, str] = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

# The documented marketplace ids per selling region (SP-API "Marketplace IDs").
MARKETPLACE_REGIONS: dict[str, str] = {
    # North America
    "ATVPDKIKX0DER": "na",  # United States
    "A2EUQ1WTGCTBG2": "na",  # Canada
    "A1AM78C64UM0Y8": "na",  # Mexico
    "A2Q3Y263D00KWC": "na",  # Brazil
    # Europe
    "A1PA6795UKMFR9": "eu",  # Germany
    "A1F83G8C2ARO7P": "eu",  # United Kingdom
    "A13V1IB3VIYZZH": "eu",  # France
    "APJ6JRA9NG5V4": "eu",  # Italy
    "A1RKKUPIHCS9HS": "eu",  # Spain
    "A1805IZSGTT6HS": "eu",  # Netherlands
    "AMEN7PMS3EDWL": "eu",  # Belgium
    "A2NODRKZP88ZB9": "eu",  # Sweden
    "A1C3SOZRARQ6R3": "eu",  # Poland
    "A28R8C7NBKEWEA": "eu",  # Ireland
    "A33AVAJ2PDY3EV": "eu",  # Turkey
    "AE08WJ6YKNBMC": "eu",  # South Africa
    "ARBP9OOSHTCHU": "eu",  # Egypt
    "A17E79C6D8DWNP": "eu",  # Saudi Arabia
    "A2VIGQ35RCS4UG": "eu",  # United Arab Emirates
    "A21TJRUUN4KGV": "eu",  # India
    # Far East
    "A1VC38T7YXB528": "fe",  # Japan
    "A39IBJ37TRP1C6": "fe",  # Australia
    "A19VAU5U5O7RUS": "fe",  # Singapore
}


def marketplace_problem(marketplace_id: str, region: str) -> str | None:
    """Why ``marketplace_id`` cannot be used in ``region``, or None."""
    found = MARKETPLACE_REGIONS.get(marketplace_id)
    if found is None:
        return f"{marketplace_id} is not an Amazon marketplace id (e.g. A1PA6795UKMFR9 for amazon.de)"
    if found != region:
        return f"marketplace {marketplace_id} belongs to region {found!r}, not {region!r}"
    return None


# Crossover between patchListingsItem and one JSON_LISTINGS_FEED. patchListingsItem allows 5 requests/s
# (burst 5), so 300 patches take about 60 s. A JSON_LISTINGS_FEED needs createFeedDocument, the upload,
# createFeed, then at least a minute of queueing and processing before its report can be read; below
# ~300 changes patching is as fast and answers per item at once, above it the feed wins and keeps the
# patch budget free. createFeed is scarce (1 per ~2 min, burst 15), another reason to keep feeds for bulk.
DEFAULT_FEED_THRESHOLD = 300


class AmazonNotifications(ConnectorSettings):
    """Amazon's Notifications API delivering ORDER_CHANGE and LISTINGS_ITEM_MFN_QUANTITY_CHANGE to an
    SQS queue of the merchant's AWS account, which the daemon consumes (boto3, long polling).

    The queue's access policy must let Amazon's notifications principal (account 437568002678) send
    to it (Amazon's "Setting up notifications" guide). AWS credentials to receive from it come from
    the environment (the AWS default chain) unless given here.
    """

    queue_arn: str = Field(pattern=SQS_ARN.pattern)
    """The SQS queue Amazon delivers to (``createDestination``), e.g.
    arn:aws:sqs:us-east-1:123456789012:omnisync-amazon."""
    queue_url: str | None = None
    """The queue's URL for receiving; by default the region's SQS endpoint, from the ARN."""
    endpoint_url: str | None = None
    """An SQS endpoint other than AWS's (a local SQS, moto in the tests and the demo)."""
    dead_letter_queue_url: str | None = None
    """Messages that cannot be parsed are moved here (None: left to the queue's redrive policy)."""
    destination_name: str = Field(default="omnisync", min_length=1, max_length=256)
    """Name given to the destination when omnisync creates it."""
    wait_time_s: int = Field(default=20, ge=1, le=20)
    """Long-polling wait of each ReceiveMessage."""
    visibility_timeout_s: int = Field(default=120, ge=30, le=43_200)
    """How long a received message stays hidden: longer than reading its order and importing it (a
    getOrder + getOrderItems on their budgets, one ledger transaction), so only a daemon that died or
    failed meanwhile sees it again."""
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None

    @property
    def region(self) -> str:
        found = SQS_ARN.match(self.queue_arn)
        assert found is not None  # the field's pattern
        return found["region"]

    @property
    def url(self) -> str:
        if self.queue_url:
            return self.queue_url
        found = SQS_ARN.match(self.queue_arn)
        assert found is not None
        return f"https://sqs.{found['region']}.amazonaws.com/{found['account']}/{found['name']}"


class AmazonSettings(ConnectorSettings):
    region: Literal["na", "eu", "fe"] = "na"
    """Selling region; picks the documented SP-API endpoint."""
    seller_id: str = Field(min_length=1)
    """Merchant token (Seller Central → Settings → Account info)."""
    marketplace_ids: tuple[str, ...] = Field(min_length=1)
    """Marketplaces to read orders from. The first is the primary one: listings, quantities and prices
    are read and written there."""
    client_id: str = Field(min_length=1)
    """LWA client identifier of the SP-API application."""
    client_secret: SecretStr
    refresh_token: SecretStr
    token_url: str = LWA_TOKEN_URL
    """LWA token endpoint."""
    endpoint: str | None = None
    """Overrides the region's SP-API endpoint (sandbox, emulator on loopback)."""
    feed_threshold: int = Field(default=DEFAULT_FEED_THRESHOLD, ge=1)
    """A push of more than this many items goes as one JSON_LISTINGS_FEED instead of patches."""
    feed_listings_from: int | None = Field(default=100, ge=2)
    """Listings in one push from which they go as JSON_LISTINGS_FEED messages (UPDATE for a new listing,
    PATCH of its content for an existing one) instead of one putListingsItem / patchListingsItem per
    SKU: 100 products of 3 variants are 400 calls at 5 a second, about as long as a feed takes. None:
    never."""
    feed_poll_interval_s: float = Field(default=20.0, gt=0)
    """Seconds between getFeed status polls while a feed is processed."""
    feed_timeout_s: float = Field(default=3600.0, gt=0)
    """Give up waiting for a feed after this long; its items are answered retry-later."""
    fulfillment_channel_code: str = "DEFAULT"
    """Merchant-fulfilled stock is written to this fulfillment channel (DEFAULT = seller fulfilled)."""
    preorder_lead_time_days: int = Field(default=14, ge=0, le=30)
    """Handling time (``lead_time_to_ship_max_days``) of units sold ahead of stock on order whose
    purchase order gives no expected date; with a date, the days until it (at most 30)."""
    orders_page_size: int = Field(default=100, ge=1, le=100)
    """MaxResultsPerPage for getOrders."""
    orders_lookback_days: int = Field(default=30, ge=1)
    """Window for the very first order pull, when the engine has no cursor yet."""
    issue_locale: str | None = None
    """Locale of the issue messages Amazon returns (e.g. en_US)."""
    fba_locations: dict[str, str] = Field(default_factory=dict)
    """Fulfillment by Amazon: ledger location (of kind ``fba``) -> the marketplace whose fulfilment
    centres it stands for. Its stock is read (getInventorySummaries), never pushed; AFN orders of that
    marketplace are imported as sales from it. Empty: FBA orders are left out."""
    notifications: AmazonNotifications | None = None
    """Order and quantity changes pushed through the Notifications API to an SQS queue (polling stays
    on as the safety net). None: orders arrive by polling getOrders only."""

    @model_validator(mode="after")
    def _marketplaces_in_region(self) -> AmazonSettings:
        for marketplace in self.marketplace_ids:
            problem = marketplace_problem(marketplace, self.region)
            if problem:
                raise ValueError(problem)
        for code, marketplace in self.fba_locations.items():
            if marketplace not in self.marketplace_ids:
                raise ValueError(f"fba_locations.{code}: {marketplace} is not one of marketplace_ids")
        if len(set(self.fba_locations.values())) < len(self.fba_locations):
            raise ValueError("fba_locations: one location per marketplace")
        return self

    def fba_location(self, marketplace: object) -> str | None:
        """The FBA location of a marketplace, if one is configured."""
        found = [code for code, mp in self.fba_locations.items() if mp == marketplace]
        return found[0] if found else None

    @property
    def base_url(self) -> str:
        return (self.endpoint or REGION_ENDPOINTS[self.region]).rstrip("/")

    @property
    def marketplace_id(self) -> str:
        return self.marketplace_ids[0]
