"""Test support for connector authors: the conformance kit and an in-memory fake channel.

``conformance_suite`` needs pytest; it is imported lazily so that the fake channel's connector (a
registered entry point) loads in a deployment without test dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .harness import ConnectorHarness, Fault, SeedItem

if TYPE_CHECKING:
    from .conformance import conformance_suite

__all__ = ["ConnectorHarness", "Fault", "SeedItem", "conformance_suite"]


def __getattr__(name: str) -> Any:
    if name == "conformance_suite":
        from .conformance import conformance_suite

        return conformance_suite
    raise AttributeError(name)
