"""Alerts out: what the merchant must know, judged from the ledger and the channels' states,
deduplicated, and sent through notifiers (signed webhook, Slack, email) off the sync path.

:mod:`.conditions` (pure) says what holds, :mod:`.state` (pure) what changes and who is owed what,
:mod:`.messages` (pure) what a message says, :mod:`.notifiers` sends, :mod:`.snapshot` reads,
:mod:`.service` is the daemon's job. Nothing is imported here: ``omnisync.config`` loads
:mod:`.settings` alone.
"""
