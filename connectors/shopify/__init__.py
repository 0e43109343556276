"""Shopify connector (GraphQL Admin API 2026-04), registered as the ``shopify`` entry point."""

from .connector import ShopifyConnector
from .settings import ShopifySettings

__all__ = ["ShopifyConnector", "ShopifySettings"]
