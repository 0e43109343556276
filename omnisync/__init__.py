"""omnisync: one master SKU ledger, every sales channel in step."""

__version__ = "0.1.0"
