"""The one exception tree of omnisync, split by what the caller should do.

    OmnisyncError
     ├── ConfigurationError        fix the configuration; retrying will not help
     │    ├── CredentialsError     401/403, expired or revoked token, missing scope
     │    └── UnknownConnectorError  no connector registered under that name
     ├── ConnectorError            something went wrong talking to a channel
     │    ├── RetryableError       try again later (5xx, timeout, connection reset)
     │    │    └── ThrottledError  the channel asked us to slow down (carries retry_after)
     │    ├── ProtocolError        the answer was malformed; fail this page or item, not the daemon
     │    ├── ItemError            skip this item, keep the batch going (unknown id, bad value)
     │    └── FatalError           stop this channel until a human looks (e.g. account suspended)
     ├── UnsupportedOperation      the connector does not declare this capability
     └── WebhookVerificationError  signature missing or wrong; answer 401, do no work

Every exception carries the channel name when known and never the secret values or full URLs.
"""

from __future__ import annotations


class OmnisyncError(Exception):
    """Base of every error omnisync raises on purpose."""

    def __init__(self, message: str, *, channel: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.channel = channel

    def __str__(self) -> str:
        return f"[{self.channel}] {self.message}" if self.channel else self.message


class ConfigurationError(OmnisyncError):
    """A problem only a human can fix: configuration, credentials, mapping."""


class CredentialsError(ConfigurationError):
    """The channel refused our credentials (HTTP 401/403 or an equivalent answer)."""


class UnknownConnectorError(ConfigurationError, LookupError):
    """No connector is registered under the requested name."""


class ConnectorError(OmnisyncError):
    """A failure while talking to a channel."""


class RetryableError(ConnectorError):
    """Transient: the same call may succeed later."""

    def __init__(self, message: str, *, channel: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, channel=channel)
        self.retry_after = retry_after


class ThrottledError(RetryableError):
    """The channel signalled a rate limit (429, THROTTLED, error 80014, ...)."""


class ProtocolError(ConnectorError):
    """The channel answered something we cannot parse or that breaks its documented contract."""


class ItemError(ConnectorError):
    """A single item cannot be processed; the rest of the batch goes on."""


class FatalError(ConnectorError):
    """Stop working this channel until a human intervenes."""


class UnsupportedOperation(OmnisyncError, NotImplementedError):
    """The connector does not declare the capability behind this call."""


class WebhookVerificationError(OmnisyncError):
    """A webhook failed signature verification; it must be answered 401 and ignored."""


__all__ = [
    "ConfigurationError",
    "ConnectorError",
    "CredentialsError",
    "FatalError",
    "ItemError",
    "OmnisyncError",
    "ProtocolError",
    "RetryableError",
    "ThrottledError",
    "UnknownConnectorError",
    "UnsupportedOperation",
    "WebhookVerificationError",
]
