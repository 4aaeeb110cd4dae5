"""Clocks. The real one, and the sandbox's (``app.demo``): the real time plus an offset kept in the
database (``clock_offsets``), so the web, the worker, the tick and ``tandem sandbox advance`` in
another process all read the same time. The offset is cached for ``ttl_s`` (1 s) so a request
does not query it twice; ``reload()`` forgets it (the process that just moved the clock)."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

from scheduler.ports import Clock, UnitOfWork


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class SandboxClock:
    """Implements ``scheduler.ports.Clock``: ``base.now()`` plus the stored sandbox offset."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], base: Clock | None = None, *, ttl_s: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self._uow, self._base = unit_of_work, base or SystemClock()
        self._ttl_s, self._monotonic = ttl_s, monotonic
        self._lock = threading.Lock()
        self._offset: timedelta | None = None
        self._read_at = 0.0

    def offset(self) -> timedelta:
        with self._lock:
            stamp = self._monotonic()
            if self._offset is None or stamp - self._read_at >= self._ttl_s:
                with self._uow() as uow:
                    self._offset = uow.clock_offsets.offset()
                self._read_at = stamp
            return self._offset

    def now(self) -> datetime:
        return self._base.now() + self.offset()

    def real_now(self) -> datetime:
        return self._base.now()

    def reload(self) -> None:
        with self._lock:
            self._offset = None
