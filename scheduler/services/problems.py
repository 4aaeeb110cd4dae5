"""Work that kept failing (dead outbox rows), traced back to pairs, for coordinators to see."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler.core.entities import OutboxMessage
from scheduler.ports import Dependencies, UnitOfWork

LABELS = {
    "plan_pair": "planning the sessions", "book_series": "booking the series on the calendar",
    "recheck_series": "re-checking the sessions against the calendars", "push_occurrence": "updating one session",
    "cancel_series": "cancelling the series", "deliver_notification": "sending an email",
    "handle_calendar_change": "reading calendar changes", "renew_watch": "renewing calendar notifications",
}


@dataclass(frozen=True)
class FailedWork:
    pair_id: str
    what: str
    error: str
    attempts: int
    since: datetime


def _pairs_of(uow: UnitOfWork, row: OutboxMessage) -> list[str]:
    kind, subject = row.kind, row.subject_id
    if kind == "plan_pair":
        return [subject]
    if kind in ("book_series", "recheck_series", "cancel_series"):
        series = uow.series.get(subject)
        return [series.pair_id] if series else []
    if kind == "push_occurrence":
        occ = uow.occurrences.get(subject)
        return [occ.series.pair_id] if occ else []
    if kind == "deliver_notification":
        n = uow.notifications.get(subject)
        return [n.pair_id] if n and n.pair_id else []
    if kind in ("handle_calendar_change", "renew_watch"):
        conn = uow.connections.get(subject)
        if conn is None:
            return []
        return [pair.id for pair in uow.pairs.of_person(conn.person_id)]
    return []


def failed_work_in(uow: UnitOfWork, program_id: str) -> list[FailedWork]:
    """:func:`failed_work` inside the caller's unit of work."""
    pair_ids = {pair.id for pair in uow.pairs.of_program(program_id)}
    found = []
    for row in sorted(uow.outbox.dead(), key=lambda r: r.due_at, reverse=True):
        for pair_id in _pairs_of(uow, row):
            if pair_id in pair_ids:
                found.append(FailedWork(pair_id, LABELS.get(row.kind, row.kind), row.last_error or "unknown error",
                                        row.attempts, row.created_at))
    return found


def failed_work(deps: Dependencies, program_id: str) -> list[FailedWork]:
    """Dead outbox rows of a program's pairs, newest first, each with the error it kept hitting."""
    with deps.uow() as uow:
        return failed_work_in(uow, program_id)
