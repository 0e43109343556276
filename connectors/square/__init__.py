"""Square (POS) connector for omnisync: the shop floor as a channel, with an emulator of its API."""

from .connector import SquareConnector
from .settings import SquareSettings

__all__ = ["SquareConnector", "SquareSettings"]
