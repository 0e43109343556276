"""The usage plans of the SP-API operations this connector calls, as documented in the models.

Each operation gets its own token bucket (``op("patchListingsItem")`` etc.), seeded from these figures
and corrected from the ``x-amzn-RateLimit-Limit`` header of every answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnisync.http.budget import RateBudgets


@dataclass(frozen=True, slots=True)
class UsagePlan:
    rate: float
    """Requests per second."""
    burst: int


# Figures from the "Usage Plan" tables in listingsItems_2021-08-01.json, feeds_2021-06-30.json,
# definitionsProductTypes_2020-09-01.json, ordersV0.json, fbaInventory.json and the Notifications API v1
# model.
USAGE_PLANS: dict[str, UsagePlan] = {
    "getListingsItem": UsagePlan(5.0, 10),
    "searchListingsItems": UsagePlan(5.0, 5),
    "patchListingsItem": UsagePlan(5.0, 5),
    "putListingsItem": UsagePlan(5.0, 10),
    "getDefinitionsProductType": UsagePlan(5.0, 10),
    "createFeedDocument": UsagePlan(0.5, 15),
    "createFeed": UsagePlan(0.0083, 15),
    "getFeed": UsagePlan(2.0, 15),
    "getFeedDocument": UsagePlan(0.0222, 10),
    "getOrders": UsagePlan(0.0167, 20),
    "getOrderItems": UsagePlan(0.5, 30),
    "getOrder": UsagePlan(0.5, 30),
    "getInventorySummaries": UsagePlan(2.0, 2),
    "getDestinations": UsagePlan(1.0, 5),
    "createDestination": UsagePlan(1.0, 5),
    "getSubscription": UsagePlan(1.0, 5),
    "createSubscription": UsagePlan(1.0, 5),
}

# Calls that are not SP-API operations (no usage plan): the LWA token endpoint and the presigned
# feed-document transfers. They get their own buckets so they never eat an operation's budget.
TOKEN_OPERATION = "lwaToken"
UPLOAD_OPERATION = "feedDocumentUpload"
DOWNLOAD_OPERATION = "feedDocumentDownload"
OTHER_PLANS: dict[str, UsagePlan] = {
    TOKEN_OPERATION: UsagePlan(1.0, 5),
    UPLOAD_OPERATION: UsagePlan(10.0, 10),
    DOWNLOAD_OPERATION: UsagePlan(10.0, 10),
}

RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"


def parse_rate_limit(value: str | None) -> float | None:
    """Requests per second from an ``x-amzn-RateLimit-Limit`` header (None if absent or garbled)."""
    if not value:
        return None
    try:
        rate = float(value.strip())
    except ValueError:
        return None
    return rate if rate > 0 else None


def throttle_wait(header: str | None) -> float:
    """Advised wait after a 429 QuotaExceeded: one token's worth at the rate the header gives, else 0
    (the emptied bucket of the operation then paces the retry at its own rate)."""
    rate = parse_rate_limit(header)
    return 1.0 / rate if rate else 0.0


def seed_budgets(budgets: RateBudgets) -> None:
    """One bucket per operation, at its documented usage plan."""
    for operation, plan in {**USAGE_PLANS, **OTHER_PLANS}.items():
        budgets.adjust(operation, rate=plan.rate, burst=plan.burst)
