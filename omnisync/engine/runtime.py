"""The engine: orchestrates intake, planning and pushing per channel, each channel isolated.

A cycle for one channel is pull orders -> plan its dirty pairs -> push. A stale compare-and-set
answer pulls that channel's orders, reads the live values, re-plans and retries once. A full
reconcile reads the channel's live quantities, reports drift and re-plans every pair.
"""

from .adopt import CatalogueImporter
from .cycle import STALE_ROUNDS, ChannelCycle
from .linking import LinkReport, ListingLinker
from .listing_push import ListingPusher, ListingPushReport
from .listings import ListingPlanning, PlannedListing
from .notifications import QueuedNotifications
from .plan_reading import DIRTY_SCAN_THRESHOLD, PLAN_CHUNK
from .reconcile import Reconciler
from .runs import CycleReport
from .setup import EngineSetup, channel_rules, load_mapping
from .webhooks import Webhooks, wants_pull

__all__ = [
    "DIRTY_SCAN_THRESHOLD",
    "PLAN_CHUNK",
    "STALE_ROUNDS",
    "CatalogueImporter",
    "ChannelCycle",
    "CycleReport",
    "Engine",
    "EngineSetup",
    "LinkReport",
    "ListingLinker",
    "ListingPlanning",
    "ListingPushReport",
    "ListingPusher",
    "PlannedListing",
    "channel_rules",
    "load_mapping",
    "wants_pull",
]


class Engine(Reconciler, Webhooks, CatalogueImporter, QueuedNotifications):
    """The engine, composed by concern: set-up (:mod:`.setup`), plan reading (:mod:`.plan_reading`),
    the channel cycle (:mod:`.cycle`), run records (:mod:`.runs`), reconcile (:mod:`.reconcile`),
    webhooks (:mod:`.webhooks`), listing planning (:mod:`.listings`) and queued notifications
    (:mod:`.notifications`). Callers (daemon, CLI, demo, simulation, tests) use this class."""
