"""Shopify bulk mutations: one mutation run once per line of a JSONL file, processed by Shopify on its
own time and answered as a JSONL file.

``stagedUploadsCreate`` (``BULK_MUTATION_VARIABLES``) → POST the JSONL to the staged target (a
multipart form: the target's parameters, then the file; without the access token, which is for the
Admin API only) → ``bulkOperationRunMutation(mutation, stagedUploadPath)`` (the target's ``key``) →
``node(id:)`` every ``bulk_poll_interval_s`` on the injected clock until the operation ends → GET its
``url`` → each line's answer by its ``__lineNumber`` (the result lines come in any order).

Shopify runs one bulk mutation at a time per shop: an ``OPERATION_IN_PROGRESS`` answer waits for the
running one (``currentBulkOperation``) and asks once more. Bulk operations are not charged against the
cost bucket; only the few calls around them are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from omnisync.sdk import ConnectorContext, ProtocolError, error_for_status, op

from . import documents as docs
from .client import AdminGraphQL

FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})
TOKEN_HEADER = "X-Shopify-Access-Token"
JSONL = "text/jsonl"

Json = Mapping[str, Any]


@dataclass
class BulkOutcome:
    operation_id: str | None
    status: str
    """COMPLETED, FAILED, CANCELED, EXPIRED; TIMEOUT when still running at the deadline; REFUSED when
    Shopify would not start it."""
    answers: dict[int, Json] = field(default_factory=dict)
    """Input line number (0-based) -> that line's result (``data`` or ``errors``)."""
    reason: str | None = None
    """Why lines without an answer have none."""

    def missing(self) -> str:
        return self.reason or f"bulk operation {self.operation_id} ended {self.status} without this line"


def jsonl(lines: Sequence[Json]) -> bytes:
    """The variables file: one JSON object a line."""
    return b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)


def parse_results(raw: bytes, channel: str) -> dict[int, Json]:
    """A result file's lines by ``__lineNumber``."""
    answers: dict[int, Json] = {}
    for number, text in enumerate(raw.splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError as exc:
            raise ProtocolError(f"bulk result line {number} is not JSON", channel=channel) from exc
        index = line.get("__lineNumber") if isinstance(line, dict) else None
        if not isinstance(index, int):
            raise ProtocolError(f"bulk result line {number} has no __lineNumber", channel=channel)
        answers[index] = line
    return answers


class BulkRunner:
    def __init__(
        self,
        graphql: AdminGraphQL,
        http: httpx.AsyncClient,
        context: ConnectorContext,
        *,
        poll_interval_s: float,
        timeout_s: float,
        operation: str = "push_listings",
    ) -> None:
        self.graphql = graphql
        self.http = http
        self.context = context
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s
        self.operation = operation

    async def run(self, mutation: str, lines: Sequence[Json]) -> BulkOutcome:
        """Run ``mutation`` once per line of variables; the answers by line number."""
        path = await self._stage(jsonl(lines))
        started = await self._start(mutation, path)
        if isinstance(started, BulkOutcome):
            return started
        self.context.log.info("shopify.bulk_started", operation_id=started, lines=len(lines))
        outcome = await self._wait(started)
        self.context.log.info(
            "shopify.bulk_done", operation_id=started, status=outcome.status, answers=len(outcome.answers)
        )
        return outcome

    # -- staged upload -----------------------------------------------------------------------------
    async def _stage(self, content: bytes) -> str:
        answer = await self.graphql.execute(
            docs.STAGED_UPLOADS_CREATE,
            {
                "input": [
                    {
                        "resource": "BULK_MUTATION_VARIABLES",
                        "filename": "bulk_op_vars.jsonl",
                        "mimeType": JSONL,
                        "httpMethod": "POST",
                    }
                ]
            },
            operation=self.operation,
            estimate=docs.MUTATION_COST,
            name="stagedUploadsCreate",
        )
        payload = answer.data.get("stagedUploadsCreate") or {}
        errors = payload.get("userErrors") or []
        targets = payload.get("stagedTargets") or []
        if errors or not targets:
            detail = "; ".join(str(e.get("message")) for e in errors if isinstance(e, Mapping))
            raise ProtocolError(f"stagedUploadsCreate gave no target: {detail or 'empty'}", channel=self._ch)
        target = targets[0]
        params = {str(p["name"]): str(p["value"]) for p in target.get("parameters") or []}
        url, key = target.get("url"), params.get("key")
        if not isinstance(url, str) or not key:
            raise ProtocolError("stagedUploadsCreate target lacks its url or key", channel=self._ch)
        response = await self._send_bare(
            "POST", url, data=params, files={"file": ("bulk_op_vars.jsonl", content, JSONL)}
        )
        if not response.is_success:
            raise error_for_status(response, self._ch, "bulk variables upload")
        return key

    async def _send_bare(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A request to storage outside the Admin API: the shop's access token is not sent there."""
        request = self.http.build_request(method, url, extensions=op(self.operation), **kwargs)
        request.headers.pop(TOKEN_HEADER, None)
        return await self.http.send(request)

    # -- the operation -------------------------------------------------------------------------------
    async def _start(self, mutation: str, path: str) -> str | BulkOutcome:
        for attempt in range(2):
            answer = await self.graphql.execute(
                docs.BULK_RUN_MUTATION,
                {"mutation": mutation, "stagedUploadPath": path},
                operation=self.operation,
                estimate=docs.MUTATION_COST,
                name="bulkOperationRunMutation",
            )
            payload = answer.data.get("bulkOperationRunMutation") or {}
            errors = [e for e in payload.get("userErrors") or [] if isinstance(e, Mapping)]
            operation = payload.get("bulkOperation")
            if not errors and isinstance(operation, Mapping):
                return str(operation["id"])
            if attempt == 0 and any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
                running = await self._current()
                if running is not None:
                    await self._wait(running, read=False)
                continue
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or "no operation"
            return BulkOutcome(None, "REFUSED", reason=f"bulkOperationRunMutation refused: {detail}")
        return BulkOutcome(None, "REFUSED", reason="another bulk mutation is still running")

    async def _current(self) -> str | None:
        answer = await self.graphql.execute(
            docs.CURRENT_BULK_MUTATION,
            {},
            operation=self.operation,
            estimate=docs.BULK_POLL_COST,
            name="currentBulkOperation",
        )
        current = answer.data.get("currentBulkOperation")
        if isinstance(current, Mapping) and current.get("status") not in FINISHED:
            return str(current["id"])
        return None

    async def _wait(self, operation_id: str, *, read: bool = True) -> BulkOutcome:
        clock = self.context.clock
        deadline = clock.monotonic() + self.timeout_s
        while True:
            await clock.sleep(self.poll_interval_s)
            answer = await self.graphql.execute(
                docs.BULK_OPERATION,
                {"id": operation_id},
                operation=self.operation,
                estimate=docs.BULK_POLL_COST,
                name="bulkOperation",
            )
            node = answer.data.get("node")
            if not isinstance(node, Mapping):
                raise ProtocolError(f"bulk operation {operation_id} not found", channel=self._ch)
            status = str(node.get("status"))
            if status in FINISHED:
                return (
                    await self._outcome(operation_id, status, node)
                    if read
                    else BulkOutcome(operation_id, status)
                )
            if clock.monotonic() >= deadline:
                reason = f"bulk operation {operation_id} still {status.lower()}, check later"
                return BulkOutcome(operation_id, "TIMEOUT", reason=reason)

    async def _outcome(self, operation_id: str, status: str, node: Json) -> BulkOutcome:
        outcome = BulkOutcome(operation_id, status)
        url = node.get("url") or node.get("partialDataUrl")
        if isinstance(url, str):
            response = await self._send_bare("GET", url)
            if not response.is_success:
                raise error_for_status(response, self._ch, "bulk result download")
            outcome.answers = parse_results(response.content, self._ch)
        if status != "COMPLETED":
            code = node.get("errorCode")
            outcome.reason = f"bulk operation {operation_id} ended {status}" + (f" ({code})" if code else "")
            self.context.log.warning(
                "shopify.bulk_failed", operation_id=operation_id, status=status, code=code
            )
        return outcome

    @property
    def _ch(self) -> str:
        return self.context.channel
