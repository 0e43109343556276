"""The catalog Batch API round trip: submit ``items_batch`` calls, poll their handles, map the outcome.

Meta validates each request on submission (``validation_status``), ingests the rest asynchronously and
reports per-item failures through ``check_batch_request_status`` (``errors`` is only a sample;
``ids_of_invalid_requests`` names every failed retailer id). Waiting happens on the injected clock, in
the channel's own task, so other channels carry on while a batch settles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from omnisync.clock import Clock
from omnisync.sdk import (
    ConfigurationError,
    ItemError,
    ItemStatus,
    ProtocolError,
    RetryableError,
    chunked,
)

from .client import GraphClient

DONE_STATUSES = frozenset({"finished"})
FAILED_STATUSES = frozenset({"error", "canceled", "cancelled"})


@dataclass(frozen=True, slots=True)
class Outcome:
    status: ItemStatus
    reason: str | None = None
    warnings: tuple[str, ...] = ()
    """What Meta remarked on an item it took (``warnings`` of the submission or the batch status)."""


@dataclass
class _Pending:
    handle: str
    retailer_ids: list[str]
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    remarks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Retailer id -> Meta's warnings on it (at submission, then from the batch status)."""


def _messages(entries: object) -> list[str]:
    if not isinstance(entries, list):
        return []
    return [str(e.get("message")) for e in entries if isinstance(e, dict) and e.get("message")]


class BatchPusher:
    def __init__(
        self, client: GraphClient, clock: Clock, log: Any, *, batch_size: int, poll_s: float, timeout_s: float
    ) -> None:
        self._client = client
        self._clock = clock
        self._log = log
        self._batch_size = batch_size
        self._poll_s = poll_s
        self._timeout_s = timeout_s

    async def run(
        self,
        requests: Mapping[str, Mapping[str, Any]],
        operation: str,
        methods: Mapping[str, str] | None = None,
    ) -> dict[str, Outcome]:
        """``requests`` maps retailer id -> ``data`` of one request (an UPDATE unless ``methods``
        names another for it); returns an outcome per retailer id."""
        outcomes: dict[str, Outcome] = {}
        pending: list[_Pending] = []
        for chunk in chunked(list(requests), self._batch_size):
            submitted = await self._submit(chunk, requests, operation, outcomes, methods or {})
            if submitted is not None:
                pending.append(submitted)
        await self._settle(pending, outcomes, operation)
        return outcomes

    async def _submit(
        self,
        chunk: Sequence[str],
        requests: Mapping[str, Mapping[str, Any]],
        operation: str,
        outcomes: dict[str, Outcome],
        methods: Mapping[str, str],
    ) -> _Pending | None:
        body = [{"method": methods.get(rid, "UPDATE"), "data": dict(requests[rid])} for rid in chunk]
        try:
            answer = await self._client.items_batch(body, operation)
        except ConfigurationError:
            raise
        except RetryableError as exc:  # throttled or 5xx after the transport's retries
            outcomes.update(dict.fromkeys(chunk, Outcome(ItemStatus.RETRY, exc.message)))
            return None
        except ProtocolError as exc:
            outcomes.update(dict.fromkeys(chunk, Outcome(ItemStatus.RETRY, exc.message)))
            return None
        except ItemError as exc:  # the whole call was refused (invalid parameter)
            outcomes.update(dict.fromkeys(chunk, Outcome(ItemStatus.REJECTED, exc.message)))
            return None
        rejected: set[str] = set()
        remarks: dict[str, tuple[str, ...]] = {}
        for entry in answer.get("validation_status") or []:
            if not isinstance(entry, dict):
                continue
            rid = str(entry.get("retailer_id", ""))
            errors = _messages(entry.get("errors"))
            if rid in requests and errors:
                outcomes[rid] = Outcome(ItemStatus.REJECTED, "; ".join(errors))
                rejected.add(rid)
            elif warnings := _messages(entry.get("warnings")):
                self._log.info("instagram.batch_warning", retailer_id=rid, warning=warnings[0][:200])
                remarks[rid] = tuple(warnings)
        remaining = [rid for rid in chunk if rid not in rejected]
        handles = answer.get("handles") or []
        if not remaining:
            return None
        if not handles:  # "an empty array means that nothing has been ingested"
            outcomes.update(
                dict.fromkeys(remaining, Outcome(ItemStatus.RETRY, "Meta ingested nothing (no handle)"))
            )
            return None
        return _Pending(str(handles[0]), remaining, remarks=remarks)

    async def _settle(self, pending: list[_Pending], outcomes: dict[str, Outcome], operation: str) -> None:
        waited = 0.0
        while pending:
            if waited >= self._timeout_s:
                for batch in pending:
                    reason = f"batch {batch.handle[:16]} not finished after {waited:.0f} s"
                    outcomes.update(dict.fromkeys(batch.retailer_ids, Outcome(ItemStatus.RETRY, reason)))
                return
            await self._clock.sleep(self._poll_s)
            waited += self._poll_s
            still: list[_Pending] = []
            for batch in pending:
                try:
                    status = await self._client.batch_status(batch.handle, operation)
                except (RetryableError, ProtocolError) as exc:
                    self._log.info("instagram.batch_poll_failed", reason=exc.message)
                    still.append(batch)
                    continue
                if self._finish(batch, status):
                    outcomes.update(batch.outcomes)
                else:
                    still.append(batch)
            pending = still

    def _finish(self, batch: _Pending, status: Mapping[str, Any]) -> bool:
        state = str(status.get("status", "")).lower()
        if state not in DONE_STATUSES | FAILED_STATUSES:
            return False
        invalid = {str(i) for i in status.get("ids_of_invalid_requests") or []}
        reasons: dict[str, str] = {}
        for rid, message in _named(status.get("errors"), batch.retailer_ids):
            invalid.add(rid)
            reasons.setdefault(rid, message or "rejected by Meta")
        for rid, message in _named(status.get("warnings"), batch.retailer_ids):
            if message:
                batch.remarks[rid] = (*batch.remarks.get(rid, ()), message)
        total = status.get("errors_total_count")
        unnamed = isinstance(total, int) and total > len(invalid & set(batch.retailer_ids))
        for rid in batch.retailer_ids:
            if rid in invalid:
                batch.outcomes[rid] = Outcome(
                    ItemStatus.REJECTED, reasons.get(rid, "rejected by Meta (no message in the error sample)")
                )
            elif state in FAILED_STATUSES:
                batch.outcomes[rid] = Outcome(ItemStatus.RETRY, f"batch ended with status {state!r}")
            elif unnamed:
                batch.outcomes[rid] = Outcome(ItemStatus.RETRY, "Meta reported more errors than it named")
            else:
                batch.outcomes[rid] = Outcome(ItemStatus.ACCEPTED, warnings=batch.remarks.get(rid, ()))
        if status.get("warnings_total_count"):
            self._log.info(
                "instagram.batch_warnings", handle=batch.handle[:16], count=status["warnings_total_count"]
            )
        return True


def _named(entries: object, retailer_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(retailer id, message) of each entry of a batch status's ``errors`` or ``warnings`` sample: the
    entry's ``id`` (or ``retailer_id``), else the request at its ``line``."""
    found: list[tuple[str, str]] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        rid = entry.get("id") or entry.get("retailer_id")
        line = entry.get("line")
        if rid is None and isinstance(line, int) and 0 <= line < len(retailer_ids):
            rid = retailer_ids[line]
        if rid is not None:
            found.append((str(rid), str(entry.get("message") or "")))
    return found
