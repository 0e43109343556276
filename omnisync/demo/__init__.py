"""``omnisync demo``: the four channels' emulators on loopback, the daemon, simulated shoppers.

What a newcomer runs first. It starts the Shopify, Amazon, Square and Instagram emulators on free
loopback ports (real HTTP, the system clock), writes ``omnisync.yaml`` and the mapping files into a
folder (secrets as ``${VAR}``, set in-process to the emulators' demo values), seeds a SQLite ledger
with a catalogue in a warehouse and a store, and runs the daemon while shoppers buy on every online
channel and walk-in customers buy at the POS. Then the shoppers stop, a final sync and reconcile run,
and a table per channel is printed. The exit code is 0 only if the invariants hold:

* no oversell: no SKU's reservations and sales exceed its stock in the ledger;
* no lost or duplicated order: every order placed on a channel is in the ledger exactly once;
* converged: every channel shows what the ledger says it should offer.

The folder is left behind, so ``omnisync status|plan|explain -c FOLDER/omnisync.yaml`` work on it.
A channel whose connector or emulator cannot be loaded is skipped with a printed note.
"""

from __future__ import annotations

from .channels import FACTORIES, HOST, DemoChannel, shopify_channel, square_channel
from .run import run_demo
from .shoppers import Catalogue, seed_ledger

__all__ = [
    "FACTORIES",
    "HOST",
    "Catalogue",
    "DemoChannel",
    "run_demo",
    "seed_ledger",
    "shopify_channel",
    "square_channel",
]
