"""The in-process Dramatiq worker (``tandem run``, ``tandem worker``). Actors get their
dependencies when they are bound (``workers.actors.bind_actors``), so nothing here is global."""
from __future__ import annotations

import dramatiq
from dramatiq import Worker


def start_worker(broker: dramatiq.Broker, threads: int) -> Worker:
    worker = Worker(broker, worker_threads=threads, worker_timeout=200)
    worker.start()
    return worker
