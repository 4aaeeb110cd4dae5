"""Thin, idempotent actors. Each takes an outbox row id, calls one use case, marks the row done.

``outbox_actor`` wraps a use case ``fn(container, subject_id)``: a row already done is a no-op
(duplicate delivery), success marks it done, a failure records the error and schedules a retry
with backoff via the outbox row (the database drives retries, so a Redis flush loses nothing).
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

import dramatiq

from adapters.storage.models import OutboxMessage
from adapters.storage.outbox import acquire, mark_done, record_failure
from scheduler.errors import RateLimited, ReconnectNeeded
from workers import runtime

log = logging.getLogger(__name__)
ACTORS: dict[str, dramatiq.Actor] = {}


def _retry_delay(attempts: int, exc: Exception) -> timedelta:
    if isinstance(exc, RateLimited) and exc.retry_after:
        return timedelta(seconds=exc.retry_after)
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def outbox_actor(kind: str, *, time_limit_ms: int = 120_000) -> Callable:
    """Register ``fn(container, subject_id)`` as the actor for outbox rows of ``kind``."""

    def decorate(fn: Callable) -> dramatiq.Actor:
        def run(outbox_id: str) -> None:
            container = runtime.container()
            with container.uow() as uow:
                lease = timedelta(milliseconds=time_limit_ms) + timedelta(seconds=30)
                if not acquire(uow.session, outbox_id, container.clock.now(), lease):
                    return  # done, dead, not due, or running elsewhere: a duplicate is a no-op
                row = uow.session.get(OutboxMessage, outbox_id)
                subject_id, attempts = row.subject_id, row.attempts
                uow.commit()
            try:
                fn(container, subject_id)
            except Exception as exc:
                now = container.clock.now()
                permanent = isinstance(exc, ReconnectNeeded)
                retry_at = None if permanent or attempts >= container.settings.tick.max_attempts \
                    else now + _retry_delay(attempts, exc)
                log.warning("%s(%s) failed: %s", kind, subject_id, exc)
                with container.uow() as uow:
                    record_failure(uow.session, outbox_id, f"{type(exc).__name__}: {exc}", retry_at=retry_at)
                    uow.commit()
                return
            with container.uow() as uow:
                mark_done(uow.session, outbox_id, container.clock.now())
                uow.commit()

        run.__name__ = kind
        # Retries are driven by the outbox row, not by Dramatiq, so a lost retry message
        # (Redis restart) cannot lose the work.
        actor = dramatiq.actor(run, actor_name=kind, max_retries=0, time_limit=time_limit_ms)
        ACTORS[kind] = actor
        return actor

    return decorate
