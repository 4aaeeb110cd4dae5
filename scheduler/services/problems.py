"""Work that kept failing (dead outbox rows), traced back to pairs, for coordinators to see."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from adapters.storage.models import (CalendarConnection, Notification, Occurrence, OutboxMessage, Pair, Series)

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


def _pairs_of(session, row: OutboxMessage) -> list[str]:
    kind, subject = row.kind, row.subject_id
    if kind == "plan_pair":
        return [subject]
    if kind in ("book_series", "recheck_series", "cancel_series"):
        series = session.get(Series, subject)
        return [series.pair_id] if series else []
    if kind == "push_occurrence":
        occ = session.get(Occurrence, subject)
        return [occ.series.pair_id] if occ else []
    if kind == "deliver_notification":
        n = session.get(Notification, subject)
        return [n.pair_id] if n and n.pair_id else []
    if kind in ("handle_calendar_change", "renew_watch"):
        conn = session.get(CalendarConnection, subject)
        if conn is None:
            return []
        return list(session.scalars(select(Pair.id).where((Pair.mentor_id == conn.person_id) |
                                                          (Pair.mentee_id == conn.person_id))))
    return []


def failed_work(session, program_id: str) -> list[FailedWork]:
    """Dead outbox rows of a program's pairs, newest first, each with the error it kept hitting."""
    pair_ids = set(session.scalars(select(Pair.id).where(Pair.program_id == program_id)))
    found = []
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")
                               .order_by(OutboxMessage.due_at.desc())):
        for pair_id in _pairs_of(session, row):
            if pair_id in pair_ids:
                found.append(FailedWork(pair_id, LABELS.get(row.kind, row.kind), row.last_error or "unknown error",
                                        row.attempts, row.created_at))
    return found
