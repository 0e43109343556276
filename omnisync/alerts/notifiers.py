"""The notifiers: a signed JSON webhook, a Slack incoming webhook, email through SMTP.

Each sends one message and either returns or raises :class:`SendError`, which says whether the
failure is temporary (network, timeout, HTTP 408/429/5xx, SMTP 4xx: retried with exponential backoff
through tenacity on the injected clock) or not (any other HTTP 4xx, SMTP 5xx, a refused login:
reported, then tried again only at the next evaluation). Error texts never carry a secret: the
secrets are registered with the log redaction when a notifier is built, and URLs are logged without
their path's token (Slack's URL is the credential).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import httpx
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from omnisync.clock import Clock
from omnisync.logging import redact_text, register_secret

from .messages import email_message, slack_payload, webhook_payload
from .settings import EmailSettings, NotifierSettings, Sender, SlackSettings, WebhookSettings
from .state import Notice

log = structlog.get_logger("omnisync.alerts")

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class SendError(Exception):
    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(redact_text(message))
        self.temporary = temporary


class Notifier(Protocol):
    name: str
    summarises: bool
    """Read by a person: one message per flush, listing ``max_per_message`` alerts and counting the
    rest (a webhook, read by a machine, gets every alert, ``max_per_message`` to a message)."""

    @property
    def settings(self) -> Sender: ...

    async def send(self, notices: Sequence[Notice], now: datetime) -> None: ...

    async def aclose(self) -> None: ...


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class _HttpNotifier:
    summarises = False

    def __init__(self, name: str, timeout: float, transport: httpx.AsyncBaseTransport | None) -> None:
        self.name = name
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            answer = await self._client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:  # connect refused, reset, timeouts
            raise SendError(f"{type(exc).__name__}", temporary=True) from None
        if answer.is_success:
            return
        reason = answer.text[:200].strip()
        raise SendError(
            f"HTTP {answer.status_code}{': ' + reason if reason else ''}",
            temporary=answer.status_code in RETRY_STATUSES,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


class WebhookNotifier(_HttpNotifier):
    """POST the alerts as JSON, signed: ``<header>: sha256=<hex HMAC of the body>``; each message has a
    delivery id (``X-Omnisync-Delivery``, also in the body) a receiver may deduplicate on."""

    def __init__(
        self, name: str, settings: WebhookSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(name, settings.timeout, transport)
        self.settings = settings
        register_secret(settings.secret.get_secret_value())

    async def send(self, notices: Sequence[Notice], now: datetime) -> None:
        delivery = uuid.uuid4().hex
        body = json.dumps(webhook_payload(notices, delivery, now), separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "user-agent": "omnisync-alerts",
            "x-omnisync-delivery": delivery,
            self.settings.header: sign(self.settings.secret.get_secret_value().encode(), body),
        }
        await self._post(self.settings.url, body, headers)


class SlackNotifier(_HttpNotifier):
    """Slack's incoming webhook: a JSON ``text``; Slack answers 200 ``ok``, 4xx with a reason
    (``invalid_token``, ``no_service``: fix the URL) or 429 (retried)."""

    summarises = True

    def __init__(
        self, name: str, settings: SlackSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(name, settings.timeout, transport)
        self.settings = settings
        register_secret(settings.url.get_secret_value())

    async def send(self, notices: Sequence[Notice], now: datetime) -> None:
        body = json.dumps(slack_payload(notices, self.settings.max_per_message)).encode()
        await self._post(self.settings.url.get_secret_value(), body, {"content-type": "application/json"})


class EmailNotifier:
    """One mail per message through the SMTP server (stdlib ``smtplib`` on a worker thread)."""

    summarises = True

    def __init__(self, name: str, settings: EmailSettings, tls: ssl.SSLContext | None = None) -> None:
        self.name = name
        self.settings = settings
        self.tls = tls or ssl.create_default_context()
        if settings.password is not None:
            register_secret(settings.password.get_secret_value())

    async def send(self, notices: Sequence[Notice], now: datetime) -> None:
        s = self.settings
        msg = email_message(notices, s.sender, s.to, s.subject_prefix, now, s.max_per_message)
        await asyncio.to_thread(self._deliver, msg)

    def _deliver(self, msg: object) -> None:
        s = self.settings
        try:
            smtp: smtplib.SMTP = (
                smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.tls)
                if s.ssl
                else smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            )
            with smtp:
                if s.starttls:
                    smtp.starttls(context=self.tls)
                if s.username is not None and s.password is not None:
                    smtp.login(s.username, s.password.get_secret_value())
                smtp.send_message(msg)  # type: ignore[arg-type]
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendError(
                f"recipients refused: {codes}", temporary=all(400 <= c < 500 for c in codes)
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(
                f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}", temporary=400 <= exc.smtp_code < 500
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise SendError(f"TLS certificate refused: {exc.verify_message}", temporary=False) from None
        except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, timed out
            raise SendError(f"{type(exc).__name__}: {exc}", temporary=True) from None

    async def aclose(self) -> None:
        return None


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def build(name: str, settings: NotifierSettings) -> Notifier:
    if isinstance(settings, WebhookSettings):
        return WebhookNotifier(name, settings)
    if isinstance(settings, SlackSettings):
        return SlackNotifier(name, settings)
    return EmailNotifier(name, settings)


async def send_with_retries(notifier: Notifier, notices: Sequence[Notice], clock: Clock) -> None:
    """Send once, and again on a temporary failure: ``retries`` more times, waiting ``backoff``,
    then twice that, ... (on the clock, so tests never sleep). The last error is raised."""
    s = notifier.settings

    def wait(state: RetryCallState) -> float:
        return float(s.backoff * 2 ** (state.attempt_number - 1))

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "alerts.send_retry",
            notifier=notifier.name,
            attempt=state.attempt_number,
            wait_s=wait(state),
            error=str(exc),
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(s.retries + 1),
        wait=wait,
        retry=retry_if_exception(lambda e: isinstance(e, SendError) and e.temporary),
        sleep=clock.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            await notifier.send(notices, clock.now())


__all__ = [
    "EmailNotifier",
    "Notifier",
    "SendError",
    "SlackNotifier",
    "WebhookNotifier",
    "build",
    "send_with_retries",
    "sign",
]
