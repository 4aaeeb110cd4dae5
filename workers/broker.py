"""Sets the Dramatiq broker before any actor is imported.

- ``redis://...`` (production): ``RedisBroker`` — messages survive a worker crash, and the tick
  re-drives anything lost if Redis itself loses them.
- ``memory://`` (embedded default): a ``StubBroker`` plus a ``Worker`` with threads in this
  process, so ``tandem run`` needs neither Redis nor a second process.

Both get ``process_boot`` emitted, as Dramatiq's own CLI does (without it the ``TimeLimit``
middleware never starts and actors' ``time_limit`` is not enforced), and, in Prometheus
multiprocess mode, Dramatiq's ``Prometheus`` middleware (see :func:`add_prometheus`).
"""
from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.stub import StubBroker

from config.settings import Settings


def build_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker.url
    if url.startswith("memory"):
        broker = StubBroker()
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url, namespace=settings.broker.namespace)
    else:
        raise ValueError(f"broker.url '{url}' is not supported; use memory:// or redis://HOST:PORT/DB")
    add_prometheus(broker)
    broker.emit_after("process_boot")
    return broker


def add_prometheus(broker: dramatiq.Broker) -> bool:
    """Add Dramatiq's ``Prometheus`` middleware when ``PROMETHEUS_MULTIPROC_DIR`` is set: its
    ``dramatiq_messages_total``, ``dramatiq_message_errors_total``,
    ``dramatiq_messages_inprogress`` and ``dramatiq_message_duration_milliseconds`` (by queue and
    actor) are then written to the same directory as Tandem's own metrics and ``/metrics``
    adds them up with everything else. Its own exposition server (port 9191) is only started by
    Dramatiq's CLI, never here.

    Not in single-process mode: the middleware switches the process into multiprocess mode at
    boot (it sets ``PROMETHEUS_MULTIPROC_DIR`` to its own directory), which would hide the
    values Tandem's metrics keep in memory from ``/metrics``. There, the outcomes by actor are in
    ``tandem_actor_messages`` (recorded by the actors' wrapper whatever the broker), which also
    says what Dramatiq cannot see: our actors never raise, a failure is a retry or dead row."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return False
    os.environ["dramatiq_prom_db"] = directory  # read when the middleware's module is first imported
    from dramatiq.middleware import prometheus

    prometheus.DB_PATH = directory  # ... and at boot, when it points prometheus_client there
    broker.add_middleware(prometheus.Prometheus())
    return True


def configure_broker(settings: Settings) -> dramatiq.Broker:
    """Build the broker for ``settings`` and make it the global one actors bind to."""
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    return broker
