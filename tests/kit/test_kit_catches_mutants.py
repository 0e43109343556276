"""Each check of the conformance kit fails on the connector seeded with its bug."""

from __future__ import annotations

import kit_mutants as mutants
import pytest
from _pytest.outcomes import Failed

from omnisync.sdk import OmnisyncError
from omnisync.testing import conformance_suite
from omnisync.testing.fake import FakeConnector, FakeHarness

Suite = conformance_suite(FakeHarness)

CASES = [
    (mutants.RetriesAfter401, "test_unauthorized_is_a_configuration_error"),
    (mutants.PushesTwice, "test_each_batch_sent_once"),
    (mutants.ZeroDelayThrottle, "test_throttle_is_retried_on_the_clock"),
    (mutants.NoBackoffOn5xx, "test_server_error_is_retried_with_backoff"),
    (mutants.NeverRetriesTimeouts, "test_timeout_is_retried"),
    (mutants.SwallowsTimeouts, "test_persistent_timeout_is_reported"),
    (mutants.BrokenPrepare, "test_prepare_passes"),
    (mutants.DropsUnknownSkus, "test_orders_arrive_as_placed"),
    (mutants.DoublesQuantities, "test_orders_arrive_as_placed"),
    (mutants.CancelledReadsOpen, "test_orders_arrive_as_placed"),
    (mutants.IgnoresUpdatedAfter, "test_orders_arrive_as_placed"),
    (mutants.RestockedNotCumulative, "test_orders_arrive_as_placed"),
]


@pytest.mark.parametrize(("mutant", "check"), CASES, ids=[m.__name__ for m, _ in CASES])
def test_the_check_fails_on_its_mutant(mutant: type[FakeConnector], check: str) -> None:
    with pytest.raises((AssertionError, Failed, OmnisyncError)):
        getattr(Suite(), check)(mutants.harness_for(mutant))


@pytest.mark.parametrize("check", sorted({c for _, c in CASES}))
def test_the_check_passes_on_the_fake(check: str) -> None:
    getattr(Suite(), check)(FakeHarness())
