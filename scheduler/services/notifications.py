"""Emails as rows: reminders, feedback requests, invitations, moves — created with the change
that causes them, delivered by an actor, never twice (the key is unique and becomes the
Message-ID)."""
from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.core.entities import Notification, Occurrence, OutboxMessage, Pair, Program
from scheduler.core.pair_state import ACTIVE_OCCURRENCE
from scheduler.ports import UnitOfWork

FEEDBACK_DELAY = timedelta(minutes=10)
RECHECK_BEFORE = timedelta(hours=24)  # each session is checked against fresh calendars this long before
DELIVER = "deliver_notification"  # the outbox kind of an email; each row is one notification
DELIVER_BATCH = "deliver_notifications"  # the actor that takes many such rows at once (workers.tick)


def add_notification(uow: UnitOfWork, *, kind: str, person_id: str, due_at: datetime, key: str,
                     pair_id: str | None = None, occurrence_id: str | None = None,
                     payload: dict | None = None) -> str | None:
    """Create the notification and its delivery row; None when ``key`` exists already."""
    notification = Notification(kind=kind, person_id=person_id, pair_id=pair_id, occurrence_id=occurrence_id,
                                due_at=due_at, status="pending", idempotency_key=key, payload=payload or {})
    if not uow.notifications.add_once(notification):
        return None
    uow.outbox.add_once(DELIVER, notification.id, f"deliver:{notification.id}", due_at)
    return notification.id


def occurrence_version(uow: UnitOfWork, occurrence_id: str) -> int:
    """How many notifications this occurrence has had: part of the keys of what a change to it
    sets going, so a session moved back to a time it had before gets its reminders (and its
    "moved" email) again instead of colliding with the old, cancelled rows."""
    return uow.notifications.count_for_occurrence(occurrence_id)


def schedule_occurrence_followups(uow: UnitOfWork, occurrence: Occurrence, pair: Pair, program: Program,
                                  now: datetime) -> int:
    """What one occurrence sets going: reminders before and a feedback request after it for both
    people, and a re-check of the series against fresh calendars a day before.

    Keys include the occurrence's start, so a moved occurrence gets fresh rows; call
    :func:`cancel_occurrence_notifications` first to drop the old ones.
    """
    recheck, planned = occurrence_followups(occurrence, pair, program, now, occurrence_version(uow, occurrence.id))
    if recheck is not None:
        uow.outbox.add_once(recheck.kind, recheck.subject_id, recheck.idempotency_key, recheck.due_at)
    created = 0
    for notification in planned:
        if uow.notifications.add_once(notification):
            uow.outbox.add_once(DELIVER, notification.id, f"deliver:{notification.id}", notification.due_at)
            created += 1
    return created


def occurrence_followups(occurrence: Occurrence, pair: Pair, program: Program, now: datetime, version: int
                         ) -> tuple[OutboxMessage | None, list[Notification]]:
    """The rows :func:`schedule_occurrence_followups` adds (nothing written): the series re-check
    (None when too close) and the notifications, ``version`` being :func:`occurrence_version`."""
    if occurrence.status not in ACTIVE_OCCURRENCE:
        return None, []
    stamp = f'{occurrence.start.strftime("%Y%m%dT%H%M%SZ")}:v{version}'
    recheck = None
    if occurrence.start - RECHECK_BEFORE > now:
        recheck = OutboxMessage(kind="recheck_series", subject_id=occurrence.series_id, status="pending",
                                idempotency_key=f"recheck_series:{occurrence.series_id}:before:{occurrence.id}:{stamp}",
                                due_at=occurrence.start - RECHECK_BEFORE, attempts=0)
    planned = []

    def plan(kind: str, person_id: str, due: datetime, key: str, payload: dict | None = None) -> None:
        planned.append(Notification(kind=kind, person_id=person_id, pair_id=pair.id, occurrence_id=occurrence.id,
                                    due_at=due, status="pending", idempotency_key=key, payload=payload or {}))
    for person_id in (pair.mentor_id, pair.mentee_id):
        for offset in sorted(set(program.reminder_offsets_min or [])):
            due = occurrence.start - timedelta(minutes=offset)
            if due > now:
                plan("reminder", person_id, due, f"reminder:{occurrence.id}:{person_id}:{offset}:{stamp}",
                     {"offset_min": offset})
        due = occurrence.end + FEEDBACK_DELAY
        if due > now:
            plan("feedback", person_id, due, f"feedback:{occurrence.id}:{person_id}:{stamp}")
    return recheck, planned


def delivery_of(notification: Notification) -> OutboxMessage:
    """The outbox row that delivers ``notification`` (as :func:`add_notification` queues it)."""
    return OutboxMessage(kind=DELIVER, subject_id=notification.id, idempotency_key=f"deliver:{notification.id}",
                         status="pending", due_at=notification.due_at, attempts=0)


def cancel_occurrence_notifications(uow: UnitOfWork, occurrence_id: str, kinds=("reminder", "feedback")) -> None:
    uow.notifications.cancel_pending(occurrence_id=occurrence_id, kinds=kinds)


def cancel_pair_notifications(uow: UnitOfWork, pair_id: str) -> None:
    uow.notifications.cancel_pending(pair_id=pair_id)


def notify_pair(uow: UnitOfWork, pair: Pair, kind: str, now: datetime, key: str, payload: dict | None = None,
                occurrence_id: str | None = None, due_at: datetime | None = None) -> None:
    """The same message to both people of a pair (one row each), due at ``due_at`` (default now:
    a change that can be undone sends its notice once the undo window has passed)."""
    for person_id in (pair.mentor_id, pair.mentee_id):
        add_notification(uow, kind=kind, person_id=person_id, due_at=due_at or now, key=f"{key}:{person_id}",
                         pair_id=pair.id, occurrence_id=occurrence_id, payload=payload)


def notify_coordinators(uow: UnitOfWork, pair: Pair, kind: str, now: datetime, key: str, payload: dict) -> None:
    for person_id in uow.memberships.coordinator_ids(pair.program_id):
        add_notification(uow, kind=kind, person_id=person_id, due_at=now, key=f"{key}:{person_id}",
                         pair_id=pair.id, payload=payload)
