"""Onboarding use cases: a person confirms their time zone, working hours and preferences; a pair
becomes ``ready`` (and planning is queued) once both people are set up.

Public use cases take ``deps`` and commit their own unit of work; the helpers that take a ``uow``
(``refresh_readiness``, ``make_ready_if_set_up``, ``is_set_up``, ``queue_planning``) run inside
the caller's unit of work and never commit.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Sequence

from scheduler.core.availability import PersonAvailability, WeeklyHours
from scheduler.core.cadence import Cadence
from scheduler.core.entities import CalendarConnection, Pair, Person
from scheduler.core.pair_state import PairState, move_pair
from scheduler.core.preferences import common_timezones, parse_preferences, validate_tz
from scheduler.errors import InvalidInput, UnknownTimeZone
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services.links import LinkError, invitation_of_link
from scheduler.services.replanning import replan_waiting

CADENCES = tuple(c.value for c in Cadence)
validate_timezone = validate_tz  # the one validator lives in scheduler.core.preferences
__all__ = ["CADENCES", "OnboardingAnswers", "check_answers", "common_timezones", "complete_onboarding",
           "validate_timezone", "invitation", "read_invitation", "InvitationGone", "onboarding_page",
           "submit_onboarding", "AnswersRefused", "is_set_up", "has_set_up", "refresh_readiness",
           "make_ready_if_set_up", "queue_planning"]


@dataclass(frozen=True)
class OnboardingAnswers:
    """What a person tells Tandem. ``working_hours`` is ``{"mon": [["09:00", "17:00"]], ...}``;
    ``preferences`` is ``{"preferred": [[...]], "earliest": .., "latest": .., "avoid_days": [..]}``
    (all optional); ``cadence``/``duration_min`` only count where the program allows them."""

    tz: str
    working_hours: dict
    preferences: dict
    cadence: str | None = None
    duration_min: int | None = None


def check_answers(answers: OnboardingAnswers) -> list[str]:
    """Every problem with the answers, each saying what to change."""
    problems = []
    try:
        validate_tz(answers.tz)
    except UnknownTimeZone as exc:
        problems.append(str(exc))
    try:
        hours = WeeklyHours.from_mapping(answers.working_hours)
        if hours.is_empty():
            problems.append("Tick at least one day you could meet, with a start and an end time.")
        else:
            preferences = parse_preferences(answers.preferences)
            PersonAvailability("you", "UTC", hours, preferences=preferences).effective_hours()
    except InvalidInput as exc:
        problems.append(str(exc))
    if answers.cadence is not None and answers.cadence not in CADENCES:
        problems.append(f"Meeting rhythm must be one of {', '.join(CADENCES)}.")
    if answers.duration_min is not None and not 15 <= answers.duration_min <= 180:
        problems.append("Session length must be between 15 and 180 minutes.")
    return problems


# --- the invitation link and the hours page ------------------------------------------------------
@dataclass(frozen=True)
class Invitation:
    """Who an invitation link is for, as the link page needs it."""

    person_id: str
    name: str
    pair_id: str
    onboarded: bool
    program_id: str = ""
    program_name: str = ""
    other_name: str = ""
    asked: bool = False  # already in Tandem, not yet accepted this program: its join page asks


def invitation(deps: Dependencies, person_id: str, pair_id: str) -> Invitation | None:
    """The invitation of ``person_id`` to ``pair_id``; None when either is gone or the person is
    no longer in that pair."""
    with deps.uow() as uow:
        person = uow.people.get(person_id) if person_id else None
        pair = uow.pairs.get(pair_id) if pair_id else None
        if person is None or pair is None or person.id not in (pair.mentor_id, pair.mentee_id):
            return None
        other = pair.mentee if person.id == pair.mentor_id else pair.mentor
        asked = bool(uow.memberships.not_accepted(pair.program_id, [person.id]))
        return Invitation(person.id, person.name or person.email, pair.id, person.onboarded_at is not None,
                          pair.program_id, pair.program.name, other.name or other.email, asked)


class InvitationGone(LinkError):
    """A genuine invitation link whose person or pair is gone (or no longer belong together)."""


def read_invitation(deps: Dependencies, token: str) -> Invitation:
    """The invitation a signed invitation link stands for. LinkError when the link is expired or
    tampered with; :class:`InvitationGone` when it no longer leads anywhere."""
    person_id, pair_id = invitation_of_link(deps, token)
    invite = invitation(deps, person_id, pair_id)
    if invite is None:
        raise InvitationGone("This invitation is no longer valid (the pair may have been removed). "
                             "Ask your program coordinator for a new one.")
    return invite


@dataclass(frozen=True)
class PairContext:
    """The pair a person is onboarding for, as the hours page shows it."""

    program: str
    other: str
    role: str
    cadence: str
    duration_min: int


@dataclass(frozen=True)
class OnboardingPage:
    """What the hours page needs: the person's saved answers, and the pair they came for (None
    when they did not come from an invitation) and whether they may choose rhythm and length."""

    tz: str | None
    working_hours: dict | None
    preferences: dict | None
    pair: PairContext | None
    may_choose: bool


def _page(uow: UnitOfWork, person_id: str, pair_id: str | None) -> OnboardingPage:
    person = uow.people.get(person_id)
    context, may_choose = None, False
    pair = uow.pairs.get(pair_id) if pair_id else None
    if pair is not None and person_id in (pair.mentor_id, pair.mentee_id):
        program = pair.program
        other = pair.mentee if pair.mentor_id == person_id else pair.mentor
        context = PairContext(program=program.name, other=other.name or other.email,
                              role="mentor" if pair.mentor_id == person_id else "mentee",
                              cadence=pair.cadence or program.cadence,
                              duration_min=pair.duration_min or program.duration_min)
        may_choose = bool(program.allow_pair_cadence)
    if person is None:
        return OnboardingPage(None, None, None, context, may_choose)
    return OnboardingPage(person.tz, person.working_hours, person.preferences, context, may_choose)


def onboarding_page(deps: Dependencies, person_id: str, pair_id: str | None) -> OnboardingPage:
    """The hours page for ``person_id``, who came for ``pair_id`` (None: not from an invitation)."""
    with deps.uow() as uow:
        return _page(uow, person_id, pair_id)


@dataclass(frozen=True)
class Onboarded:
    """The outcome of onboarding: the pairs that became ready, and whether the person has a
    calendar connected (else the page sends them to connect one)."""

    ready_pair_ids: tuple[str, ...]
    has_calendar: bool
    replanned_pair_ids: tuple[str, ...] = ()  # waiting pairs planned again because of the change


def complete_onboarding(deps: Dependencies, person_id: str, answers: OnboardingAnswers,
                        pair_id: str | None = None) -> Onboarded:
    """Store the answers, mark the person onboarded, apply cadence/duration to ``pair_id`` when
    its program allows, and queue planning for the pairs that became ready because of it."""
    problems = check_answers(answers)
    if problems:
        raise InvalidInput(" ".join(problems))
    now = deps.clock.now()
    with deps.uow() as uow:
        outcome = _store_answers(uow, person_id, answers, pair_id, now)
        uow.commit()
    return outcome


def _store_answers(uow: UnitOfWork, person_id: str, answers: OnboardingAnswers, pair_id: str | None,
                   now: datetime) -> Onboarded:
    """Store checked answers (see :func:`complete_onboarding`) inside the caller's unit of work."""
    person = uow.people.get(person_id)
    if person is None:
        raise InvalidInput("Your account no longer exists; ask your coordinator for a new invitation.")
    person.tz = validate_tz(answers.tz)
    person.working_hours = answers.working_hours
    person.preferences = answers.preferences
    person.onboarded_at = person.onboarded_at or now
    if pair_id is not None:
        pair = uow.pairs.get(pair_id)
        if pair is not None and person.id in (pair.mentor_id, pair.mentee_id) and pair.program.allow_pair_cadence:
            pair.cadence = answers.cadence or pair.cadence
            pair.duration_min = answers.duration_min or pair.duration_min
    uow.flush()
    ready = refresh_readiness(uow, person_id, now)
    # New hours or preferences can open time: the person's waiting pairs are planned again.
    replanned = replan_waiting(uow, [person_id], now, "hours saved", just_queued=ready)
    has_calendar = bool(uow.connections.of_people([person_id]))
    return Onboarded(tuple(p.id for p in ready), has_calendar, tuple(replanned))


class AnswersRefused(InvalidInput):
    """The hours form's answers were not stored; the message says what to change and ``page`` is
    what to show again around the form (the pair, whether rhythm and length may be chosen)."""

    def __init__(self, message: str, page: OnboardingPage):
        super().__init__(message)
        self.page = page


def submit_onboarding(deps: Dependencies, person_id: str, pair_id: str | None,
                      answers: OnboardingAnswers) -> Onboarded:
    """The hours form, sent by ``person_id`` who came for ``pair_id`` (None: not from an
    invitation), in one unit of work: rhythm and length count only when that pair's program lets
    the pair choose (else they are dropped), the answers are checked and stored as
    :func:`complete_onboarding` does. Raises :class:`AnswersRefused` (nothing stored)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        page = _page(uow, person_id, pair_id)
        if not page.may_choose:
            answers = replace(answers, cadence=None, duration_min=None)
        problems = check_answers(answers)
        if problems:
            raise AnswersRefused(" ".join(problems), page)
        try:
            outcome = _store_answers(uow, person_id, answers, pair_id if page.pair else None, now)
        except InvalidInput as exc:
            raise AnswersRefused(str(exc), page) from exc
        uow.commit()
    return outcome


# --- readiness (inside the caller's unit of work) --------------------------------------------------
def has_set_up(person: Person, connections: Sequence[CalendarConnection]) -> bool:
    """The one "set up" rule, given all of the person's calendar connections: onboarded, no
    calendar waiting for a reconnect, and Tandem knows when they can meet (a calendar or working
    hours)."""
    if person.onboarded_at is None:
        return False
    if any(c.status != "ok" for c in connections):
        return False
    return bool(connections) or bool(person.working_hours)


def is_set_up(uow: UnitOfWork, person: Person) -> bool:
    """:func:`has_set_up` with the person's connections read from ``uow``."""
    if person.onboarded_at is None:
        return False  # no need to read their calendars
    return has_set_up(person, uow.connections.of_people([person.id]))


def refresh_readiness(uow: UnitOfWork, person_id: str, now: datetime) -> list[Pair]:
    """Move each ``invited`` pair of this person to ``ready`` when both people are set up, and
    queue ``plan_pair`` for it in the same transaction. Returns the pairs that became ready."""
    pairs = uow.pairs.of_person(person_id, states=[PairState.INVITED])
    ready = [pair for pair in pairs if make_ready_if_set_up(uow, pair, now)]
    uow.flush()
    return ready


def make_ready_if_set_up(uow: UnitOfWork, pair: Pair, now: datetime) -> bool:
    """Move one ``invited`` pair to ``ready`` (and queue planning) when both people are set up,
    e.g. a pair imported between two people who already use Tandem. True when it moved. Both
    must have accepted the pair's program (someone added to a new program is asked first)."""
    if pair.status != PairState.INVITED or not (is_set_up(uow, pair.mentor) and is_set_up(uow, pair.mentee)):
        return False
    if uow.memberships.not_accepted(pair.program_id, [pair.mentor_id, pair.mentee_id]):
        return False
    move_pair(pair, PairState.READY)
    queue_planning(uow, pair.id, now)
    return True


def queue_planning(uow: UnitOfWork, pair_id: str, now: datetime) -> None:
    """Add the ``plan_pair`` outbox row; ``n`` counts how often this pair was queued before, so a
    pair that becomes ready again (after a reconnect) is planned again."""
    prefix = f"plan_pair:{pair_id}:"
    earlier = uow.outbox.count_with_key_prefix(prefix)
    uow.outbox.add_once("plan_pair", pair_id, f"{prefix}{earlier + 1}", now)
