"""The standard connector conformance suite, run against the Shopify emulator."""

from omnisync_connectors.shopify.harness import ShopifyHarness

from omnisync.testing import conformance_suite

TestShopifyConformance = conformance_suite(ShopifyHarness)
