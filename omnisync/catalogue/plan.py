"""What a channel's listing needs next, and why: create, update, unpublish or nothing. Pure.

A discontinued (or draft) product is unpublished, never deleted. A channel whose mapping says
``listings: update`` (the default) never gets a listing it does not have; ``off`` is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from omnisync.ledger.rows import ListingContentRow

from .template import ListingMode
from .wanted import HASHED_FIELDS, Wanted


class ListingAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNPUBLISH = "unpublish"
    KEEP = "keep"
    """Nothing to send."""
    SKIP = "skip"
    """Something would be needed but the channel's mode does not allow it (reported, not sent)."""


@dataclass(frozen=True)
class ListingDecision:
    action: ListingAction
    why: str
    changed: tuple[str, ...] = ()

    @property
    def sends(self) -> bool:
        return self.action in (ListingAction.CREATE, ListingAction.UPDATE, ListingAction.UNPUBLISH)


def decide(
    wanted: Wanted, state: ListingContentRow | None, mode: ListingMode, *, on_channel: bool
) -> ListingDecision:
    """The next step for ``wanted`` given what the channel holds (``state``; ``on_channel``: the
    channel has this listing, created by omnisync or found by SKU)."""
    status = "active" if wanted.content.publish else "not active (draft or discontinued)"
    if mode is ListingMode.OFF:
        return ListingDecision(ListingAction.KEEP, "listings: off on this channel")
    published = state.published if state is not None else None
    if not wanted.content.publish:
        if on_channel and published is not False:
            return ListingDecision(
                ListingAction.UNPUBLISH, f"product is {status}: unpublished, never deleted"
            )
        return ListingDecision(ListingAction.KEEP, f"product is {status} and not shown on the channel")
    if not on_channel:
        if mode is ListingMode.CREATE:
            return ListingDecision(ListingAction.CREATE, "not on the channel yet (listings: create)")
        return ListingDecision(ListingAction.SKIP, "not on the channel, and listings: update never creates")
    if state is None or state.acked_digest is None:
        return ListingDecision(ListingAction.UPDATE, "on the channel, content never written by omnisync")
    changed = tuple(f for f in HASHED_FIELDS if state.acked_fields.get(f) != wanted.fields[f])
    if published is False:  # unpublished (its content digest is still the last one written)
        return ListingDecision(ListingAction.UPDATE, "active again: republished", changed)
    if state.acked_digest == wanted.content.digest and not changed:
        return ListingDecision(ListingAction.KEEP, "unchanged since the channel accepted it")
    return ListingDecision(ListingAction.UPDATE, "changed: " + ", ".join(changed or ("content",)), changed)
