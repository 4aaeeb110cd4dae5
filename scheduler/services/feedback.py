"""Recording a person's answer about one session (from the signed feedback link)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler.core.entities import Feedback, Occurrence
from scheduler.core.pair_state import ACTIVE_OCCURRENCE
from scheduler.core.timeview import local_day, local_when
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


MAX_ACTION_ITEMS, MAX_ACTION_ITEM_CHARS = 10, 300


def action_item_lines(text: str | None) -> list[str]:
    """Action items as typed, one per line: bullets and blank lines dropped; a clear error when
    there are too many or one is too long.

    >>> action_item_lines("- Draft the talk outline\n\n* Ask Sam about the review ")
    ['Draft the talk outline', 'Ask Sam about the review']
    """
    items = [line.strip().lstrip("-*•").strip() for line in (text or "").splitlines()]
    items = [item for item in items if item]
    if len(items) > MAX_ACTION_ITEMS:
        raise InvalidInput(f"Keep it to {MAX_ACTION_ITEMS} action items, one per line; "
                           "merge the small ones.")
    if any(len(item) > MAX_ACTION_ITEM_CHARS for item in items):
        raise InvalidInput(f"Keep each action item under {MAX_ACTION_ITEM_CHARS} characters; "
                           "link to a document for details.")
    return items


def carry_action_items(uow: UnitOfWork, occ: Occurrence, who: str, items: list[str], now: datetime) -> None:
    """Add ``items`` to the agenda of the pair's next session after ``occ`` (the first upcoming
    scheduled or moved one): a block headed with the session they come from and who wrote them.
    An item already on that agenda is not added again, so answering twice adds nothing twice."""
    if not items:
        return
    upcoming = [o for o in uow.occurrences.of_pair(occ.series.pair_id)
                if o.status in ACTIVE_OCCURRENCE and o.start > max(now, occ.start)]
    if not upcoming:
        return  # the series is over: the items stay with the feedback (and in the person's export)
    nxt = upcoming[0]
    agenda = nxt.agenda or ""
    new = [item for item in items if f"- {item}" not in agenda.splitlines()]
    if not new:
        return
    tz = occ.series.tz or "UTC"
    heading = f"Action items from {local_day(occ.start, tz)} ({who}):"
    block = "\n".join([heading, *(f"- {item}" for item in new)])
    nxt.agenda = f"{agenda.rstrip()}\n\n{block}" if agenda.strip() else block


def _record(uow: UnitOfWork, ctx: FeedbackContext, answer: str, rating: int | None, notes: str | None,
            now: datetime, action_items: str | None = None) -> None:
    items = action_item_lines(action_items)
    row = uow.feedback.given_by(ctx.person_id, ctx.occurrence_id)
    if row is None:
        row = uow.feedback.add(Feedback(occurrence_id=ctx.occurrence_id, person_id=ctx.person_id, answer=answer,
                                        created_at=now))
    row.answer, row.rating, row.notes = answer, rating, (notes or "").strip()[:4000] or None
    if items:
        earlier = action_item_lines(row.action_items) if row.action_items else []
        row.action_items = "\n".join(earlier + [i for i in items if i not in earlier])
    occ = uow.occurrences.get(ctx.occurrence_id)
    person = uow.people.get(ctx.person_id)
    carry_action_items(uow, occ, (person.name or person.email).split(" ")[0] if person else "", items, now)
    if answer == "met":
        occ.attendance = "met"
    elif answer == "not_met" and occ.attendance != "met":
        occ.attendance = "missed"
    elif answer == "moved" and occ.attendance == "unknown":
        occ.attendance = "rescheduled"
    uow.flush()
    resolve_in(uow, occ, now)  # the verdict, from this answer and every other signal


def record_feedback(deps: Dependencies, notification_id: str, answer: str, rating: int | None,
                    notes: str | None, action_items: str | None = None) -> FeedbackContext:
    """Store (or update) the answer. Notes stay private to the pair; coordinators see only
    whether sessions happen. Returns the page's content as it was before this answer."""
    _check(answer, rating)
    with deps.uow() as uow:
        ctx = _context(uow, notification_id)
        _record(uow, ctx, answer, rating, notes, deps.clock.now(), action_items)
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
                    notes: str | None, action_items: str | None = None) -> FeedbackContext:
    """The confirmed answer behind a feedback link, in one unit of work: LinkError (or
    :class:`FeedbackLinkGone`) for a link that leads nowhere, then InvalidInput for an answer or a
    rating (a number from 1 to 5, as typed) it cannot take; else it is stored as
    :func:`record_feedback` does. Returns the page's content as it was before this answer."""
    notification_id = notification_of_link(deps, token)
    with deps.uow() as uow:
        ctx = _context(uow, notification_id)
        value = _rating(rating)
        _check(answer, value)
        _record(uow, ctx, answer, value, notes, deps.clock.now(), action_items)
        uow.commit()
    return ctx


def record_feedback_for_link(deps: Dependencies, token: str, answer: str, rating: int | None,
                             notes: str | None) -> FeedbackContext:
    """:func:`record_feedback` for the notification a signed feedback link points at."""
    return answer_feedback(deps, token, answer, rating, notes)
