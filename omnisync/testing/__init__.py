"""Test support for connector authors: the conformance kit and an in-memory fake channel."""

from .conformance import conformance_suite
from .harness import ConnectorHarness, Fault, SeedItem

__all__ = ["ConnectorHarness", "Fault", "SeedItem", "conformance_suite"]
