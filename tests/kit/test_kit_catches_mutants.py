"""Each check of the conformance kit fails on the connector seeded with its bug, passes on the fake
(or on the fake declaring what the check needs), and no check lacks a mutant."""

from __future__ import annotations

import kit_mutants as mutants
import pytest
from _pytest.outcomes import Failed

from omnisync.sdk import OmnisyncError
from omnisync.testing import conformance_suite
from omnisync.testing.fake import FakeConnector, FakeHarness

Suite = conformance_suite(FakeHarness)
Suite.__test__ = False  # its checks run below, one at a time; test_kit_fake_conformance runs them all

CASES = [
    (mutants.DeclaresNothing, "test_metadata"),
    (mutants.PullsUndeclared, "test_undeclared_operations_raise_unsupported"),
    (mutants.InventsListings, "test_discovery_finds_seeded_and_omits_unknown"),
    (mutants.DropsTheLastItem, "test_full_batch_accepted_within_limits"),
    (mutants.RejectedReadsAccepted, "test_partial_failure_reported_per_item"),
    (mutants.SharesOneBatchBuffer, "test_pushes_in_flight_together_each_get_their_results"),
    (mutants.PushesDeltas, "test_push_is_idempotent"),
    (mutants.IgnoresCompare, "test_compare_and_set_reports_stale"),
    (mutants.StaleReadsAccepted, "test_verified_push_never_accepts_a_channel_that_moved"),
    (mutants.PricesInCents, "test_prices_pushed"),
    (mutants.ZeroReadsAsMissing, "test_read_inventory_matches_channel"),
    (mutants.StopsAfterPageOne, "test_pagination_terminates_without_duplicates"),
    (mutants.NewestFirst, "test_ordered_pull_pages_ascend_by_update"),
    (mutants.TrustsAnySignature, "test_webhook_verified"),
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
    (mutants.ReturnsCountedTwice, "test_orders_arrive_as_placed"),
    (mutants.UnpublishIsANoOp, "test_listings_created_updated_unpublished"),
    (mutants.RefusalReadsAccepted, "test_listings_created_updated_unpublished"),
]

CONTROLS: dict[str, type[FakeConnector]] = {
    "test_pushes_in_flight_together_each_get_their_results": mutants.ConcurrentFake,
}
"""Checks that skip on the plain fake run on a fake that declares what they need."""


def _run_check(check: str, connector: type[FakeConnector]) -> None:
    try:
        getattr(Suite(), check)(mutants.harness_for(connector))
    except pytest.skip.Exception as skipped:
        pytest.fail(f"{check} skipped ({skipped.msg}): it proves nothing here")


@pytest.mark.parametrize(("mutant", "check"), CASES, ids=[m.__name__ for m, _ in CASES])
def test_the_check_fails_on_its_mutant(mutant: type[FakeConnector], check: str) -> None:
    with pytest.raises((AssertionError, Failed, OmnisyncError)) as caught:
        _run_check(check, mutant)
    assert "proves nothing" not in str(caught.value), str(caught.value)


@pytest.mark.parametrize("check", sorted({c for _, c in CASES}))
def test_the_check_passes_on_the_fake(check: str) -> None:
    _run_check(check, CONTROLS.get(check, FakeConnector))


def test_every_kit_check_has_a_mutant() -> None:
    checks = {name for name in dir(Suite) if name.startswith("test_")}
    assert checks == {c for _, c in CASES}
