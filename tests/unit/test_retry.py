"""Backoff that honours Retry-After, and the per-account rate limiter (no real sleeping)."""
import random

import pytest

from adapters.providers.retry import RateLimiter, RetryPolicy, call_with_retries
from scheduler.errors import NotFound, ProviderUnavailable, RateLimited, ReconnectNeeded


def _flaky(errors):
    calls = []

    def fn():
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"
    return fn, calls


def test_retry_after_is_honoured_and_backoff_grows_with_jitter():
    slept = []
    fn, calls = _flaky([RateLimited(retry_after=7), ProviderUnavailable("503"), ProviderUnavailable("503")])
    assert call_with_retries(fn, RetryPolicy(attempts=5, base_delay=1, max_delay=30), provider="test", method="read",
                             sleep=slept.append,
                             rng=random.Random(1)) == "ok"
    assert len(calls) == 4 and slept[0] == 7
    assert 0 <= slept[1] <= 2 and 0 <= slept[2] <= 4


def test_no_retry_for_errors_waiting_cannot_fix():
    for error in (ReconnectNeeded("revoked"), NotFound("gone")):
        fn, calls = _flaky([error])
        with pytest.raises(type(error)):
            call_with_retries(fn, provider="test", method="read", sleep=lambda s: None)
        assert len(calls) == 1


def test_gives_up_after_the_attempts_and_on_a_too_long_retry_after():
    fn, calls = _flaky([ProviderUnavailable("503")] * 10)
    with pytest.raises(ProviderUnavailable):
        call_with_retries(fn, RetryPolicy(attempts=3), provider="test", method="read", sleep=lambda s: None)
    assert len(calls) == 3
    fn, calls = _flaky([RateLimited(retry_after=3600)])
    with pytest.raises(RateLimited):
        call_with_retries(fn, RetryPolicy(max_retry_after=120), provider="test", method="read", sleep=lambda s: None)
    assert len(calls) == 1


def test_rate_limiter_spaces_calls_per_account():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.acquire("ada")
    limiter.acquire("lin")  # another account has its own bucket
    assert slept == [0.5, 0.5]


def test_a_learnt_retry_after_holds_every_call_of_that_account_only():
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds
    limiter = RateLimiter(rate=100.0, burst=10, clock=lambda: now[0], sleep=sleep)
    limiter.hold("ada", 7.0)
    limiter.hold("ada", 3.0)  # a shorter wait does not shorten the longer one
    limiter.hold("lin", None)  # no Retry-After: nothing learnt
    limiter.acquire("lin")
    assert slept == []
    limiter.acquire("ada")
    limiter.acquire("ada")
    assert slept == [7.0]  # the first call waited the Retry-After out, the next one did not


def test_a_learnt_wait_longer_than_max_hold_is_raised_not_slept():
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds
    limiter = RateLimiter(rate=100.0, burst=10, clock=lambda: now[0], sleep=sleep, max_hold=5.0)
    limiter.hold("ada", 9.0)
    with pytest.raises(RateLimited) as caught:
        limiter.acquire("ada")
    assert caught.value.retry_after == 9.0 and slept == []
    now[0] = 6.0  # 3 s left: short enough to wait in place
    limiter.acquire("ada")
    assert slept == [3.0]
