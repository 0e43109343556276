"""Amazon Selling Partner API connector (Listings Items, JSON_LISTINGS_FEED, Orders v0) and its emulator."""

from .connector import AmazonConnector
from .settings import AmazonSettings

__all__ = ["AmazonConnector", "AmazonSettings"]
