"""How every provider behaves when its service misbehaves (faults the harness can inject).

The rule for ``free_busy``: a failure is never reported as free time. The provider either raises
the typed error or returns ``FreeBusy(error=...)`` (unknown) for the affected account. Calls on a
single series (``get_series``) raise the typed error.
"""
from __future__ import annotations

import pytest

from scheduler.errors import ProviderUnavailable, RateLimited, ReconnectNeeded
from tests.contract.scenarios import (SERIES_WINDOW, WINDOW_END, WINDOW_START, merged, require_fault,
                                      series_spec, unique_email, utc)


def _seeded_account(harness):
    ada = harness.account(unique_email(harness, "ada"))
    harness.add_busy(ada, utc(3, 1, 14), utc(3, 1, 15), "Dentist")
    return ada


def _free_busy_fails_as(harness, account, error_type) -> BaseException | None:
    """Call free_busy expecting failure; returns the raised error (None if reported as unknown)."""
    try:
        result = harness.provider.free_busy([account], WINDOW_START, WINDOW_END)
    except error_type as exc:
        return exc
    unknown = result[account.connection_id]
    assert unknown.error, f"{error_type.__name__} was reported as free time: {unknown!r}"
    assert list(unknown.busy) == []
    return None


def _requests(harness) -> int | None:
    return harness.requests_served() if harness.requests_served is not None else None


@pytest.mark.parametrize("fault", ["rate_limit", "unavailable"])
def test_one_transient_fault_is_retried_and_succeeds(harness, fault):
    require_fault(harness, fault)
    ada = _seeded_account(harness)
    before = _requests(harness)

    harness.inject(fault, times=1, retry_after=1)
    result = harness.provider.free_busy([ada], WINDOW_START, WINDOW_END)[ada.connection_id]

    assert result.error is None
    assert merged(result.busy) == [(utc(3, 1, 14), utc(3, 1, 15))]
    if before is not None:
        assert _requests(harness) - before >= 2, "the failed request was not retried"


def test_persistent_rate_limit_surfaces_rate_limited_with_retry_after(harness):
    require_fault(harness, "rate_limit")
    ada = _seeded_account(harness)

    harness.inject("rate_limit", times=1000, retry_after=1)
    raised = _free_busy_fails_as(harness, ada, RateLimited)

    if raised is not None:
        assert raised.retry_after is not None and raised.retry_after > 0


def test_persistent_unavailability_surfaces_provider_unavailable(harness):
    require_fault(harness, "unavailable")
    ada = _seeded_account(harness)

    harness.inject("unavailable", times=1000)

    _free_busy_fails_as(harness, ada, ProviderUnavailable)


def test_persistent_unavailability_on_a_series_raises(harness):
    require_fault(harness, "unavailable")
    if not harness.provider.can_write:
        pytest.skip(f"{harness.name} is read-only: it holds no series")
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    harness.inject("unavailable", times=1000)

    with pytest.raises(ProviderUnavailable):
        harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)


def test_revoked_consent_needs_reconnect_and_is_not_retried(harness):
    require_fault(harness, "revoked")
    ada = _seeded_account(harness)
    before_success = _requests(harness)
    harness.provider.free_busy([ada], WINDOW_START, WINDOW_END)
    requests_per_success = None if before_success is None else _requests(harness) - before_success

    harness.inject("revoked")
    before_failure = _requests(harness)
    _free_busy_fails_as(harness, ada, ReconnectNeeded)

    if requests_per_success is not None:
        assert _requests(harness) - before_failure <= requests_per_success, "a revoked consent was retried"


def test_revoked_consent_on_a_series_raises_reconnect_needed(harness):
    require_fault(harness, "revoked")
    if not harness.provider.can_write:
        pytest.skip(f"{harness.name} is read-only: it holds no series")
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    harness.inject("revoked")

    with pytest.raises(ReconnectNeeded):
        harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)
