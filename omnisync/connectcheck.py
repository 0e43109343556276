"""``validate --connect``: one cheap read call per channel, reported per channel.

The read is the connector's own start-up check (``prepare``: Shopify reads its locations, Square
lists its locations, Amazon obtains an access token and reads one listing of the seller in the
marketplace (searchListingsItems), Meta reads the catalogue and the shop), so the
credentials and the configured ids are both tried. A channel with a notification queue (Amazon's
SQS) also has its destination and subscriptions listed, created where missing. A missing secret is
named for its channel only; one channel's failure never hides another's answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

from omnisync.config import LoadedConfig
from omnisync.sdk.errors import OmnisyncError

CONNECT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class ChannelCheck:
    channel: str
    connector: str
    ok: bool
    detail: str

    def row(self) -> dict[str, Any]:
        return asdict(self)


async def check_channel(loaded: LoadedConfig, name: str, within_s: float = CONNECT_TIMEOUT_S) -> ChannelCheck:
    from omnisync.cligroup import one_line
    from omnisync.sdk.registry import load_connector
    from omnisync.sdk.runtime import instantiate

    ch = loaded.config.channels[name]

    def answer(ok: bool, detail: str) -> ChannelCheck:
        return ChannelCheck(name, ch.connector, ok, detail)

    try:
        cls = load_connector(ch.connector)
        settings = loaded.channel_settings(name, cls.Settings)
        connector = instantiate(cls, settings, channel=name, locations=loaded.config.location_kinds())
    except (OmnisyncError, LookupError, ValueError) as exc:
        return answer(False, one_line(exc))
    notes: list[str] = []
    try:
        await asyncio.wait_for(connector.prepare(), within_s)
        if connector.notification_queue() is not None:  # listed, created where missing (idempotent)
            notes = await asyncio.wait_for(connector.subscribe_notifications(), within_s)
    except TimeoutError:
        return answer(False, f"no answer within {within_s:g} s")
    except Exception as exc:  # every failure is this channel's answer, never the others'
        return answer(False, one_line(exc))
    finally:
        await connector.aclose()
    return answer(True, "; ".join(["connected: credentials and ids accepted", *notes]))


async def check_all(loaded: LoadedConfig, within_s: float = CONNECT_TIMEOUT_S) -> list[ChannelCheck]:
    names = list(loaded.config.channels)
    return list(await asyncio.gather(*(check_channel(loaded, n, within_s) for n in names)))
