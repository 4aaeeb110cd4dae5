"""Per-user request quotas shared by both emulators: at most ``limit`` requests per ``window``
seconds for each user (a sliding window), then a refusal naming how long to wait — what the
services answer with 429 and ``Retry-After``. Off until :meth:`UserQuota.set` is called."""
from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from typing import Callable


class UserQuota:
    """A sliding-window request counter per user. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._window = 60.0
        self._hits: dict[str, deque[float]] = {}
        self.refused = 0  # how many requests were refused since the last ``set``
        self.accepted: Counter[str] = Counter()  # requests let through per user since the last ``set``
        self.refused_by: Counter[str] = Counter()

    @property
    def limit(self) -> tuple[int, float] | None:
        """``(requests, seconds)`` or None when off."""
        return None if self._limit is None else (self._limit, self._window)

    def set(self, limit: int | None, window: float = 60.0) -> None:
        """At most ``limit`` requests per user per ``window`` seconds (None: no quota)."""
        if limit is not None and (int(limit) < 1 or float(window) <= 0):
            raise ValueError("a quota needs limit >= 1 and window > 0 seconds")
        with self._lock:
            self._limit = None if limit is None else int(limit)
            self._window = float(window)
            self._hits.clear()
            self.refused = 0
            self.accepted.clear()
            self.refused_by.clear()

    def take(self, user: str) -> int | None:
        """Count one request of ``user``; None when allowed, else the whole seconds to wait
        (at least 1) before a slot frees — the ``Retry-After`` to answer."""
        with self._lock:
            if self._limit is None:
                return None
            now = self._clock()
            hits = self._hits.setdefault(user, deque())
            while hits and now - hits[0] >= self._window:
                hits.popleft()
            if len(hits) >= self._limit:
                self.refused += 1
                self.refused_by[user] += 1
                return max(1, math.ceil(self._window - (now - hits[0])))
            hits.append(now)
            self.accepted[user] += 1
            return None
