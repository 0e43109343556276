"""``omnisync demo``: the four channels' emulators on loopback, the daemon, simulated shoppers.

What a newcomer runs first. It starts the Shopify, Amazon, Square and Instagram emulators on free
loopback ports (real HTTP, the system clock), writes ``omnisync.yaml`` and the mapping files into a
folder (secrets as ``${VAR}``, set in-process to the emulators' demo values), seeds a SQLite ledger
with a catalogue in a warehouse and a store, and runs the daemon while shoppers buy on every online
channel and walk-in customers buy at the POS. The shoppers follow a script drawn from the seed and
come in waves, each let in once the daemon has caught up with the one before (:mod:`.script`), so
the same seed gives the same orders and stock counts. A live table (plain lines off a terminal)
shows the channels meanwhile. Once the daemon has caught up with the last wave, a table per
channel is printed, with the read-only commands that work on the folder it leaves. The exit code is 0 only if
the invariants hold:

* no oversell: no SKU's reservations and sales exceed its stock in the ledger;
* no lost or duplicated order: every order placed on a channel is in the ledger exactly once;
* converged: every channel shows what the ledger says it should offer.

By default 40 SKUs and 15 s of trading (under a minute in all); ``--long``: 300 SKUs and 60 s.
A channel whose connector or emulator cannot be loaded is skipped with a printed note.
"""

from __future__ import annotations

from .channels import FACTORIES, HOST, DemoChannel, instagram_channel, shopify_channel, square_channel
from .run import LONG, SHORT, DemoSize, run_demo
from .shoppers import Catalogue, seed_ledger

__all__ = [
    "FACTORIES",
    "HOST",
    "LONG",
    "SHORT",
    "Catalogue",
    "DemoChannel",
    "DemoSize",
    "instagram_channel",
    "run_demo",
    "seed_ledger",
    "shopify_channel",
    "square_channel",
]
