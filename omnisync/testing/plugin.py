"""pytest plugin (registered under ``pytest11``): fixtures for connector authors.

``fake_channel`` gives an in-memory fake platform; ``virtual_clock`` a clock that never sleeps.
"""

from __future__ import annotations

import pytest

from omnisync.clock import VirtualClock


@pytest.fixture
def virtual_clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake_channel(virtual_clock: VirtualClock) -> object:
    from .fake import FakeChannelAPI

    return FakeChannelAPI(clock=virtual_clock)
