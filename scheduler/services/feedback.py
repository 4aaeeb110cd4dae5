"""Recording a person's answer about one session (from the signed feedback link)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from adapters.storage.models import Feedback, Notification, Occurrence
from scheduler.errors import InvalidInput

ANSWERS = {"met": "We met", "not_met": "We didn't meet", "moved": "We moved it"}


@dataclass(frozen=True)
class FeedbackContext:
    notification_id: str
    person_id: str
    occurrence_id: str
    start: datetime
    tz: str
    other_name: str
    existing_answer: str | None


def feedback_context(container, notification_id: str) -> FeedbackContext:
    with container.uow() as uow:
        n = uow.session.get(Notification, notification_id)
        if n is None or n.kind != "feedback" or n.occurrence_id is None:
            raise InvalidInput("this feedback link does not belong to a session any more")
        occ = uow.session.get(Occurrence, n.occurrence_id)
        pair = occ.series.pair
        other = pair.mentee if n.person_id == pair.mentor_id else pair.mentor
        me = pair.mentor if n.person_id == pair.mentor_id else pair.mentee
        existing = uow.session.scalar(select(Feedback.answer).where(Feedback.occurrence_id == occ.id,
                                                                   Feedback.person_id == n.person_id))
        return FeedbackContext(n.id, n.person_id, occ.id, occ.start, me.tz or "UTC",
                               other.name or other.email, existing)


def record_feedback(container, notification_id: str, answer: str, rating: int | None, notes: str | None) -> None:
    """Store (or update) the answer. Notes stay private to the pair; coordinators see only
    whether sessions happen."""
    if answer not in ANSWERS:
        raise InvalidInput("choose one of: we met, we didn't meet, we moved it")
    if rating is not None and not 1 <= rating <= 5:
        raise InvalidInput("a rating is from 1 to 5")
    ctx = feedback_context(container, notification_id)
    with container.uow() as uow:
        row = uow.session.scalars(select(Feedback).where(Feedback.occurrence_id == ctx.occurrence_id,
                                                        Feedback.person_id == ctx.person_id)).one_or_none()
        if row is None:
            row = Feedback(occurrence_id=ctx.occurrence_id, person_id=ctx.person_id, answer=answer)
            uow.session.add(row)
        row.answer, row.rating, row.notes = answer, rating, (notes or "").strip()[:4000] or None
        occ = uow.session.get(Occurrence, ctx.occurrence_id)
        if answer == "met":
            occ.attendance = "met"
        elif answer == "not_met" and occ.attendance != "met":
            occ.attendance = "missed"
        elif answer == "moved" and occ.attendance == "unknown":
            occ.attendance = "rescheduled"
        uow.commit()
