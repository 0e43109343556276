"""Instagram shop connector: Meta catalog Batch API (items_batch + check_batch_request_status) for
stock, prices and visibility, and Commerce orders (commerce_orders + acknowledge_order) for intake."""

from .connector import InstagramConnector
from .settings import InstagramSettings

__all__ = ["InstagramConnector", "InstagramSettings"]
