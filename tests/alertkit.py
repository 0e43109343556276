"""Real receivers on loopback for the alert tests: an HTTP receiver (starlette served by uvicorn) that
verifies the webhook's HMAC as a merchant's endpoint would, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from omnisync.daemon.service import QuietServer

HOOK_SECRET = "hook-secret-for-tests"


@dataclass
class Receiver:
    """POST /hook (signed JSON, verified here) and POST /slack (Slack's incoming webhook)."""

    secret: bytes = HOOK_SECRET.encode()
    script: list[int] = field(default_factory=list)
    """Statuses to answer first, one per request (then 200)."""
    hooks: list[dict[str, Any]] = field(default_factory=list)
    """The verified webhook bodies, in order."""
    slack: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    """Requests whose signature did not verify (answered 401)."""
    requests: int = 0
    port: int = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hook", self._hook, methods=["POST"]),
                Route("/slack", self._slack, methods=["POST"]),
            ]
        )

    def _scripted(self) -> Response | None:
        self.requests += 1
        if self.script:
            status = self.script.pop(0)
            if status != 200:
                return PlainTextResponse("try later", status_code=status)
        return None

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        given = request.headers.get("x-omnisync-signature", "")
        wanted = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, wanted):
            self.refused += 1
            return PlainTextResponse("bad signature", status_code=401)
        scripted = self._scripted()
        if scripted is not None:
            return scripted
        payload = json.loads(body)
        assert payload["delivery"] == request.headers["x-omnisync-delivery"]
        self.hooks.append(payload)
        return JSONResponse({"ok": True})

    async def _slack(self, request: Request) -> Response:
        scripted = self._scripted()
        if scripted is not None:
            return scripted
        self.slack.append(json.loads(await request.body()))
        return PlainTextResponse("ok")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert of every verified webhook, in order."""
        return [a for body in self.hooks for a in body["alerts"]]


@contextlib.asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[Receiver]:
    """The receiver on a loopback port of this event loop, for the duration of the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    receiver.port = int(sock.getsockname()[1])
    server = QuietServer(uvicorn.Config(receiver.app(), log_config=None, access_log=False, lifespan="off"))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    await asyncio.wait_for(server.ready.wait(), 10)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Mailbox:
    """What the SMTP server received: (envelope sender, recipients, parsed message)."""

    mails: list[tuple[str, list[str], Message]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.mails.append(
            (str(envelope.mail_from), list(envelope.rcpt_tos), message_from_bytes(raw, policy=policy.default))
        )
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]).strip() for _, _, m in self.mails]

    def bodies(self) -> list[str]:
        return [m.get_payload(decode=True).decode() for _, _, m in self.mails]  # type: ignore[union-attr]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def smtp_server(mailbox: Mailbox, **options: Any) -> Iterator[Controller]:
    """aiosmtpd on a loopback port (its own thread), for the duration of the block."""
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


class PasswordCheck:
    """aiosmtpd authenticator: one user, one password; remembers who logged in."""

    def __init__(self, mailbox: Mailbox, user: str, password: str) -> None:
        self.mailbox, self.user, self.password = mailbox, user, password

    def __call__(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        if ok:
            self.mailbox.logins.append(self.user)
        return AuthResult(success=ok, handled=False)
