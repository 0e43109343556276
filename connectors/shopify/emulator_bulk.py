"""Bulk mutations in the Shopify emulator, as the 2026-04 Admin API documents them.

``stagedUploadsCreate`` reserves a signed upload target (``BULK_MUTATION_VARIABLES``: a POST form
whose ``key`` is the later ``stagedUploadPath``); the form upload lands on the emulator's own origin
(``/shopify-staged-uploads/``, standing in for Shopify's storage bucket, which refuses an unsigned or
expired form and an Admin API access token). ``bulkOperationRunMutation`` checks the mutation (one
mutation field, valid against the schema, not itself a bulk operation) and the file (found, JSONL of
objects), refuses a second one while one runs (``OPERATION_IN_PROGRESS``), then runs the mutation once
per line on the clock: CREATED, RUNNING after ``queue_s``, one line every ``per_line_s``, then
COMPLETED with a signed ``url`` to the result JSONL (``{"data": ..., "__lineNumber": n}`` per line).
Bulk lines are not charged against the cost bucket. ``fail_next`` makes the next operation stop half
way FAILED (``INTERNAL_SERVER_ERROR``) with its partial results at ``partialDataUrl``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
    validate,
)

from omnisync.clock import Clock

from .emulator_graphql import iso, subset_schema

UPLOAD_PATH = "/shopify-staged-uploads/"
RESULTS_PATH = "/shopify-bulk-results/"
FORBIDDEN = frozenset({"bulkOperationRunMutation", "bulkOperationRunQuery"})
Json = dict[str, Any]
Execute = Callable[[DocumentNode, Json], Json]


@dataclass
class StagedFile:
    key: str
    expires: datetime
    content: bytes | None = None


@dataclass
class BulkOp:
    gid: str
    query: str
    document: DocumentNode
    lines: list[Json]
    created: datetime
    start_s: float
    per_line_s: float
    fail_at: int | None = None
    results: list[bytes] = field(default_factory=list)
    status: str = "CREATED"
    error_code: str | None = None
    completed: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")


class BulkOperations:
    def __init__(
        self, clock: Clock, execute: Execute, *, queue_s: float = 1.0, per_line_s: float = 0.02
    ) -> None:
        self.clock = clock
        self.execute = execute
        self.queue_s = queue_s
        self.per_line_s = per_line_s
        self.origin = "https://omnisync-emulator.myshopify.com"
        """Where the staged uploads and results are served (the origin the last request came to)."""
        self.files: dict[str, StagedFile] = {}
        self.operations: dict[str, BulkOp] = {}
        self.fail_next = 0
        self.uploads = 0
        self.downloads = 0
        self._secret = secrets.token_bytes(16)
        self._numbers = iter(range(1, 1 << 62))

    # -- staged uploads ----------------------------------------------------------------------------
    def staged_uploads(self, _info: Any, input: list[Json]) -> Json:
        targets, errors = [], []
        for n, wanted in enumerate(input):
            if wanted["resource"] != "BULK_MUTATION_VARIABLES":
                errors.append(
                    {"field": ["input", str(n), "resource"], "message": "the emulator stages bulk files only"}
                )
                continue
            key = f"tmp/1/bulk/{uuid.uuid4()}/{wanted['filename']}"
            expires = self.clock.now() + timedelta(hours=1)
            self.files[key] = StagedFile(key, expires)
            stamp = expires.strftime("%Y%m%dT%H%M%SZ")
            policy = base64.b64encode(
                json.dumps({"expiration": iso(expires), "conditions": [{"key": key}]}).encode()
            ).decode()
            parameters = {
                "Content-Type": wanted["mimeType"],
                "success_action_status": "201",
                "acl": "private",
                "key": key,
                "x-goog-date": stamp,
                "x-goog-credential": "emulator/storage/goog4_request",
                "x-goog-algorithm": "GOOG4-HMAC-SHA256",
                "x-goog-signature": self._sign(key, stamp),
                "policy": policy,
            }
            targets.append(
                {
                    "url": f"{self.origin}{UPLOAD_PATH}",
                    "resourceUrl": None,
                    "parameters": [{"name": k, "value": v} for k, v in parameters.items()],
                }
            )
        return {"stagedTargets": targets, "userErrors": errors}

    def receive(self, form: dict[str, Any], content: bytes | None, token_sent: bool) -> tuple[int, str]:
        """The storage bucket's answer to a form upload: status and XML body."""
        if token_sent:
            return 400, _xml_error("InvalidArgument", "An Admin API access token was sent to storage.")
        key = str(form.get("key") or "")
        staged = self.files.get(key)
        stamp = str(form.get("x-goog-date") or "")
        if staged is None or not hmac.compare_digest(
            self._sign(key, stamp), str(form.get("x-goog-signature"))
        ):
            return 403, _xml_error("AccessDenied", "The form's signature does not match its key.")
        if self.clock.now() > staged.expires:
            return 400, _xml_error("ExpiredToken", "The policy has expired.")
        if content is None:
            return 400, _xml_error("InvalidArgument", "The form has no file field.")
        staged.content = content
        self.uploads += 1
        return 201, (
            f"<?xml version='1.0' encoding='UTF-8'?><PostResponse><Bucket>shopify-staged-uploads</Bucket>"
            f'<Key>{key}</Key><ETag>"{hashlib.md5(content).hexdigest()}"</ETag></PostResponse>'  # noqa: S324 - an ETag
        )

    # -- operations ------------------------------------------------------------------------------------
    def run_mutation(self, _info: Any, mutation: str, stagedUploadPath: str, **_: Any) -> Json:
        self.advance()
        running = next((op for op in self.operations.values() if not op.finished), None)
        if running is not None:
            return _refused(
                "OPERATION_IN_PROGRESS",
                None,
                f"A bulk mutation operation for this app and shop is already in progress: {running.gid}.",
            )
        document, problem = _check_mutation(mutation)
        if document is None:
            return _refused("INVALID_MUTATION", ["mutation"], problem)
        staged = self.files.get(stagedUploadPath)
        if staged is None or staged.content is None:
            return _refused("NO_SUCH_FILE", ["stagedUploadPath"], "The JSONL file could not be found.")
        lines = _jsonl(staged.content)
        if lines is None:
            return _refused(
                "INVALID_STAGED_UPLOAD_FILE",
                ["stagedUploadPath"],
                "Unexpected file structure - expected JSONL",
            )
        now = self.clock.now()
        op = BulkOp(
            gid=f"gid://shopify/BulkOperation/{next(self._numbers)}",
            query=mutation,
            document=document,
            lines=lines,
            created=now,
            start_s=self.clock.monotonic() + self.queue_s,
            per_line_s=self.per_line_s,
        )
        if self.fail_next:
            self.fail_next -= 1
            op.fail_at = len(lines) // 2
        self.operations[op.gid] = op
        return {"bulkOperation": self.view(op), "userErrors": []}

    def advance(self) -> None:
        """Run the lines whose time has come; finish operations whose lines are all done."""
        now_s = self.clock.monotonic()
        for op in self.operations.values():
            if op.finished or now_s < op.start_s:
                continue
            status = "RUNNING"
            due = len(op.lines)
            if op.per_line_s:
                due = min(due, int((now_s - op.start_s) / op.per_line_s))
            while len(op.results) < due:
                if op.fail_at is not None and len(op.results) >= op.fail_at:
                    status, op.error_code = "FAILED", "INTERNAL_SERVER_ERROR"
                    break
                n = len(op.results)
                answer = self.execute(op.document, op.lines[n])
                op.results.append(json.dumps({**answer, "__lineNumber": n}, separators=(",", ":")).encode())
            if status == "RUNNING" and len(op.results) == len(op.lines):
                status = "COMPLETED"
            op.status = status
            if status != "RUNNING":
                op.completed = self.clock.now()

    def view(self, op: BulkOp) -> Json:
        content = b"\n".join(op.results) + b"\n" if op.results else b""
        url = self._result_url(op) if op.status == "COMPLETED" and op.results else None
        partial = self._result_url(op) if op.status == "FAILED" and op.results else None
        return {
            "__typename": "BulkOperation",
            "id": op.gid,
            "status": op.status,
            "type": "MUTATION",
            "errorCode": op.error_code,
            "createdAt": iso(op.created),
            "completedAt": iso(op.completed) if op.completed else None,
            "objectCount": str(len(op.results)),
            "rootObjectCount": str(len(op.results)),
            "fileSize": str(len(content)) if op.finished and op.results else None,
            "query": op.query,
            "url": url,
            "partialDataUrl": partial,
        }

    def node(self, gid: str) -> Json | None:
        self.advance()
        op = self.operations.get(gid)
        return self.view(op) if op else None

    def current(self, _info: Any, type: str = "QUERY") -> Json | None:
        self.advance()
        if type != "MUTATION" or not self.operations:
            return None
        return self.view(list(self.operations.values())[-1])

    def result(self, number: str, signature: str) -> bytes | None:
        """The result file of an operation, if the signature matches."""
        op = self.operations.get(f"gid://shopify/BulkOperation/{number}")
        if op is None or not op.finished or not hmac.compare_digest(self._sign(op.gid, "result"), signature):
            return None
        self.downloads += 1
        return b"\n".join(op.results) + b"\n"

    def _result_url(self, op: BulkOp) -> str:
        number = op.gid.rsplit("/", 1)[-1]
        query = urlencode({"X-Goog-Signature": self._sign(op.gid, "result")})
        return f"{self.origin}{RESULTS_PATH}{number}.jsonl?{query}"

    def _sign(self, key: str, stamp: str) -> str:
        return hmac.new(self._secret, f"{key}\n{stamp}".encode(), hashlib.sha256).hexdigest()


def _refused(code: str, field_path: list[str] | None, message: str) -> Json:
    return {"bulkOperation": None, "userErrors": [{"code": code, "field": field_path, "message": message}]}


def _check_mutation(text: str) -> tuple[DocumentNode | None, str]:
    try:
        document = parse(text)
    except GraphQLError as exc:
        return None, f"Invalid mutation: {exc.message}"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.MUTATION:
        return None, "Invalid mutation: the document must hold exactly one mutation."
    fields = [s for s in operations[0].selection_set.selections if isinstance(s, FieldNode)]
    if len(fields) != 1:
        return None, "Invalid mutation: a bulk operation runs exactly one mutation field."
    if fields[0].name.value in FORBIDDEN:
        return None, f"Invalid mutation: {fields[0].name.value} cannot run in a bulk operation."
    errors = validate(subset_schema(), document)
    if errors:
        return None, f"Invalid mutation: {errors[0].message}"
    return document, ""


def _jsonl(content: bytes) -> list[Json] | None:
    lines = []
    for text in content.splitlines():
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            return None
        if not isinstance(line, dict):
            return None
        lines.append(line)
    return lines or None


def _xml_error(code: str, message: str) -> str:
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return f"<?xml version='1.0' encoding='UTF-8'?>{body}"
