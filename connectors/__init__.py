"""The built-in channel connectors, installed as ``omnisync_connectors``.

Each lives in its own folder (client, connector, emulator, harness, fixtures) and registers through
the ``omnisync.connectors`` entry point exactly as a third-party connector would.
"""
