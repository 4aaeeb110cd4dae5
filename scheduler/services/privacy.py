"""Privacy requests: one person's data as a download, the erasure of a person, and how long
feedback free text is kept.

- **Export** (:func:`export_person`): everything Tandem holds about the person that is theirs to
  see, as JSON-ready values — profile, roles, pairs (the other person by name only), sessions and
  their attendance, goals, the feedback *they* wrote, calendar connections without tokens, the
  emails Tandem sent them (kind and time). Never another person's notes, a coordinator's notes or
  diagnosis, or anything of anyone's other calendar events (Tandem never stores those).
- **Erasure** (:func:`erase_person`) runs in two steps, both safe to repeat and to crash in:
  1. *request* (one transaction): the person's pairs end — their booked series are cancelled in
     the calendars through ``cancel_series`` outbox rows, as when a coordinator ends a pair —, the
     other person of each pair is told (``partner_left``, worded for them), pending emails to the
     person are dropped, and an ``erase_person`` outbox row is queued.
  2. *finish* (:func:`finish_erasure`, run at once and by that row): once the calendar work and
     the notices of those pairs are done (or gave up), the person's calendar grants are revoked
     at the provider where it supports it, the tokens and connections deleted, and every row
     about them anonymised in one transaction. The person's row stays as an anonymous
     placeholder so that pairs, sessions and verdicts — the program's figures — stay whole.
- **Retention** (:func:`sweep_feedback_text`): feedback free text older than
  ``ServiceConfig.feedback_retention_days`` is deleted daily; answers and ratings stay.

``docs/privacy.md`` lists what is stored where, and what erasure does and does not do.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scheduler.core.entities import Person
from scheduler.core.pair_state import ACTIVE_OCCURRENCE, PairState
from scheduler.errors import TandemError
from scheduler.ports import CalendarAccount, CalendarProvider, Dependencies, UnitOfWork
from scheduler.services.accounts import account_for
from scheduler.services.connections import PROVIDER_LABELS, revoke_access
from scheduler.services.lifecycle import end_in
from scheduler.services.notifications import add_notification

log = logging.getLogger(__name__)

EXPORT_FORMAT = "tandem.person-export"
EXPORT_VERSION = 1
ERASED_NAME = "Former participant"  # what every place that named an erased person says instead
ERASED_REASON = "ended: one of the pair left Tandem and their data was erased"
NOTICE_KIND = "partner_left"
ITIP_KINDS = ("series_cancel_ics", "series_invite")  # emails whose calendar part names both people
OUTBOX_KIND = "erase_person"
WAIT_STEP = timedelta(minutes=1)  # how often a waiting erasure looks again at its calendar work
MAX_WAIT = timedelta(days=2)  # then it finishes whatever the calendar work did
RETENTION_BATCH = 500
RETENTION_KIND = "feedback_retention"

# What a person should do at each kind of provider, once Tandem's tokens are gone.
AFTER_REVOKE = {
    "google": None,  # Google's revoke endpoint removes the grant itself
    "microsoft": ("Microsoft gives apps no way to withdraw a person's consent: Tandem deleted its tokens, and "
                  "you can remove Tandem from your account at https://myapps.microsoft.com (work or school "
                  "account) or https://account.live.com/consent/Manage (personal account)."),
    "caldav": ("Tandem deleted the app password it held; delete that app password at your calendar provider "
               "too, so it can never be used again."),
    "ics": ("Tandem deleted the calendar feed link it held; to make the link itself stop working, reset the "
            "shared link in your calendar's sharing settings."),
}
GOOGLE_FAILED = ("Google did not confirm the revoke; remove Tandem at https://myaccount.google.com/permissions "
                 "to be sure.")


class NotAllowed(TandemError):
    """The requester may not export or erase this person (only the person and administrators)."""

    retryable = False


class UnknownPerson(TandemError):
    """No such person (or their data was erased already)."""

    retryable = False


@dataclass(frozen=True)
class CalendarRevocation:
    """What happened to one calendar connection: ``revoked`` is False when the provider could not
    confirm it; ``advice`` says what the person can still do (None: nothing)."""

    provider: str
    label: str
    revoked: bool
    advice: str | None


@dataclass(frozen=True)
class ErasureReport:
    """The outcome of :func:`erase_person`. ``finished`` is False while the calendars are still
    being updated (the ``erase_person`` outbox row finishes it, usually within minutes);
    ``calendars`` is filled when it finished in this call."""

    person_id: str
    finished: bool
    already_erased: bool
    pairs_ended: int
    people_told: int
    calendars: tuple[CalendarRevocation, ...] = ()


# --- who may ask ------------------------------------------------------------------------------------
def _authorized(uow: UnitOfWork, person_id: str, requested_by: str | None) -> Person:
    """The person, when ``requested_by`` is them or an administrator (None: the caller checked,
    as the API does with an administrator's token). Someone else learns nothing — not even
    whether the person exists."""
    if requested_by is not None and requested_by != person_id:
        requester = uow.people.get(requested_by)
        if requester is None or not requester.is_admin or requester.erased_at is not None:
            raise NotAllowed("Only the person themself or a Tandem administrator can export or erase their data.")
    person = uow.people.get(person_id)
    if person is None:
        raise UnknownPerson("There is no such person in Tandem.")
    return person


def may_manage(deps: Dependencies, person_id: str, requested_by: str) -> bool:
    """Whether ``requested_by`` may export or erase ``person_id`` (an existing person's own data,
    or anyone's for an administrator)."""
    with deps.uow() as uow:
        try:
            _authorized(uow, person_id, requested_by)
        except (NotAllowed, UnknownPerson):
            return False
        return True


@dataclass(frozen=True)
class CalendarToRevoke:
    """One of the person's calendars as the erasure page lists it: what Tandem will do, and what
    the person should do themself afterwards (None: nothing)."""

    provider: str
    label: str
    account_email: str
    advice: str | None


@dataclass(frozen=True)
class PrivacySummary:
    """What the export and erasure pages show about one person before anything happens."""

    person_id: str
    name: str
    email: str
    pairs_to_end: int
    upcoming_sessions: int
    calendars: tuple[CalendarToRevoke, ...]
    erasure_under_way: bool

    @property
    def display_name(self) -> str:
        return self.name or self.email


def privacy_summary(deps: Dependencies, person_id: str, *, requested_by: str) -> PrivacySummary:
    """What erasing the person would end and revoke (``NotAllowed``/``UnknownPerson`` as
    :func:`export_person`; an erased person is unknown)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        person = _authorized(uow, person_id, requested_by)
        if person.erased_at is not None:
            raise UnknownPerson("This person's data was erased already.")
        pairs = [p for p in uow.pairs.of_person(person_id) if p.status != PairState.ENDED]
        upcoming = sum(1 for p in pairs for series in uow.series.active_of_pair(p.id)
                       for occ in series.occurrences if occ.status in ACTIVE_OCCURRENCE and occ.start > now)
        calendars = tuple(CalendarToRevoke(c.provider, PROVIDER_LABELS.get(c.provider, c.provider), c.account_email,
                                           AFTER_REVOKE.get(c.provider))
                          for c in uow.connections.of_people([person_id]))
        return PrivacySummary(person.id, person.name, person.email, len(pairs), upcoming, calendars,
                              person.erasure_requested_at is not None)


def find_person(deps: Dependencies, email: str, *, requested_by: str) -> PrivacySummary | None:
    """An administrator looks a person up by email address (None: nobody, or erased);
    ``NotAllowed`` for anyone else."""
    with deps.uow() as uow:
        requester = uow.people.get(requested_by)
        if requester is None or not requester.is_admin:
            raise NotAllowed("Only Tandem administrators can look people up for a privacy request.")
        person = uow.people.by_email(email.strip()) if email.strip() else None
        if person is None or person.erased_at is not None:
            return None
        person_id = person.id
    return privacy_summary(deps, person_id, requested_by=requested_by)


# --- export -----------------------------------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_person(deps: Dependencies, person_id: str, *, requested_by: str | None = None) -> dict:
    """Everything Tandem holds about the person that is theirs to see, as JSON-ready values (see
    the module's docstring and ``docs/privacy.md``). Raises ``NotAllowed`` unless
    ``requested_by`` is the person or an administrator (None: the caller has checked),
    ``UnknownPerson`` for an unknown or erased person."""
    with deps.uow() as uow:
        person = _authorized(uow, person_id, requested_by)
        if person.erased_at is not None:
            raise UnknownPerson("This person's data was erased; there is nothing left to export.")
        programs: dict[str, str] = {}

        def program_name(program_id: str) -> str:
            if program_id not in programs:
                program = uow.programs.get(program_id)
                programs[program_id] = program.name if program else ""
            return programs[program_id]

        mine = {f.occurrence_id: f for f in uow.feedback.written_by(person_id)}
        pairs, feedback = [], []
        occurrence_pair: dict[str, str] = {}
        for pair in uow.pairs.of_person(person_id):
            role = "mentor" if pair.mentor_id == person_id else "mentee"
            other = pair.mentee if role == "mentor" else pair.mentor
            sessions = []
            for occ in uow.occurrences.of_pair(pair.id):
                occurrence_pair[occ.id] = pair.id
                sessions.append({
                    "id": occ.id, "series_id": occ.series_id, "start": _iso(occ.start), "end": _iso(occ.end),
                    "originally_at": _iso(occ.original_start), "status": occ.status,
                    "attendance": occ.attendance_verdict, "agenda": occ.agenda,
                    "my_feedback": _feedback(mine[occ.id]) if occ.id in mine else None})
            pairs.append({
                "id": pair.id, "program": {"id": pair.program_id, "name": program_name(pair.program_id)},
                "my_role": role, "other_person": {"id": other.id, "name": other.name},
                "status": pair.status, "cadence": pair.cadence, "duration_min": pair.duration_min,
                "created_at": _iso(pair.created_at),
                "goals": [{"text": g.text, "status": g.status, "created_at": _iso(g.created_at),
                           "reviewed_at": _iso(g.reviewed_at)} for g in pair.goals],
                "series": [{"id": s.id, "rule": s.rrule, "first_local_start": s.dtstart_local, "time_zone": s.tz,
                            "duration_min": s.duration_min, "status": s.status, "video_url": s.video_url,
                            "created_at": _iso(s.created_at)} for s in pair.series],
                "sessions": sessions})
        for f in mine.values():
            feedback.append({**_feedback(f), "occurrence_id": f.occurrence_id,
                             "pair_id": occurrence_pair.get(f.occurrence_id)})
        feedback.sort(key=lambda item: (item["created_at"] or "", item["occurrence_id"]))
        return {
            "format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": _iso(deps.clock.now()),
            "person": {"id": person.id, "email": person.email, "name": person.name, "time_zone": person.tz,
                       "working_hours": person.working_hours, "preferences": person.preferences,
                       "is_admin": bool(person.is_admin), "onboarded_at": _iso(person.onboarded_at),
                       "digest_opt_out": bool(person.digest_opt_out), "created_at": _iso(person.created_at)},
            "roles": [{"program": {"id": m.program_id, "name": program_name(m.program_id)}, "role": m.role}
                      for m in uow.memberships.of_person(person_id)],
            "pairs": pairs,
            "feedback": feedback,
            "calendar_connections": [
                {"id": c.id, "provider": c.provider, "account_email": c.account_email, "calendar_id": c.calendar_id,
                 "status": c.status, "last_checked_at": _iso(c.last_checked_at), "created_at": _iso(c.created_at)}
                for c in uow.connections.of_people([person_id])],
            "emails": [{"kind": n.kind, "status": n.status, "due_at": _iso(n.due_at), "sent_at": _iso(n.sent_at),
                        "pair_id": n.pair_id} for n in uow.notifications.of_person(person_id)],
        }


def _feedback(f) -> dict:
    return {"answer": f.answer, "rating": f.rating, "notes": f.notes,
            "action_items": f.action_items.splitlines() if f.action_items else [], "created_at": _iso(f.created_at)}


# --- erasure ----------------------------------------------------------------------------------------
def erase_person(deps: Dependencies, person_id: str, *, requested_by: str | None) -> ErasureReport:
    """Erase the person: end their pairs (calendars updated through the outbox, the other person
    told), then revoke their calendar grants and anonymise every row about them, at once when no
    calendar work is pending, else by the ``erase_person`` outbox row once it is done. Idempotent:
    erasing an erased person reports ``already_erased``. Raises ``NotAllowed`` unless
    ``requested_by`` is the person or an administrator (None: the caller has checked)."""
    with deps.uow() as uow:
        person = _authorized(uow, person_id, requested_by)
        if person.erased_at is not None:
            return ErasureReport(person_id, finished=True, already_erased=True, pairs_ended=0, people_told=0)
        ended, told = _request(uow, person, deps.clock.now())
        uow.commit()
    log.info("erasure of person %s requested (%d pair(s) ended)", person_id, ended)
    calendars = finish_erasure(deps, person_id)
    return ErasureReport(person_id, finished=calendars is not None, already_erased=False, pairs_ended=ended,
                         people_told=told, calendars=calendars or ())


def _request(uow: UnitOfWork, person: Person, now: datetime) -> tuple[int, int]:
    """Step 1 (in the caller's transaction): end the person's pairs, tell the other people, drop
    the emails queued for the person, queue the finishing row. A repeat changes nothing more."""
    if person.erasure_requested_at is None:
        person.erasure_requested_at = now
    person.digest_opt_out = True
    ended = told = 0
    for pair in uow.pairs.of_person(person.id):
        if pair.status == PairState.ENDED:
            continue
        cancelled = sorted(occ.start for series in uow.series.active_of_pair(pair.id) for occ in series.occurrences
                           if occ.status in ACTIVE_OCCURRENCE + ("conflict",) and occ.start > now)
        # as a coordinator's "end": series cancelled in the calendars, reminders dropped, the freed
        # time offered to waiting pairs; the one who stays is told below, in words for them
        end_in(uow, pair, now, None, reason=ERASED_REASON, tell=None)
        left_role, other_id = ("mentor", pair.mentee_id) if pair.mentor_id == person.id else ("mentee", pair.mentor_id)
        ended += 1
        program = uow.programs.get(pair.program_id)
        told += add_notification(
            uow, kind=NOTICE_KIND, person_id=other_id, due_at=now, key=f"{NOTICE_KIND}:{pair.id}:{other_id}",
            pair_id=pair.id, payload={"role": left_role, "program_name": program.name if program else "",
                                      "sessions": [start.isoformat() for start in cancelled]}) is not None
    _drop_pending(uow, person.id)
    uow.outbox.add_once(OUTBOX_KIND, person.id, f"{OUTBOX_KIND}:{person.id}", now)
    return ended, told


def _drop_pending(uow: UnitOfWork, person_id: str) -> None:
    for n in uow.notifications.of_person(person_id):
        if n.status == "pending":
            n.status = "cancelled"


def finish_erasure(deps: Dependencies, person_id: str) -> tuple[CalendarRevocation, ...] | None:
    """Step 2 (also the ``erase_person`` actor): None while the calendar work and notices of the
    person's pairs are still under way (a later row looks again); else revoke, delete and
    anonymise, and return what happened to each calendar (empty when it was done already)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        person = uow.people.get(person_id)
        if person is None or person.erased_at is not None or person.erasure_requested_at is None:
            return ()
        if _still_busy(uow, person_id, now) and now - person.erasure_requested_at < MAX_WAIT:
            uow.outbox.add_once(OUTBOX_KIND, person_id, f"{OUTBOX_KIND}:{person_id}:{now:%Y%m%dT%H%M%S%f}",
                                now + WAIT_STEP)
            uow.commit()
            return None
        grants = [(c.id, c.provider, account_for(deps, c) if c.token_blob else None)
                  for c in uow.connections.of_people([person_id])]
    calendars = tuple(_revoke(deps, *grant) for grant in grants)
    with deps.uow() as uow:
        person = uow.people.get(person_id, lock=True)
        if person is None or person.erased_at is not None:
            return calendars
        _anonymise(uow, person, now)
        uow.commit()
    log.info("person %s erased (%d calendar connection(s) removed)", person_id, len(calendars))
    return calendars


def _still_busy(uow: UnitOfWork, person_id: str, now: datetime) -> bool:
    """Whether calendar work of the person's pairs (series cancellations at the provider, or the
    emailed iTIP cancellation to the other person) is still queued: it needs the person's tokens
    and address intact (an iTIP CANCEL must name the organizer the invitation named)."""
    subjects: list[str] = []
    for pair in uow.pairs.of_person(person_id):
        subjects.extend(series.id for series in pair.series)
        for n in uow.notifications.of_person(pair.mentee_id if pair.mentor_id == person_id else pair.mentor_id):
            if n.pair_id == pair.id and n.kind in ITIP_KINDS and n.status == "pending" and n.due_at <= now:
                subjects.append(n.id)
    # rows that are due (a re-check queued for the day before a cancelled session is not)
    return uow.outbox.count_unfinished(subjects, due_by=now) > 0


def _revoke(deps: Dependencies, connection_id: str, kind: str, account: CalendarAccount | None
            ) -> CalendarRevocation:
    label = PROVIDER_LABELS.get(kind, kind)
    provider: CalendarProvider | None = deps.providers.get(kind)
    outcome = revoke_access(deps, connection_id, provider, account, label)
    advice = AFTER_REVOKE.get(kind) if outcome.revoked else (GOOGLE_FAILED if kind == "google" else outcome.message)
    return CalendarRevocation(kind, label, outcome.revoked, advice)


def _anonymise(uow: UnitOfWork, person: Person, now: datetime) -> None:
    """Step 2's transaction: delete what only concerned the person, blank what named them, keep
    the rows the program's figures count (pairs, series, sessions, verdicts, answers)."""
    connections = uow.connections.of_people([person.id])
    texts = _identifying_texts([person.name, person.email] + [c.account_email for c in connections])
    for connection in connections:
        connection.token_blob = None
        uow.connections.delete(connection)
    for membership in uow.memberships.of_person(person.id):
        if membership.role == "coordinator":
            uow.memberships.delete(membership)
    for pair in uow.pairs.of_person(person.id):
        pair.status_reason = ERASED_REASON
        for goal in list(pair.goals):  # the pair's own words, often about the person
            uow.goals.delete(goal)
        for series in pair.series:
            series.video_url = None
            series.provider_event_id = None
        occurrences = uow.occurrences.of_pair(pair.id)
        for occ in occurrences:
            occ.agenda = None
            occ.attendance_note = None
        for answer in uow.feedback.of_occurrences([o.id for o in occurrences]):
            answer.notes = answer.action_items = None  # both people's free text about sessions with the person
    for answer in uow.feedback.written_by(person.id):
        answer.notes = answer.action_items = None
    for n in uow.notifications.of_person(person.id):
        if n.status == "pending":
            n.status = "cancelled"  # dropped; a sent one is never sent again (its key stays)
        n.payload = {}
    patterns = _patterns(texts)
    escaped = [_json_escaped(t) for t in texts]
    for n in uow.notifications.payload_mentioning(texts + escaped):
        n.payload = _scrub(n.payload, patterns)
    for pair in uow.pairs.mentioning(texts + escaped):
        pair.status_reason = _scrub(pair.status_reason, patterns)
        pair.history = _scrub(pair.history, patterns)
    for delivery in uow.webhook_deliveries.mentioning(texts + escaped):
        delivery.payload = _scrub(delivery.payload, patterns)
        delivery.last_error = _scrub(delivery.last_error, patterns)
    for row in uow.outbox.errors_mentioning(texts):
        row.last_error = _scrub(row.last_error, patterns)
    person.email = f"erased-{person.id}@erased.invalid"
    person.name = ERASED_NAME
    person.tz = person.working_hours = person.preferences = None
    person.is_admin = False
    person.digest_opt_out = True
    person.erased_at = now


def _identifying_texts(values: list[str | None]) -> list[str]:
    """The strings that identify the person (name, addresses; lower-case variants too), longest
    first so that a longer match is replaced before a part of it."""
    found = {v.strip() for v in values if v and v.strip()}
    found |= {v.lower() for v in found}
    return sorted(found, key=lambda v: (-len(v), v))


def _json_escaped(text: str) -> str:
    return json.dumps(text)[1:-1]


def _patterns(texts: list[str]) -> list[re.Pattern]:
    # Whole words only where a text starts or ends with a word character: a short name inside a
    # longer word is not the person.
    return [re.compile((r"\b" if t[0].isalnum() else "") + re.escape(t) + (r"\b" if t[-1].isalnum() else ""))
            for t in texts]


def _scrub(value: Any, patterns: list[re.Pattern]) -> Any:
    """``value`` with every match replaced by ``ERASED_NAME`` (strings inside JSON values too)."""
    if isinstance(value, str):
        for pattern in patterns:
            value = pattern.sub(ERASED_NAME, value)
        return value
    if isinstance(value, list):
        return [_scrub(v, patterns) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, patterns) for k, v in value.items()}
    return value


# --- retention --------------------------------------------------------------------------------------
def queue_retention_sweep(deps: Dependencies) -> int:
    """Queue today's retention sweep (one ``feedback_retention`` row per day); 0 when it was
    queued already or retention is off."""
    if deps.config.feedback_retention_days <= 0:
        return 0
    now = deps.clock.now()
    with deps.uow() as uow:
        queued = uow.outbox.add_once(RETENTION_KIND, "feedback", f"{RETENTION_KIND}:{now.date().isoformat()}", now)
        uow.commit()
    return int(queued)


def run_retention_sweep(deps: Dependencies, subject_id: str = "feedback") -> int:
    """The ``feedback_retention`` actor: :func:`sweep_feedback_text`."""
    return sweep_feedback_text(deps)


def sweep_feedback_text(deps: Dependencies) -> int:
    """Delete the free text (``feedback.notes`` and ``action_items``) of answers older than
    ``deps.config.feedback_retention_days`` (0: keep it); the answer and the rating stay, so
    attendance and reports do not change. Returns how many texts were deleted. Runs once a
    day (``queue_retention_sweep``); a repeat finds nothing more to do."""
    days = deps.config.feedback_retention_days
    if days <= 0:
        return 0
    cutoff = deps.clock.now() - timedelta(days=days)
    deleted = 0
    while True:
        with deps.uow() as uow:
            batch = uow.feedback.notes_written_before(cutoff, limit=RETENTION_BATCH)
            for answer in batch:
                answer.notes = answer.action_items = None
            uow.commit()
        deleted += len(batch)
        if len(batch) < RETENTION_BATCH:
            break
    if deleted:
        log.info("retention: deleted the text of %d feedback answer(s) older than %d days", deleted, days)
    return deleted
