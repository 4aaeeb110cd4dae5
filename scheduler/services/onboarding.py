"""Onboarding use cases: a person confirms their time zone, working hours and preferences; a pair
becomes ``ready`` (and planning is queued) once both people are set up.

Functions run inside the caller's unit of work and never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.storage.models import CalendarConnection, OutboxMessage, Pair, Person
from adapters.storage.outbox import add_outbox
from scheduler.core.availability import WEEKDAYS, LocalRange, PersonAvailability, Preferences, WeeklyHours, parse_clock
from scheduler.errors import InvalidInput, UnknownTimeZone
from scheduler.core.cadence import Cadence

CADENCES = tuple(c.value for c in Cadence)


def validate_timezone(name: str) -> str:
    """The IANA zone ``name`` (trimmed), or :class:`UnknownTimeZone` saying what to do.

    >>> validate_timezone(" Europe/Berlin ")
    'Europe/Berlin'
    """
    name = (name or "").strip()
    if not name:
        raise UnknownTimeZone("Choose your time zone (for example Europe/Berlin); it could not be detected.")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(f"'{name}' is not a time zone Tandem knows; pick one from the list, "
                              f"for example Europe/Berlin or America/New_York.") from None
    if name not in available_timezones() and name != "UTC":
        raise UnknownTimeZone(f"'{name}' is not a time zone Tandem knows; pick one from the list.")
    return name


def common_timezones() -> list[str]:
    """Zone names for a picker: IANA ``Area/City`` names plus UTC, sorted."""
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/",
                                                                                      "right/"))) + ["UTC"]


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
        validate_timezone(answers.tz)
    except UnknownTimeZone as exc:
        problems.append(str(exc))
    try:
        hours = WeeklyHours.from_mapping(answers.working_hours)
        if hours.is_empty():
            problems.append("Tick at least one day you could meet, with a start and an end time.")
        else:
            preferences = _preferences(answers.preferences)
            PersonAvailability("you", "UTC", hours, preferences=preferences).effective_hours()
    except InvalidInput as exc:
        problems.append(str(exc))
    if answers.cadence is not None and answers.cadence not in CADENCES:
        problems.append(f"Meeting rhythm must be one of {', '.join(CADENCES)}.")
    if answers.duration_min is not None and not 15 <= answers.duration_min <= 180:
        problems.append("Session length must be between 15 and 180 minutes.")
    return problems


def _preferences(raw: dict) -> Preferences:
    preferred = tuple(LocalRange(parse_clock(a), parse_clock(b)) for a, b in raw.get("preferred", []))
    avoid = raw.get("avoid_days", [])
    if any(d not in WEEKDAYS for d in avoid):
        raise InvalidInput("Days to avoid must be weekdays mon..sun.")
    return Preferences(preferred=preferred,
                       earliest_min=parse_clock(raw["earliest"]) if raw.get("earliest") else None,
                       latest_min=parse_clock(raw["latest"]) if raw.get("latest") else None,
                       avoid_days=frozenset(WEEKDAYS.index(d) for d in avoid))


def complete_onboarding(session: Session, person_id: str, answers: OnboardingAnswers, now: datetime,
                        pair_id: str | None = None) -> list[Pair]:
    """Store the answers, mark the person onboarded, apply cadence/duration to ``pair_id`` when
    its program allows, and return the pairs that became ready because of it."""
    problems = check_answers(answers)
    if problems:
        raise InvalidInput(" ".join(problems))
    person = session.get(Person, person_id)
    if person is None:
        raise InvalidInput("Your account no longer exists; ask your coordinator for a new invitation.")
    person.tz = validate_timezone(answers.tz)
    person.working_hours = answers.working_hours
    person.preferences = answers.preferences
    person.onboarded_at = person.onboarded_at or now
    if pair_id is not None:
        pair = session.get(Pair, pair_id)
        if pair is not None and person.id in (pair.mentor_id, pair.mentee_id) and pair.program.allow_pair_cadence:
            pair.cadence = answers.cadence or pair.cadence
            pair.duration_min = answers.duration_min or pair.duration_min
    session.flush()
    return refresh_readiness(session, person_id, now)


def is_set_up(session: Session, person: Person) -> bool:
    """Onboarded, and Tandem knows when they can meet: a healthy calendar or working hours."""
    if person.onboarded_at is None:
        return False
    statuses = list(session.scalars(select(CalendarConnection.status)
                                    .where(CalendarConnection.person_id == person.id)))
    if any(s != "ok" for s in statuses):
        return False
    return bool(statuses) or bool(person.working_hours)


def refresh_readiness(session: Session, person_id: str, now: datetime) -> list[Pair]:
    """Move each ``invited`` pair of this person to ``ready`` when both people are set up, and
    queue ``plan_pair`` for it in the same transaction. Returns the pairs that became ready."""
    pairs = session.scalars(select(Pair).where(((Pair.mentor_id == person_id) | (Pair.mentee_id == person_id)),
                                               Pair.status == "invited"))
    ready = [pair for pair in pairs if make_ready_if_set_up(session, pair, now)]
    session.flush()
    return ready


def make_ready_if_set_up(session: Session, pair: Pair, now: datetime) -> bool:
    """Move one ``invited`` pair to ``ready`` (and queue planning) when both people are set up,
    e.g. a pair imported between two people who already use Tandem. True when it moved."""
    if pair.status != "invited" or not (is_set_up(session, pair.mentor) and is_set_up(session, pair.mentee)):
        return False
    pair.status = "ready"
    pair.status_reason = None
    queue_planning(session, pair.id, now)
    return True


def queue_planning(session: Session, pair_id: str, now: datetime) -> None:
    """Add the ``plan_pair`` outbox row; ``n`` counts how often this pair was queued before, so a
    pair that becomes ready again (after a reconnect) is planned again."""
    prefix = f"plan_pair:{pair_id}:"
    earlier = session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.idempotency_key.startswith(prefix)))
    add_outbox(session, "plan_pair", pair_id, f"{prefix}{earlier + 1}", now)
