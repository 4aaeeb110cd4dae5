"""The tick: claims due outbox rows and hands them to the broker, every ``tick.interval_seconds``.

A message is ``actor_name = row.kind, args = (row.id,)``; the tick never imports actors. Emails
are the exception: ``deliver_notification`` rows go ``tick.delivery_batch_size`` to a message,
``actor_name = "deliver_notifications", args = ([id, ...],)``, so a worker sends them one after
another on a kept connection. The database is the source of truth: if a message is lost after
the claim is committed, the row stays ``enqueued`` past the claim timeout and the next tick sends
it again; actors are idempotent, so a duplicate is a no-op.

A tick that claimed a full batch is followed by another at once (a backlog — a program's
Monday-morning reminders — drains at the workers' pace, not one batch per interval) while fewer
than ``tick.max_waiting`` claimed rows wait in the broker for a worker, else after
``BACKLOG_PAUSE``. The ``extra_steps`` (sweeps) keep ``tick.interval_seconds``.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import dramatiq
from dramatiq import Message

from config.bootstrap import Container
from scheduler.services.notifications import DELIVER, DELIVER_BATCH

log = logging.getLogger(__name__)
QUEUE = "default"
BACKLOG_PAUSE = 0.5  # seconds between looks at the broker while a backlog waits there for workers


def tick_once(container: Container, broker: dramatiq.Broker) -> int:
    """Claim and send one batch; returns how many rows were handed to the broker."""
    cfg = container.settings.tick
    now = container.clock.now()
    with container.uow() as uow:
        rows = uow.outbox.claim_due(now, limit=cfg.batch_size,
                                    claim_timeout=timedelta(seconds=cfg.claim_timeout_seconds),
                                    max_attempts=cfg.max_attempts)
        claimed = [(row.id, row.kind) for row in rows]
        uow.commit()
    messages = messages_for(claimed, cfg.delivery_batch_size)
    for message in messages:
        broker.enqueue(message)
    if claimed:
        log.info("tick sent %d outbox row(s) in %d message(s)", len(claimed), len(messages))
    return len(claimed)


def messages_for(claimed: list[tuple[str, str]], delivery_batch_size: int) -> list[Message]:
    """One message per row, except emails: ``delivery_batch_size`` rows to a message (in the
    order claimed, so the earliest due go first)."""
    emails = [outbox_id for outbox_id, kind in claimed if kind == DELIVER] if delivery_batch_size > 1 else []
    messages = [Message(queue_name=QUEUE, actor_name=kind, args=(outbox_id,), kwargs={}, options={})
                for outbox_id, kind in claimed if not emails or kind != DELIVER]
    for start in range(0, len(emails), delivery_batch_size):
        messages.append(Message(queue_name=QUEUE, actor_name=DELIVER_BATCH,
                                args=(emails[start:start + delivery_batch_size],), kwargs={}, options={}))
    return messages


def waiting(container: Container) -> int:
    """How many claimed rows wait in the broker for a worker (read without holding up writers)."""
    with container.reading() as uow:
        return uow.outbox.count_by_status().get("enqueued", 0)


def run_tick_loop(container: Container, broker: dramatiq.Broker, stop: threading.Event,
                  extra_steps=()) -> None:
    """Tick until ``stop`` is set (a backlog without pause, see the module). ``extra_steps`` are
    callables run every ``tick.interval_seconds`` (e.g. sweepers)."""
    cfg = container.settings.tick
    steps_due, backlog = 0.0, False
    while not stop.is_set():
        pause = cfg.interval_seconds
        try:
            if time.monotonic() >= steps_due:  # the sweeps keep the interval, whatever the backlog
                steps_due = time.monotonic() + cfg.interval_seconds
                for step in extra_steps:
                    step(container)
            if backlog and waiting(container) >= cfg.max_waiting:
                pause = min(cfg.interval_seconds, BACKLOG_PAUSE)  # the workers are behind: let them catch up
            else:  # a full batch means more are due: claim again at once
                backlog = tick_once(container, broker) >= cfg.batch_size
                pause = 0.0 if backlog else cfg.interval_seconds
        except Exception:  # a bad tick is logged and the next one tries again; nothing is lost
            backlog = False
            log.exception("tick failed; retrying in %.0fs", cfg.interval_seconds)
        stop.wait(pause)
