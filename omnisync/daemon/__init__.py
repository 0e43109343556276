"""The daemon: APScheduler timetable, webhook/health/metrics HTTP surface, leases on a shared ledger."""

from .service import ServiceInfo, serve

__all__ = ["ServiceInfo", "serve"]
