"""Recording a person's answer about one session (from the signed feedback link)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler.core.entities import Feedback
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies
from scheduler.services.links import signer

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


def notification_of_link(deps: Dependencies, token: str) -> str:
    """The feedback notification a signed feedback link points at; LinkError when the link is
    expired or tampered with."""
    return signer(deps).read("feedback", token)["n"]


def feedback_context(deps: Dependencies, notification_id: str) -> FeedbackContext:
    with deps.uow() as uow:
        n = uow.notifications.get(notification_id)
        if n is None or n.kind != "feedback" or n.occurrence_id is None:
            raise InvalidInput("this feedback link does not belong to a session any more")
        occ = uow.occurrences.get(n.occurrence_id)
        pair = occ.series.pair
        other = pair.mentee if n.person_id == pair.mentor_id else pair.mentor
        me = pair.mentor if n.person_id == pair.mentor_id else pair.mentee
        existing = uow.feedback.given_by(n.person_id, occ.id)
        return FeedbackContext(n.id, n.person_id, occ.id, occ.start, me.tz or "UTC",
                               other.name or other.email, existing.answer if existing else None)


def feedback_for_link(deps: Dependencies, token: str) -> FeedbackContext:
    """What the page behind a feedback link shows; InvalidInput (LinkError) for a bad link."""
    return feedback_context(deps, notification_of_link(deps, token))


def record_feedback(deps: Dependencies, notification_id: str, answer: str, rating: int | None,
                    notes: str | None) -> None:
    """Store (or update) the answer. Notes stay private to the pair; coordinators see only
    whether sessions happen."""
    if answer not in ANSWERS:
        raise InvalidInput("choose one of: we met, we didn't meet, we moved it")
    if rating is not None and not 1 <= rating <= 5:
        raise InvalidInput("a rating is from 1 to 5")
    ctx = feedback_context(deps, notification_id)
    with deps.uow() as uow:
        row = uow.feedback.given_by(ctx.person_id, ctx.occurrence_id)
        if row is None:
            row = uow.feedback.add(Feedback(occurrence_id=ctx.occurrence_id, person_id=ctx.person_id, answer=answer))
        row.answer, row.rating, row.notes = answer, rating, (notes or "").strip()[:4000] or None
        occ = uow.occurrences.get(ctx.occurrence_id)
        if answer == "met":
            occ.attendance = "met"
        elif answer == "not_met" and occ.attendance != "met":
            occ.attendance = "missed"
        elif answer == "moved" and occ.attendance == "unknown":
            occ.attendance = "rescheduled"
        uow.commit()


def record_feedback_for_link(deps: Dependencies, token: str, answer: str, rating: int | None,
                             notes: str | None) -> None:
    """:func:`record_feedback` for the notification a signed feedback link points at."""
    record_feedback(deps, notification_of_link(deps, token), answer, rating, notes)
