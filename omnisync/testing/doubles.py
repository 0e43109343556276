"""The emulator doubles, one per channel kind, found through the ``omnisync.emulators`` entry points.

A connector package registers its double (an :class:`~omnisync.testing.harness.EmulatorDouble`) next
to its connector::

    [project.entry-points."omnisync.emulators"]
    mychannel = "mypkg.testing:MyHarness"

and the demo, the simulation, the benchmarks and the tests build it by name.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, cast

from omnisync.sdk.connector import Connector
from omnisync.sdk.runtime import instantiate

from .harness import EmulatorDouble

GROUP = "omnisync.emulators"


def emulator_kinds() -> list[str]:
    """The channel kinds that have a registered emulator double."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def emulator_double(name: str) -> type[Any]:
    """The emulator double class registered as ``name`` (construct it with an optional clock)."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        known = ", ".join(emulator_kinds()) or "none"
        raise LookupError(f"no emulator double named {name!r} in {GROUP} (registered: {known})")
    return cast(type[Any], found[0].load())


def build_double(name: str, *args: Any, **options: Any) -> EmulatorDouble:
    """An instance of the double registered as ``name``."""
    double: EmulatorDouble = emulator_double(name)(*args, **options)
    return double


def connected(double: EmulatorDouble, channel: str, **settings: Any) -> Connector:
    """The double's connector (its settings with ``settings`` over them), reaching its emulator in
    process on the double's clock."""
    return instantiate(
        double.connector_class,
        {**double.settings(), **settings},
        channel=channel,
        clock=double.clock,
        transport=double.transport(),
    )
