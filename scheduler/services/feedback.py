"""Recording a person's answer about one session (from the signed feedback link)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler.core.entities import Feedback
from scheduler.core.timeview import local_when
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services.attendance import resolve_in
from scheduler.services.links import LinkError, signer

ANSWERS = {"met": "We met", "not_met": "We didn't meet", "moved": "We moved it"}


class FeedbackLinkGone(LinkError):
    """A genuine feedback link whose session is gone: the page says so (as for a bad link)."""


@dataclass(frozen=True)
class FeedbackContext:
    """What the feedback page shows: the session (``when`` is its start as the reader says it,
    in their zone) and their earlier answer, if any."""

    notification_id: str
    person_id: str
    occurrence_id: str
    start: datetime
    tz: str
    other_name: str
    existing_answer: str | None
    when: str = ""


def notification_of_link(deps: Dependencies, token: str) -> str:
    """The feedback notification a signed feedback link points at; LinkError when the link is
    expired or tampered with."""
    return signer(deps).read("feedback", token)["n"]


def _context(uow: UnitOfWork, notification_id: str) -> FeedbackContext:
    n = uow.notifications.get(notification_id)
    if n is None or n.kind != "feedback" or n.occurrence_id is None:
        raise FeedbackLinkGone("this feedback link does not belong to a session any more")
    occ = uow.occurrences.get(n.occurrence_id)
    pair = occ.series.pair
    other = pair.mentee if n.person_id == pair.mentor_id else pair.mentor
    me = pair.mentor if n.person_id == pair.mentor_id else pair.mentee
    existing = uow.feedback.given_by(n.person_id, occ.id)
    tz = me.tz or "UTC"
    return FeedbackContext(n.id, n.person_id, occ.id, occ.start, tz, other.name or other.email,
                           existing.answer if existing else None, local_when(occ.start, tz))


def feedback_context(deps: Dependencies, notification_id: str) -> FeedbackContext:
    """The page of one feedback notification; :class:`FeedbackLinkGone` when it has no session."""
    with deps.uow() as uow:
        return _context(uow, notification_id)


def feedback_for_link(deps: Dependencies, token: str) -> FeedbackContext:
    """What the page behind a feedback link shows; LinkError (an InvalidInput) for a bad link."""
    return feedback_context(deps, notification_of_link(deps, token))


def _check(answer: str, rating: int | None) -> None:
    if answer not in ANSWERS:
        raise InvalidInput("choose one of: we met, we didn't meet, we moved it")
    if rating is not None and not 1 <= rating <= 5:
        raise InvalidInput("a rating is from 1 to 5")


def _record(uow: UnitOfWork, ctx: FeedbackContext, answer: str, rating: int | None, notes: str | None,
            now: datetime) -> None:
    row = uow.feedback.given_by(ctx.person_id, ctx.occurrence_id)
    if row is None:
        row = uow.feedback.add(Feedback(occurrence_id=ctx.occurrence_id, person_id=ctx.person_id, answer=answer,
                                        created_at=now))
    row.answer, row.rating, row.notes = answer, rating, (notes or "").strip()[:4000] or None
    occ = uow.occurrences.get(ctx.occurrence_id)
    if answer == "met":
        occ.attendance = "met"
    elif answer == "not_met" and occ.attendance != "met":
        occ.attendance = "missed"
    elif answer == "moved" and occ.attendance == "unknown":
        occ.attendance = "rescheduled"
    uow.flush()
    resolve_in(uow, occ, now)  # the verdict, from this answer and every other signal


def record_feedback(deps: Dependencies, notification_id: str, answer: str, rating: int | None,
                    notes: str | None) -> FeedbackContext:
    """Store (or update) the answer. Notes stay private to the pair; coordinators see only
    whether sessions happen. Returns the page's content as it was before this answer."""
    _check(answer, rating)
    with deps.uow() as uow:
        ctx = _context(uow, notification_id)
        _record(uow, ctx, answer, rating, notes, deps.clock.now())
        uow.commit()
    return ctx


def _rating(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput("a rating is from 1 to 5") from None


def answer_feedback(deps: Dependencies, token: str, answer: str, rating: int | str | None,
                    notes: str | None) -> FeedbackContext:
    """The confirmed answer behind a feedback link, in one unit of work: LinkError (or
    :class:`FeedbackLinkGone`) for a link that leads nowhere, then InvalidInput for an answer or a
    rating (a number from 1 to 5, as typed) it cannot take; else it is stored as
    :func:`record_feedback` does. Returns the page's content as it was before this answer."""
    notification_id = notification_of_link(deps, token)
    with deps.uow() as uow:
        ctx = _context(uow, notification_id)
        value = _rating(rating)
        _check(answer, value)
        _record(uow, ctx, answer, value, notes, deps.clock.now())
        uow.commit()
    return ctx


def record_feedback_for_link(deps: Dependencies, token: str, answer: str, rating: int | None,
                             notes: str | None) -> FeedbackContext:
    """:func:`record_feedback` for the notification a signed feedback link points at."""
    return answer_feedback(deps, token, answer, rating, notes)
