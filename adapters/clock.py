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


def offset_in(unit_of_work: Callable[[], UnitOfWork]) -> Callable[[], timedelta]:
    """Read the offset through a unit of work (the in-memory store). The SQL installation reads it
    with ``adapters.storage.clock_offsets.offset_reader`` instead: the clock is read inside other
    units of work, and a second SQLite transaction would wait for the first one's write lock."""

    def read() -> timedelta:
        with unit_of_work() as uow:
            return uow.clock_offsets.offset()

    return read


class SandboxClock:
    """Implements ``scheduler.ports.Clock``: ``base.now()`` plus the stored sandbox offset, which
    ``read_offset`` reads (without taking any lock)."""

    def __init__(self, read_offset: Callable[[], timedelta], base: Clock | None = None, *, ttl_s: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self._read, self._base = read_offset, base or SystemClock()
        self._ttl_s, self._monotonic = ttl_s, monotonic
        self._lock = threading.Lock()
        self._offset: timedelta | None = None
        self._read_at = 0.0

    def offset(self) -> timedelta:
        with self._lock:
            stamp = self._monotonic()
            if self._offset is None or stamp - self._read_at >= self._ttl_s:
                self._offset = self._read()
                self._read_at = stamp
            return self._offset

    def now(self) -> datetime:
        return self._base.now() + self.offset()

    def real_now(self) -> datetime:
        return self._base.now()

    def reload(self) -> None:
        with self._lock:
            self._offset = None
