"""Thin, idempotent actors. Each takes an outbox row id, calls one use case, marks the row done.

``outbox_actor(kind)`` registers a use case ``fn(container, subject_id)``; ``bind_actors(broker)``
turns every registered use case into a Dramatiq actor on that broker (explicitly, so no actor
ever binds to Dramatiq's implicit default broker). The wrapper takes a lease on the row (a
duplicate delivery is a no-op), marks it done on success, and on failure records the error and
schedules a retry through the row itself: the database drives retries, so a Redis flush loses
nothing.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

import dramatiq

from adapters.storage.models import OutboxMessage
from adapters.storage.outbox import acquire, mark_done, record_failure
from scheduler.errors import ReconnectNeeded
from workers import runtime

log = logging.getLogger(__name__)
USE_CASES: dict[str, tuple[Callable, int]] = {}
ACTORS: dict[str, dramatiq.Actor] = {}  # the actors bound by the last bind_actors() call


def _retry_delay(attempts: int, exc: Exception) -> timedelta:
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        return timedelta(seconds=retry_after)
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def outbox_actor(kind: str, *, time_limit_ms: int = 120_000) -> Callable:
    """Register ``fn(container, subject_id)`` as the use case for outbox rows of ``kind``."""

    def decorate(fn: Callable) -> Callable:
        USE_CASES[kind] = (fn, time_limit_ms)
        return fn

    return decorate


def _runner(kind: str, fn: Callable, time_limit_ms: int) -> Callable[[str], None]:
    def run(outbox_id: str) -> None:
        container = runtime.container()
        with container.uow() as uow:
            # A killed worker's row is taken again once the lease runs out; effects are
            # idempotent, so a lease shorter than a very slow run only costs a repeat.
            lease = timedelta(seconds=container.settings.tick.claim_timeout_seconds)
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
    return run


def bind_actors(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor]:
    """Declare every registered use case as an actor on ``broker``. Retries are driven by the
    outbox row, not by Dramatiq (``max_retries=0``), so a lost retry message loses nothing."""
    ACTORS.clear()
    for kind, (fn, time_limit_ms) in USE_CASES.items():
        ACTORS[kind] = dramatiq.actor(_runner(kind, fn, time_limit_ms), actor_name=kind, broker=broker,
                                      max_retries=0, time_limit=time_limit_ms)
    return dict(ACTORS)


# --- the actors: one use case each ----------------------------------------------------------
@outbox_actor("plan_pair")
def plan_pair(container, pair_id: str) -> None:
    from scheduler.services.planning import plan_mentor_group as use_case
    use_case(container, pair_id)


@outbox_actor("book_series", time_limit_ms=300_000)
def book_series(container, series_id: str) -> None:
    from scheduler.services.booking import book_series as use_case
    use_case(container, series_id)


@outbox_actor("recheck_series")
def recheck_series(container, series_id: str) -> None:
    from scheduler.services.repair import recheck_series as use_case
    use_case(container, series_id)


@outbox_actor("handle_calendar_change")
def handle_calendar_change(container, connection_id: str) -> None:
    from scheduler.services.changes import handle_calendar_change as use_case
    use_case(container, connection_id)


@outbox_actor("renew_watch")
def renew_watch(container, connection_id: str) -> None:
    from scheduler.services.changes import ensure_watch
    ensure_watch(container, connection_id)


@outbox_actor("push_occurrence")
def push_occurrence(container, occurrence_id: str) -> None:
    from scheduler.services.lifecycle import push_occurrence as use_case
    use_case(container, occurrence_id)


@outbox_actor("cancel_series")
def cancel_series(container, series_id: str) -> None:
    from scheduler.services.lifecycle import cancel_series_at_provider
    cancel_series_at_provider(container, series_id)


@outbox_actor("deliver_notification", time_limit_ms=60_000)
def deliver_notification(container, notification_id: str) -> None:
    from scheduler.services.delivery import deliver_notification as use_case
    use_case(container, notification_id)
