"""The standard connector conformance suite, run against the Instagram connector and its emulator."""

from omnisync_connectors.instagram.harness import InstagramHarness

from omnisync.testing import conformance_suite

TestInstagramConformance = conformance_suite(InstagramHarness)
