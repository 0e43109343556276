from omnisync_connectors.amazon.harness import AmazonHarness

from omnisync.testing import conformance_suite

TestAmazonConformance = conformance_suite(AmazonHarness)
