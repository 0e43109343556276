from omnisync_connectors.square.harness import SquareHarness

from omnisync.testing import conformance_suite

TestSquareConformance = conformance_suite(SquareHarness)
