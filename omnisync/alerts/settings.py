"""Each notifier type's settings (``alerts.notifiers.<name>`` in the deployment YAML).

Secrets (``secret``, Slack's ``url``, ``password``) are ``SecretStr`` and must be written as
``${VAR}``: they are read from the environment when the notifier sends, and never logged.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from omnisync.config import AlertCondition, Duration, _Model


class Sender(_Model):
    """What every notifier type shares."""

    conditions: list[AlertCondition] | None = None
    """Only these conditions go to this notifier (default: every watched condition)."""
    timeout: Duration = Field(10.0, gt=0)
    """Seconds one attempt may take (connect, send, answer)."""
    retries: int = Field(3, ge=0, le=10)
    """Attempts after the first, on a temporary failure (network, timeout, 429, 5xx, SMTP 4xx)."""
    backoff: Duration = Field(1.0, ge=0)
    """Wait before the first retry; doubled each time (exponential backoff)."""
    max_per_message: int = Field(50, ge=1, le=1000)
    """Webhook: alerts carried by one message, more go in the next ones. Slack and email: alerts listed
    in the one message a flush sends, the rest counted."""


class WebhookSettings(Sender):
    """Signed JSON: the HMAC-SHA256 of the raw body with ``secret``, hex, in ``header`` as
    ``sha256=<hex>`` (the receiver recomputes it over the bytes it got and compares in constant time)."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://\S+$")
    secret: SecretStr
    header: str = Field("X-Omnisync-Signature", pattern=r"^[A-Za-z0-9-]{1,64}$")


class SlackSettings(Sender):
    """A Slack incoming webhook. Its URL is the credential: it comes from the environment."""

    type: Literal["slack"]
    url: SecretStr


class EmailSettings(Sender):
    """Mail through an SMTP server: plain, STARTTLS or implicit TLS; login only over TLS."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    sender: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")
    to: Annotated[list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]], Field(min_length=1)]
    starttls: bool = False
    ssl: bool = False
    """Implicit TLS from the first byte (port 465)."""
    username: str | None = None
    password: SecretStr | None = None
    subject_prefix: str = "[omnisync]"

    @model_validator(mode="after")
    def _tls_for_login(self) -> EmailSettings:
        if self.starttls and self.ssl:
            raise ValueError("choose one of starttls (port 587) and ssl (port 465)")
        if (self.username is None) != (self.password is None):
            raise ValueError("a login needs both username and password")
        if self.password is not None and not (self.starttls or self.ssl):
            raise ValueError("a login needs starttls or ssl: a password never crosses the network in clear")
        return self


NotifierSettings = WebhookSettings | SlackSettings | EmailSettings

_MODELS: dict[str, type[BaseModel]] = {
    "webhook": WebhookSettings,
    "slack": SlackSettings,
    "email": EmailSettings,
}


def notifier_model(kind: str) -> type[BaseModel]:
    return _MODELS[kind]


__all__ = [
    "EmailSettings",
    "NotifierSettings",
    "Sender",
    "SlackSettings",
    "WebhookSettings",
    "notifier_model",
]
