"""The tick: claims due outbox rows and hands them to the broker, every ``tick.interval_seconds``.

A message is ``actor_name = row.kind, args = (row.id,)``; the tick never imports actors. The
database is the source of truth: if a message is lost after the claim is committed, the row
stays ``enqueued`` past the claim timeout and the next tick sends it again; actors are
idempotent, so a duplicate is a no-op.
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

import dramatiq
from dramatiq import Message

from config.bootstrap import Container

log = logging.getLogger(__name__)
QUEUE = "default"


def tick_once(container: Container, broker: dramatiq.Broker) -> int:
    """Claim and send one batch; returns how many messages were sent."""
    cfg = container.settings.tick
    now = container.clock.now()
    with container.uow() as uow:
        rows = uow.outbox.claim_due(now, limit=cfg.batch_size,
                                    claim_timeout=timedelta(seconds=cfg.claim_timeout_seconds),
                                    max_attempts=cfg.max_attempts)
        messages = [(row.id, row.kind) for row in rows]
        uow.commit()
    for outbox_id, kind in messages:
        broker.enqueue(Message(queue_name=QUEUE, actor_name=kind, args=(outbox_id,), kwargs={}, options={}))
    if messages:
        log.info("tick sent %d outbox message(s)", len(messages))
    return len(messages)


def run_tick_loop(container: Container, broker: dramatiq.Broker, stop: threading.Event,
                  extra_steps=()) -> None:
    """Tick until ``stop`` is set. ``extra_steps`` are callables run each tick (e.g. sweepers)."""
    while not stop.is_set():
        try:
            for step in extra_steps:
                step(container)
            tick_once(container, broker)
        except Exception:  # a bad tick is logged and the next one tries again; nothing is lost
            log.exception("tick failed; retrying in %.0fs", container.settings.tick.interval_seconds)
        stop.wait(container.settings.tick.interval_seconds)
