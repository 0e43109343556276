from omnisync.testing import conformance_suite
from omnisync.testing.fake import FakeHarness

TestFakeConformance = conformance_suite(FakeHarness)
