"""Process-wide wiring for actors: the dependencies they use, and the in-process worker.

Actors are module-level functions (Dramatiq's model), so they reach adapters through the
container installed here at start-up — never one built at import time. This module imports no
actor: ``workers.actors`` depends on it, not the other way round.
"""
from __future__ import annotations

import logging

import dramatiq
from dramatiq import Worker

from scheduler.ports import Dependencies

log = logging.getLogger(__name__)
_installed: list[Dependencies] = []  # the one container of this process (a list: no `global`)


def install(container: Dependencies) -> None:
    _installed[:] = [container]


def container() -> Dependencies:
    if not _installed:
        raise RuntimeError("workers.runtime.install(container) was not called before an actor ran")
    return _installed[0]


def start_worker(broker: dramatiq.Broker, threads: int) -> Worker:
    worker = Worker(broker, worker_threads=threads, worker_timeout=200)
    worker.start()
    return worker
