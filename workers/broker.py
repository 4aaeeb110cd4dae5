"""Sets the Dramatiq broker before any actor is imported.

- ``redis://...`` (production): ``RedisBroker`` — messages survive a worker crash, and the tick
  re-drives anything lost if Redis itself loses them.
- ``memory://`` (embedded default): a ``StubBroker`` plus a ``Worker`` with threads in this
  process, so ``tandem run`` needs neither Redis nor a second process.
"""
from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker

from config.settings import Settings


def build_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker.url
    if url.startswith("memory"):
        broker = StubBroker()
        broker.emit_after("process_boot")
        return broker
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=settings.broker.namespace)
    raise ValueError(f"broker.url '{url}' is not supported; use memory:// or redis://HOST:PORT/DB")


def configure_broker(settings: Settings) -> dramatiq.Broker:
    """Build the broker for ``settings`` and make it the global one actors bind to."""
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    return broker
