"""Lazy connector discovery through the ``omnisync.connectors`` entry-point group."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from .connector import Connector
from .errors import ConfigurationError, UnknownConnectorError

GROUP = "omnisync.connectors"
_extra: dict[str, type[Connector]] = {}


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def register(cls: type[Connector]) -> type[Connector]:
    """Register a connector class in-process (tests, notebooks). Entry points are the normal way."""
    _extra[cls.name] = cls
    return cls


def available_connectors() -> list[str]:
    return sorted(set(_entry_points()) | set(_extra))


def load_connector(name: str) -> type[Connector]:
    if name in _extra:
        return _extra[name]
    eps = _entry_points()
    if name not in eps:
        known = ", ".join(available_connectors()) or "none"
        raise UnknownConnectorError(
            f"no connector named {name!r} is installed (known: {known}); "
            f"install the package that provides it or fix the 'connector' key"
        )
    try:
        cls = eps[name].load()
    except Exception as exc:  # an installed but broken plugin must not take the daemon down
        raise ConfigurationError(f"connector {name!r} failed to load: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigurationError(f"entry point {name!r} does not point to a Connector subclass")
    return cls
