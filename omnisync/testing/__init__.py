"""Test support for connector authors: the conformance kit, harness bases, a virtual clock, fixtures
and an in-memory fake channel.

``conformance_suite`` and the fixtures need pytest; they are imported lazily so that the fake
channel's connector (a registered entry point) loads in a deployment without test dependencies.
The fixtures are also registered by omnisync's pytest plugin, so a test module normally just names
them as arguments (``def test_x(virtual_clock): ...``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnisync.clock import VirtualClock

from .harness import ConnectorHarness, EmulatorHarness, Fault, SeedItem

if TYPE_CHECKING:
    from .conformance import conformance_suite
    from .plugin import fake_channel, virtual_clock

__all__ = [
    "ConnectorHarness",
    "EmulatorHarness",
    "Fault",
    "SeedItem",
    "VirtualClock",
    "conformance_suite",
    "fake_channel",
    "virtual_clock",
]

_LAZY = {"conformance_suite": ".conformance", "fake_channel": ".plugin", "virtual_clock": ".plugin"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(name)
