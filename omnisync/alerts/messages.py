"""What a message says: the webhook's JSON, Slack's text, the email. Pure (no I/O).

One message carries every alert a notifier is owed at that moment, each either ``firing`` (raised) or
``resolved`` (cleared). A webhook carries at most ``max_per_message`` (more go in the next ones: a
machine reads them all); Slack and email, read by a person, list the first ``max_per_message`` and
count the rest, so a first start over a catalogue with thousands of SKUs out of stock is one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from .state import Notice, Status


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds")


def notice_json(n: Notice) -> dict[str, Any]:
    r = n.record
    return {
        "key": r.key,
        "condition": r.kind.value,
        "status": n.status.value,
        "channel": r.channel,
        "sku": r.sku,
        "summary": n.summary,
        "episode": r.episode,
        "since": _iso(r.since if n.status is Status.FIRING else r.raised_at),
        "raised_at": _iso(r.raised_at),
        "resolved_at": _iso(r.resolved_at) if n.status is Status.RESOLVED else None,
        "facts": dict(r.facts),
    }


def webhook_payload(notices: Sequence[Notice], delivery: str, now: datetime) -> dict[str, Any]:
    return {
        "source": "omnisync",
        "delivery": delivery,
        "sent_at": _iso(now),
        "alerts": [notice_json(n) for n in notices],
    }


def headline(notices: Sequence[Notice]) -> str:
    if len(notices) == 1:
        n = notices[0]
        return ("RESOLVED: " if n.status is Status.RESOLVED else "ALERT: ") + n.summary
    raised = sum(1 for n in notices if n.status is Status.FIRING)
    cleared = len(notices) - raised
    parts = [f"{raised} raised"] if raised else []
    parts += [f"{cleared} cleared"] if cleared else []
    return f"{len(notices)} alerts ({', '.join(parts)})"


def line(n: Notice) -> str:
    return f"{'RESOLVED' if n.status is Status.RESOLVED else 'ALERT'} [{n.record.kind.value}] {n.summary}"


def lines(notices: Sequence[Notice], limit: int | None = None) -> list[str]:
    """A line per alert, the first ``limit`` of them and a count of the rest."""
    shown = notices if limit is None else notices[:limit]
    out = [line(n) for n in shown]
    if len(notices) > len(shown):
        out.append(f"... and {len(notices) - len(shown)} more (the daemon's /status lists the alerts firing)")
    return out


def slack_payload(notices: Sequence[Notice], limit: int | None = None) -> dict[str, Any]:
    """Slack's incoming-webhook body: ``text`` (mrkdwn), shown in the notification and the channel."""
    shown = notices if limit is None else notices[:limit]
    icon = {Status.RESOLVED: ":white_check_mark:", Status.FIRING: ":rotating_light:"}
    bullets = [f"{icon[n.status]} {_slack_escape(line(n))}" for n in shown]
    bullets += [_slack_escape(t) for t in lines(notices, limit)[len(shown) :]]
    return {"text": f"*omnisync: {_slack_escape(headline(notices))}*\n" + "\n".join(bullets)}


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def email_message(
    notices: Sequence[Notice],
    sender: str,
    to: Sequence[str],
    prefix: str,
    now: datetime,
    limit: int | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"{prefix} {headline(notices)}".strip()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    body = [*lines(notices, limit), ""]
    for n in notices if limit is None else notices[:limit]:
        facts = ", ".join(f"{k}: {v}" for k, v in n.record.facts.items())
        body.append(f"- {n.record.key}: episode {n.record.episode}{'; ' + facts if facts else ''}")
    body += ["", f"sent by omnisync at {_iso(now)}"]
    msg.set_content("\n".join(body))
    return msg


__all__ = ["email_message", "headline", "lines", "notice_json", "slack_payload", "webhook_payload"]
