"""Process-wide wiring for actors: the container they use, and the in-process worker.

Actors are module-level functions (Dramatiq's model), so they reach adapters through the
container installed here at start-up — never one built at import time.
"""
from __future__ import annotations

import importlib
import logging

import dramatiq
from dramatiq import Worker

from config.bootstrap import Container

log = logging.getLogger(__name__)
_container: Container | None = None


def install(container: Container) -> None:
    global _container
    _container = container


def container() -> Container:
    if _container is None:
        raise RuntimeError("workers.runtime.install(container) was not called before an actor ran")
    return _container


def load_actors(broker: dramatiq.Broker) -> dict:
    """Import the use cases and declare them as actors on ``broker``."""
    return importlib.import_module("workers.actors").bind_actors(broker)


def start_worker(broker: dramatiq.Broker, threads: int) -> Worker:
    worker = Worker(broker, worker_threads=threads, worker_timeout=200)
    worker.start()
    return worker
