"""Each notifier against a real receiver on loopback: the signed webhook (its HMAC verified by the
receiver), Slack's incoming webhook, email through a real SMTP server (plain, and STARTTLS + login).
Retries wait on the virtual clock: no test sleeps."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import pytest
import trustme
from alertkit import HOOK_SECRET, Mailbox, PasswordCheck, Receiver, free_port, serving, smtp_server
from pydantic import SecretStr

from omnisync.alerts.conditions import Kind
from omnisync.alerts.notifiers import (
    EmailNotifier,
    SendError,
    SlackNotifier,
    WebhookNotifier,
    send_with_retries,
    sign,
)
from omnisync.alerts.settings import EmailSettings, SlackSettings, WebhookSettings
from omnisync.alerts.state import AlertRecord, Notice, Status
from omnisync.clock import VirtualClock

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def notices() -> list[Notice]:
    failing = AlertRecord(
        "channel_failing:amazon",
        Kind.CHANNEL_FAILING,
        "amazon",
        None,
        Status.FIRING,
        since=T0,
        episode=1,
        summary="amazon is failing: no order pull has succeeded since the last error",
        raised_at=T0,
    )
    mug = AlertRecord(
        "oversold:MUG",
        Kind.OVERSOLD,
        None,
        "MUG",
        Status.RESOLVED,
        episode=2,
        summary="MUG is oversold by 1 unit(s)",
        facts={"units": 1},
        raised_at=T0,
        resolved_at=T0,
    )
    return [Notice(failing, Status.FIRING), Notice(mug, Status.RESOLVED)]


def hook_settings(url: str, secret: str = HOOK_SECRET, **kw: object) -> WebhookSettings:
    return WebhookSettings(type="webhook", url=url, secret=SecretStr(secret), **kw)  # type: ignore[arg-type]


async def test_the_webhook_is_signed_and_the_receiver_verifies_it() -> None:
    clock = VirtualClock(T0)
    async with serving(Receiver()) as rx:
        hook = WebhookNotifier("ops", hook_settings(rx.url("/hook")))
        await send_with_retries(hook, notices(), clock)
        await hook.aclose()
    assert rx.refused == 0
    assert len(rx.hooks) == 1
    body = rx.hooks[0]
    assert body["source"] == "omnisync"
    assert [(a["key"], a["status"]) for a in body["alerts"]] == [
        ("channel_failing:amazon", "firing"),
        ("oversold:MUG", "resolved"),
    ]
    assert body["alerts"][1]["summary"] == "MUG is no longer oversold"
    assert body["alerts"][0]["channel"] == "amazon"
    assert body["alerts"][0]["episode"] == 1


def test_the_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    # RFC 4231 test case 2 (HMAC-SHA-256)
    assert sign(b"Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


async def test_a_wrong_secret_is_refused_and_not_retried() -> None:
    clock = VirtualClock(T0)
    async with serving(Receiver()) as rx:
        hook = WebhookNotifier("ops", hook_settings(rx.url("/hook"), secret="not-the-one"))
        with pytest.raises(SendError) as info:
            await send_with_retries(hook, notices(), clock)
        await hook.aclose()
    assert not info.value.temporary
    assert rx.refused == 1, "a 401 is a configuration problem: one try"
    assert clock.monotonic() == 0


async def test_5xx_is_retried_with_exponential_backoff_on_the_clock() -> None:
    clock = VirtualClock(T0)
    async with serving(Receiver(script=[503, 500])) as rx:
        hook = WebhookNotifier("ops", hook_settings(rx.url("/hook"), backoff="2s"))
        await send_with_retries(hook, notices(), clock)
        await hook.aclose()
    assert rx.requests == 3
    assert len(rx.hooks) == 1
    assert clock.monotonic() == 2 + 4, "waited 2 s, then 4 s (virtual)"


async def test_retries_stop_after_the_configured_number_and_the_error_names_no_secret() -> None:
    clock = VirtualClock(T0)
    async with serving(Receiver(script=[502] * 10)) as rx:
        hook = WebhookNotifier("ops", hook_settings(rx.url("/hook"), retries=2))
        with pytest.raises(SendError) as info:
            await send_with_retries(hook, notices(), clock)
        await hook.aclose()
    assert rx.requests == 3
    assert info.value.temporary
    assert "HTTP 502" in str(info.value)
    assert HOOK_SECRET not in str(info.value)


async def test_an_unreachable_receiver_is_a_temporary_failure() -> None:
    clock = VirtualClock(T0)
    hook = WebhookNotifier("ops", hook_settings(f"http://127.0.0.1:{free_port()}/hook", retries=1))
    with pytest.raises(SendError) as info:
        await send_with_retries(hook, notices(), clock)
    await hook.aclose()
    assert info.value.temporary
    assert "ConnectError" in str(info.value)


async def test_slack_gets_one_text_and_a_429_is_retried() -> None:
    clock = VirtualClock(T0)
    async with serving(Receiver(script=[429])) as rx:
        slack = SlackNotifier("team", SlackSettings(type="slack", url=SecretStr(rx.url("/slack"))))
        await send_with_retries(slack, notices(), clock)
        await slack.aclose()
    assert len(rx.slack) == 1
    text = rx.slack[0]["text"]
    assert text.startswith("*omnisync: 2 alerts (1 raised, 1 cleared)*")
    assert ":rotating_light: ALERT [channel_failing] amazon is failing" in text
    assert ":white_check_mark: RESOLVED [oversold] MUG is no longer oversold" in text


def mail_settings(port: int, **kw: object) -> EmailSettings:
    return EmailSettings.model_validate(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "from": "omnisync@shop.example",
            "to": ["ops@shop.example"],
            **kw,
        }
    )


async def test_email_reaches_a_real_smtp_server() -> None:
    clock = VirtualClock(T0)
    box = Mailbox()
    with smtp_server(box) as server:
        mail = EmailNotifier("mail", mail_settings(server.port))
        await send_with_retries(mail, notices()[:1], clock)
    assert len(box.mails) == 1
    sender, rcpt, msg = box.mails[0]
    assert (sender, rcpt) == ("omnisync@shop.example", ["ops@shop.example"])
    assert (
        msg["Subject"]
        == "[omnisync] ALERT: amazon is failing: no order pull has succeeded since the last error"
    )
    assert "ALERT [channel_failing] amazon is failing" in box.bodies()[0]


async def test_email_over_starttls_with_a_login() -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    box = Mailbox()
    auth = PasswordCheck(box, "omnisync", "smtp-pass-123")
    with smtp_server(
        box, tls_context=server_tls, require_starttls=True, authenticator=auth, auth_require_tls=True
    ) as server:
        settings = mail_settings(server.port, starttls=True, username="omnisync", password="smtp-pass-123")
        mail = EmailNotifier("mail", settings, tls=client_tls)
        await send_with_retries(mail, notices(), VirtualClock(T0))
        wrong = EmailNotifier(
            "mail",
            mail_settings(server.port, starttls=True, username="omnisync", password="nope-nope"),
            tls=client_tls,
        )
        with pytest.raises(SendError) as info:
            await send_with_retries(wrong, notices(), VirtualClock(T0))
    assert box.logins == ["omnisync"]
    assert len(box.mails) == 1
    assert box.mails[0][2]["Subject"] == "[omnisync] 2 alerts (1 raised, 1 cleared)"
    assert not info.value.temporary, "a refused login (535) is not retried"
    assert "nope-nope" not in str(info.value)


async def test_an_smtp_server_that_is_down_is_a_temporary_failure() -> None:
    clock = VirtualClock(T0)
    mail = EmailNotifier("mail", mail_settings(free_port(), retries=2, backoff="5s"))
    with pytest.raises(SendError) as info:
        await send_with_retries(mail, notices(), clock)
    assert info.value.temporary
    assert clock.monotonic() == 5 + 10
