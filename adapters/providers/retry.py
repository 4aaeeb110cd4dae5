"""Retries with exponential backoff and full jitter that honour ``Retry-After``, and a
per-account rate limiter. Shared by every HTTP-based provider adapter."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from adapters.metrics import PROVIDER_RATE_LIMITED, PROVIDER_REQUESTS, PROVIDER_RETRY_WAIT
from scheduler.errors import ProviderUnavailable, RateLimited

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is surfaced to the caller instead

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        cap = min(self.max_delay, self.base_delay * (2 ** attempt))
        return rng.uniform(0, cap)


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy = RetryPolicy(), *, provider: str, method: str,
                      sleep: Callable[[float], None] = time.sleep,
                      rng: random.Random | None = None) -> T:
    """Call ``fn``; retry on RateLimited / ProviderUnavailable. Other errors (ReconnectNeeded,
    NotFound, ...) propagate at once: they are not fixed by waiting.

    Every attempt is counted in ``tandem_provider_requests{provider, method, status}``, 429s in
    ``tandem_provider_rate_limited`` and the waits in ``tandem_provider_retry_wait_seconds``.
    The adapter names itself (``provider``: google, microsoft, caldav, ics, memory) and the
    operation it is doing (``method``: ``free_busy``, ``create_series``, ...): closed sets of
    code names, never data."""
    rng = rng or random.Random()
    for attempt in range(policy.attempts):
        try:
            result = fn()
        except RateLimited as exc:
            PROVIDER_REQUESTS.labels(provider, method, "rate_limited").inc()
            PROVIDER_RATE_LIMITED.labels(provider).inc()
            if attempt == policy.attempts - 1 or (exc.retry_after or 0) > policy.max_retry_after:
                raise
            wait = policy.delay(attempt, exc.retry_after, rng)
            PROVIDER_RETRY_WAIT.labels(provider, "rate_limited").observe(wait)
            sleep(wait)
        except ProviderUnavailable:
            PROVIDER_REQUESTS.labels(provider, method, "unavailable").inc()
            if attempt == policy.attempts - 1:
                raise
            wait = policy.delay(attempt, None, rng)
            PROVIDER_RETRY_WAIT.labels(provider, "unavailable").observe(wait)
            sleep(wait)
        except Exception as exc:
            PROVIDER_REQUESTS.labels(provider, method, _error_kind(exc)).inc()
            raise
        else:
            PROVIDER_REQUESTS.labels(provider, method, "ok").inc()
            return result
    raise AssertionError("unreachable")


def _error_kind(exc: Exception) -> str:
    """``ReconnectNeeded`` -> ``reconnect_needed``: a closed set of error class names."""
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


class RateLimiter:
    """Token bucket per key (an account): at most ``rate`` calls per second, bursts of ``burst``.
    A provider's ``Retry-After`` for a key is learnt with :meth:`hold`: every call of that key in
    this process then waits it out instead of meeting the same 429."""

    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_hold: float | None = None):
        """``max_hold``: a learnt wait longer than this is not slept but raised as
        ``RateLimited(retry_after=...)`` (a worker hands it to the outbox instead of idling)."""
        self.rate, self.burst, self.max_hold = rate, burst, max_hold
        self._clock, self._sleep = clock, sleep
        self._state: dict[str, tuple[float, float]] = {}
        self._held_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def hold(self, key: str, seconds: float | None) -> None:
        """The provider asked to wait ``seconds`` for ``key`` (its ``Retry-After``)."""
        if not seconds or seconds <= 0:
            return
        with self._lock:
            until = self._clock() + seconds
            self._held_until[key] = max(until, self._held_until.get(key, 0.0))

    def acquire(self, key: str) -> None:
        while True:
            with self._lock:
                now = self._clock()
                held = self._held_until.get(key, 0.0) - now
                if held > 0 and self.max_hold is not None and held > self.max_hold:
                    raise RateLimited("the calendar service asked Tandem to wait before calling for this "
                                      "account again", retry_after=held)
                if held > 0:
                    wait = held
                else:
                    wait = self._take(key, now)
                    if wait == 0:
                        return
            self._sleep(wait)

    def _take(self, key: str, now: float) -> float:
        """Take a token of ``key`` (0.0) or say how long until one is there (caller holds the lock)."""
        tokens, last = self._state.get(key, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._state[key] = (tokens - 1, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1 - tokens) / self.rate
