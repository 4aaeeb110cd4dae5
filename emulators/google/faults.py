"""Faults a test can inject: rate limits with Retry-After, 5xx, slow replies, and state faults
(expired tokens, revoked consent, stale sync tokens).

    emu.faults.add("rate_limit", count=2, retry_after=1)       # next two API calls get 429
    emu.faults.add("unavailable", probability=0.2, count=None)  # seeded RNG, until cleared
    emu.faults.add("revoked", email="ann@example.com")          # applied at once
    emu.faults.add("unavailable", when="after")                 # done, but the reply is lost
    emu.faults.add("rate_limit", batch_parts=True)              # one call inside a batch fails
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from emulators.google.errors import ApiError
from emulators.google.store import Store

REQUEST_FAULTS = ("rate_limit", "rate_limit_403", "user_rate_limit", "unavailable", "server_error",
                  "slow", "expired_token")
STATE_FAULTS = ("revoked", "stale_sync", "expire_tokens")


@dataclass
class Fault:
    kind: str
    count: int | None = 1  # None: until cleared
    probability: float | None = None
    retry_after: float | None = None
    delay: float = 0.0
    target: str = "api"  # "api" (Calendar + batch) or "token" (the OAuth token endpoint)
    path_contains: str | None = None
    when: str = "before"  # "after": the request is carried out, then its reply is lost to this fault
    batch_parts: bool = False  # hit the calls inside a batch instead of whole HTTP requests

    def matches(self, target: str, path: str, when: str, batch_part: bool) -> bool:
        return (self.target == target and self.when == when and self.batch_parts == batch_part
                and (self.path_contains is None or self.path_contains in path))


class Faults:
    """The queue of armed faults. Thread-safe; probability draws use a seeded RNG."""

    def __init__(self, store: Store, seed: int = 0):
        self._store = store
        self._armed: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.fired: list[str] = []

    def add(self, kind: str, *, count: int | None = 1, probability: float | None = None,
            retry_after: float | None = None, delay: float = 0.0, target: str = "api",
            path_contains: str | None = None, email: str | None = None, when: str = "before",
            batch_parts: bool = False) -> None:
        """Arm a fault (request faults) or apply it now (state faults: revoked, stale_sync, expire_tokens)."""
        if kind in STATE_FAULTS:
            self._apply_state_fault(kind, email)
            return
        if kind not in REQUEST_FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {REQUEST_FAULTS + STATE_FAULTS}")
        if kind == "slow" and not delay:
            delay = 2.0
        with self._lock:
            self._armed.append(Fault(kind, count, probability, retry_after, delay, target, path_contains,
                                     when, batch_parts))

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def seed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def _apply_state_fault(self, kind: str, email: str | None) -> None:
        if kind == "revoked":
            if not email:
                raise ValueError("the revoked fault needs email=")
            self._store.revoke_user(email)
        elif kind == "stale_sync":
            self._store.invalidate_sync_tokens(email)
        else:
            self._store.expire_access_tokens(email)
        self.fired.append(kind)

    def take(self, target: str, path: str, when: str = "before", batch_part: bool = False) -> Fault | None:
        """The fault to apply to this request (consuming one use), if any."""
        with self._lock:
            for fault in list(self._armed):
                if not fault.matches(target, path, when, batch_part):
                    continue
                if fault.probability is not None and self._rng.random() >= fault.probability:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._armed.remove(fault)
                self.fired.append(fault.kind)
                return fault
        return None


def fault_error(fault: Fault) -> ApiError | None:
    """The error reply of a request fault (None for faults that only slow a reply down)."""
    headers = {"Retry-After": _seconds(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.kind == "rate_limit":
        return ApiError(429, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits", headers=headers)
    if fault.kind == "rate_limit_403":
        return ApiError(403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits", headers=headers)
    if fault.kind == "user_rate_limit":
        return ApiError(403, "userRateLimitExceeded", "User Rate Limit Exceeded", domain="usageLimits", headers=headers)
    if fault.kind == "unavailable":
        return ApiError(503, "backendError", "The service is currently unavailable.", headers=headers)
    if fault.kind == "server_error":
        return ApiError(500, "backendError", "Backend Error")
    return None


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
