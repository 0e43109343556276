"""The SDK's public surface is curated: adding or removing a name is a deliberate change."""

from datetime import UTC, datetime, timedelta

import pytest

import omnisync.sdk as sdk
from omnisync.sdk import errors, registry

EXPECTED = {
    "Capability", "CataloguePage", "ChannelListing", "ChannelProduct", "ChannelVariant", "ConfigurationError",
    "Connector", "ConnectorContext", "ConnectorError",
    "ConnectorSettings", "CredentialsError", "Decrements", "FatalError", "HttpOptions", "InventoryRef",
    "InventoryUpdate",
    "ItemError", "ItemResult", "ItemStatus", "Limits", "ListingContent", "ListingRef", "ListingResult",
    "ListingRules", "ListingVariant", "LocationStock", "NotificationQueue", "OmnisyncError",
    "Operation", "OperationLimits",
    "Order", "OrderCursor", "OrderLine", "OrderPage", "OrderStatus", "Preorder", "PriceUpdate",
    "ProtocolError",
    "RetryAdvice", "RetryableError", "ThrottledError", "UnknownConnectorError", "UnsupportedOperation",
    "WebhookEvent", "WebhookKind", "WebhookVerificationError", "check_operation", "chunked",
    "error_for_status", "idempotency_key", "in_flight", "json_body", "op", "paginate", "parse_retry_after",
    "raise_for_status", "HeaderAuth", "OAuth2RefreshToken", "api_key_header", "basic_auth", "bearer_token",
}  # fmt: skip


def test_exported_names() -> None:
    assert set(sdk.__all__) == EXPECTED
    assert all(hasattr(sdk, name) for name in sdk.__all__)


def test_exception_tree_is_split_by_what_to_do() -> None:
    assert issubclass(errors.CredentialsError, errors.ConfigurationError)
    assert issubclass(errors.ThrottledError, errors.RetryableError)
    assert not issubclass(errors.ItemError, errors.RetryableError)
    assert str(errors.ItemError("bad id", channel="web")) == "[web] bad id"


def test_idempotency_key_is_stable_per_channel_sku_version() -> None:
    a = sdk.idempotency_key("web", "MUG", 3)
    assert a == sdk.idempotency_key("web", "MUG", 3)
    assert a != sdk.idempotency_key("web", "MUG", 4)
    assert a != sdk.idempotency_key("pos", "MUG", 3)
    # a push made after the channel acknowledged another is new, even at the same version
    acked = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    after = sdk.idempotency_key("web", "MUG", 3, after=acked)
    assert after not in (a, sdk.idempotency_key("web", "MUG", 3, after=acked + timedelta(seconds=1)))
    assert after == sdk.idempotency_key("web", "MUG", 3, after=acked)
    assert len(a) <= 64


def test_unknown_connector_names_the_known_ones() -> None:
    with pytest.raises(sdk.UnknownConnectorError, match=r"'nope'.*fake"):
        registry.load_connector("nope")


def test_decrements_is_checked_where_the_connector_class_is_declared() -> None:
    class Written(sdk.Connector):
        name = "written"
        decrements = "on_fulfilment"  # type: ignore[assignment]  # YAML-like spelling still accepted

    assert Written.decrements is sdk.Decrements.ON_FULFILMENT
    assert sdk.Connector.decrements is sdk.Decrements.NEVER

    with pytest.raises(
        TypeError, match=r"Typo\.decrements is 'on-order'; it must be one of: never, on_order"
    ):

        class Typo(sdk.Connector):
            name = "typo"
            decrements = "on-order"  # type: ignore[assignment]
