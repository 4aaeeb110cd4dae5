"""Thin, idempotent actors: one table, each row an outbox ``kind`` and the use case it runs.

Every actor takes an outbox row id. The wrapper takes a lease on the row (a duplicate delivery
is a no-op), calls the use case with the dependencies it was bound with, marks the row done on
success, and on failure records the error and schedules a retry through the row itself — only
when the error says a retry can help (``TandemError.retryable``). The database drives retries, so
a Redis flush loses nothing. ``bind_actors(broker, deps)`` declares the table on the broker the
process built, so no actor ever binds to Dramatiq's implicit default broker, and no actor reaches
for a process-wide global: each closes over the dependencies it was given.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Callable, Mapping, NamedTuple

import dramatiq

from adapters.metrics import ACTOR_DURATION, ACTOR_MESSAGES
from config.logs import log_context
from scheduler.ports import Dependencies
from scheduler.services import (at_risk_alerts, booking, changes, connections, delivery, lifecycle, outgoing_webhooks,
                                pair_actions, planning, privacy, repair)

log = logging.getLogger(__name__)


class ActorSpec(NamedTuple):
    use_case: Callable[[Dependencies, str], object]
    time_limit_ms: int = 120_000


# outbox kind -> the use case that performs it (the kind is also the Dramatiq actor name)
ACTOR_TABLE: dict[str, ActorSpec] = {
    "plan_pair": ActorSpec(planning.plan_mentor_group),
    "book_series": ActorSpec(booking.book_series, 300_000),
    "recheck_series": ActorSpec(repair.recheck_series),
    "handle_calendar_change": ActorSpec(changes.handle_calendar_change),
    "renew_watch": ActorSpec(changes.ensure_watch),
    "push_occurrence": ActorSpec(lifecycle.push_occurrence),
    "cancel_series": ActorSpec(lifecycle.cancel_series_at_provider),
    "deliver_notification": ActorSpec(delivery.deliver_notification, 60_000),
    "deliver_webhook": ActorSpec(outgoing_webhooks.deliver_webhook, 60_000),
    "check_at_risk": ActorSpec(outgoing_webhooks.check_at_risk),
    "remove_pair": ActorSpec(pair_actions.delete_removed_pair),
    "alert_at_risk": ActorSpec(at_risk_alerts.alert_program),
    "erase_person": ActorSpec(privacy.finish_erasure),
    "feedback_retention": ActorSpec(privacy.run_retention_sweep),
    "check_connection": ActorSpec(connections.check_connection, 120_000),
}


def retry_delay(attempts: int, exc: Exception) -> timedelta:
    """``Retry-After`` when the error carries one, else exponential backoff capped at an hour."""
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        return timedelta(seconds=retry_after)
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def can_retry(exc: Exception) -> bool:
    """Whether doing the same work later can help (errors that are not Tandem's are transient)."""
    return bool(getattr(exc, "retryable", True))


def run_outbox_row(deps: Dependencies, kind: str, use_case: Callable[[Dependencies, str], object],
                   outbox_id: str) -> None:
    """Lease the row, run its use case, finish or fail it. Safe to call twice for one row.

    Every line logged meanwhile carries the row id; the outcome is counted in
    ``tandem_actor_messages{actor, outcome}`` (done, retry, dead, skipped)."""
    with log_context(outbox_id=outbox_id, actor=kind):
        ACTOR_MESSAGES.labels(kind, _run(deps, kind, use_case, outbox_id)).inc()


def _run(deps: Dependencies, kind: str, use_case: Callable[[Dependencies, str], object], outbox_id: str) -> str:
    with deps.uow() as uow:
        # A killed worker's row is taken again once the lease runs out; effects are idempotent,
        # so a lease shorter than a very slow run only costs a repeat.
        if not uow.outbox.acquire(outbox_id, deps.clock.now(), deps.config.claim_timeout):
            return "skipped"  # done, dead, not due, or running elsewhere: a duplicate is a no-op
        row = uow.outbox.get(outbox_id)
        subject_id, attempts = row.subject_id, row.attempts
        uow.commit()
    started = time.perf_counter()
    try:
        use_case(deps, subject_id)
    except Exception as exc:
        ACTOR_DURATION.labels(kind).observe(time.perf_counter() - started)
        now = deps.clock.now()
        retry_at = now + retry_delay(attempts, exc) \
            if can_retry(exc) and attempts < deps.config.max_attempts else None
        level = logging.INFO if retry_at and getattr(exc, "routine", False) else logging.WARNING
        log.log(level, "%s(%s) %s: %s", kind, subject_id,
                "waits" if level == logging.INFO else "failed" if retry_at else "failed for good", exc)
        with deps.uow() as uow:
            uow.outbox.record_failure(outbox_id, f"{type(exc).__name__}: {exc}", retry_at=retry_at)
            uow.commit()
        return "retry" if retry_at else "dead"
    ACTOR_DURATION.labels(kind).observe(time.perf_counter() - started)
    with deps.uow() as uow:
        uow.outbox.mark_done(outbox_id, deps.clock.now())
        uow.commit()
    return "done"


def _actor_fn(kind: str, spec: ActorSpec, deps: Dependencies) -> Callable[[str], None]:
    def run(outbox_id: str) -> None:
        run_outbox_row(deps, kind, spec.use_case, outbox_id)

    run.__name__ = kind
    return run


def bind_actors(broker: dramatiq.Broker, deps: Dependencies,
                extra: Mapping[str, ActorSpec] | None = None) -> dict[str, dramatiq.Actor]:
    """Declare every actor of the table (plus ``extra`` ones, for extensions and tests) on
    ``broker``, each running its use case with ``deps``. Find one later with
    ``broker.get_actor(kind)``. Retries are driven by the outbox row, not by Dramatiq
    (``max_retries=0``), so a lost retry message loses nothing."""
    table = {**ACTOR_TABLE, **(extra or {})}
    return {kind: dramatiq.actor(_actor_fn(kind, spec, deps), actor_name=kind, broker=broker, max_retries=0,
                                 time_limit=spec.time_limit_ms)
            for kind, spec in table.items()}
