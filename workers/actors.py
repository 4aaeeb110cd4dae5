"""Thin, idempotent actors: one table, each row an outbox ``kind`` and the use case it runs.

Every actor takes an outbox row id. The wrapper takes a lease on the row (a duplicate delivery
is a no-op), calls the use case with the dependencies it was bound with, marks the row done on
success, and on failure records the error and schedules a retry through the row itself — only
when the error says a retry can help (``TandemError.retryable``). The database drives retries, so
a Redis flush loses nothing. ``bind_actors(broker, deps)`` declares the table on the broker the
process built, so no actor ever binds to Dramatiq's implicit default broker, and no actor reaches
for a process-wide global: each closes over the dependencies it was given.

One actor takes many rows: ``deliver_notifications`` gets the ids of up to
``tick.delivery_batch_size`` ``deliver_notification`` rows the tick claimed together, leases
them in one statement and delivers them with ``delivery.deliver_many`` (one read, then per email
one send and one transaction marking it sent), then finishes the rows together. Each row still
ends done, retried or dead on its own, exactly as it would under ``deliver_notification``,
which stays for single rows.
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
from scheduler.services.notifications import DELIVER, DELIVER_BATCH

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
        return _fail(deps, kind, outbox_id, subject_id, attempts, exc)
    ACTOR_DURATION.labels(kind).observe(time.perf_counter() - started)
    _finish(deps, outbox_id)
    return "done"


def _finish(deps: Dependencies, *outbox_ids: str) -> None:
    if not outbox_ids:
        return
    with deps.uow() as uow:
        now = deps.clock.now()
        for outbox_id in outbox_ids:
            uow.outbox.mark_done(outbox_id, now)
        uow.commit()


def _fail(deps: Dependencies, kind: str, outbox_id: str, subject_id: str, attempts: int, exc: Exception) -> str:
    """Record the error on the row: retried later when that can help, else dead. Returns the
    outcome's name."""
    now = deps.clock.now()
    retry_at = now + retry_delay(attempts, exc) if can_retry(exc) and attempts < deps.config.max_attempts else None
    level = logging.INFO if retry_at and getattr(exc, "routine", False) else logging.WARNING
    log.log(level, "%s(%s) %s: %s", kind, subject_id,
            "waits" if level == logging.INFO else "failed" if retry_at else "failed for good", exc)
    with deps.uow() as uow:
        uow.outbox.record_failure(outbox_id, f"{type(exc).__name__}: {exc}", retry_at=retry_at)
        uow.commit()
    return "retry" if retry_at else "dead"


def run_delivery_batch(deps: Dependencies, outbox_ids: list[str]) -> None:
    """Lease these ``deliver_notification`` rows in one statement and deliver them
    (``delivery.deliver_many``); each row is then done, retried or dead as under
    ``run_outbox_row``, counted in ``tandem_actor_messages{actor="deliver_notification"}``. Safe
    to call twice: a row taken by another run is skipped. No new email starts after half the
    lease (``tick.claim_timeout_seconds``), so a slow batch never outlives its leases."""
    with log_context(actor=DELIVER_BATCH):
        taken_at, lease = deps.clock.now(), deps.config.claim_timeout
        with deps.uow() as uow:
            rows = uow.outbox.acquire_many(outbox_ids, taken_at, lease)
            jobs = {row.id: (row.subject_id, row.attempts) for row in rows}
            uow.commit()
        skipped = len(set(outbox_ids)) - len(jobs)
        if skipped:  # done, dead, or running elsewhere: a duplicate message is a no-op
            ACTOR_MESSAGES.labels(DELIVER, "skipped").inc(skipped)
        if not jobs:
            return
        started = time.perf_counter()
        budget = lease.total_seconds() / 2

        def time_left() -> bool:
            return time.perf_counter() - started < budget and deps.clock.now() < taken_at + lease / 2

        def scope(outbox_id: str):
            return log_context(outbox_id=outbox_id, actor=DELIVER)

        done: list[str] = []
        try:
            for outcome in delivery.deliver_many(
                    deps, [delivery.DeliveryJob(i, subject_id) for i, (subject_id, _) in jobs.items()],
                    time_left=time_left, scope=scope):
                outbox_id = outcome.job.outbox_id
                if outcome.error is None:
                    done.append(outbox_id)
                    continue
                with scope(outbox_id):
                    subject_id, attempts = jobs[outbox_id]
                    ACTOR_MESSAGES.labels(DELIVER, _fail(deps, DELIVER, outbox_id, subject_id, attempts,
                                                         outcome.error)).inc()
        finally:
            # Each sent email's notification was marked sent right after the server took it; its
            # outbox row is finished here with the others. Rows left running by a crash before
            # this are re-driven, find their notification sent, and are done without a send.
            _finish(deps, *done)
            ACTOR_MESSAGES.labels(DELIVER, "done").inc(len(done))
            ACTOR_DURATION.labels(DELIVER_BATCH).observe(time.perf_counter() - started)


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
    actors = {kind: dramatiq.actor(_actor_fn(kind, spec, deps), actor_name=kind, broker=broker, max_retries=0,
                                   time_limit=spec.time_limit_ms)
              for kind, spec in table.items()}

    def deliver_notifications(outbox_ids: list[str]) -> None:
        run_delivery_batch(deps, outbox_ids)

    # Past the lease: no email starts after half of it, so only a send hanging until its own
    # timeout (SMTP: 30 s) comes near; the time limit is the last guard, not the schedule.
    lease = deps.config.claim_timeout if deps is not None else timedelta(minutes=5)
    limit_ms = int(lease.total_seconds() * 1000) + 60_000
    actors[DELIVER_BATCH] = dramatiq.actor(deliver_notifications, actor_name=DELIVER_BATCH, broker=broker,
                                           max_retries=0, time_limit=limit_ms)
    return actors
