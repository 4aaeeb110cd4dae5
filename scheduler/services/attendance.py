"""Whether sessions really took place: resolving each occurrence's attendance verdict from every
signal (rules in :mod:`scheduler.core.attendance`), a coordinator's correction, and the daily
sweep that settles sessions whose answer window has passed.

Signals that happen (a skip, a cancellation by Tandem or in a calendar) are recorded on the
occurrence with :func:`record_signal` by the use case that sees them, in its own transaction;
the verdict is then resolved again from the recorded signals, both people's answers and the time.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Sequence

from scheduler.core import attendance as rules
from scheduler.core.attendance import Answer, Signal, Verdict
from scheduler.core.entities import Feedback, Occurrence, Pair, Program
from scheduler.errors import InvalidInput, TandemError
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services import webhook_events

SWEEP_BATCH = 500
NOTE_MAX = 1000


class NotAllowed(TandemError):
    """The person may not do this (not a coordinator of the pair's program, nor an admin)."""

    retryable = False


def role_in(pair: Pair, person_id: str | None) -> str | None:
    """``mentor``/``mentee`` for the pair's people; None for anyone else (or nobody)."""
    if person_id is None:
        return None
    if person_id == pair.mentor_id:
        return "mentor"
    if person_id == pair.mentee_id:
        return "mentee"
    return "coordinator"


def window_of(pair: Pair, program: Program | None = None) -> timedelta:
    """How long answers are waited for: the program's window (``program`` or the pair's)."""
    days = getattr(program or pair.program, "attendance_window_days", None) or rules.DEFAULT_WINDOW_DAYS
    return timedelta(days=max(1, min(int(days), rules.MAX_WINDOW_DAYS)))


def record_signal(uow: UnitOfWork, occ: Occurrence, signal: Signal, now: datetime) -> Verdict:
    """Keep a fact about the occurrence (a skip, a cancellation, a decline) and resolve again."""
    occ.attendance_signals = [*(occ.attendance_signals or []), signal.to_json()]  # a new list: a change
    return resolve_in(uow, occ, now)


def resolve_in(uow: UnitOfWork, occ: Occurrence, now: datetime) -> Verdict:
    """Resolve the occurrence's verdict in the caller's unit of work and store it with its signals
    (a verdict that has just become held or missed is announced to the program's webhooks)."""
    pair = occ.series.pair
    before = occ.attendance_verdict
    verdict = resolve_with(occ, pair, uow.feedback.of_occurrences([occ.id]), now)
    webhook_events.session_verdict(uow, occ, before, now)
    return verdict


def resolve_with(occ: Occurrence, pair: Pair, feedback: Sequence[Feedback], now: datetime,
                 program: Program | None = None) -> Verdict:
    """Resolve the occurrence's verdict from its ``feedback`` rows (all of them) and store it with
    its signals on the occurrence; announces nothing (:func:`resolve_in` does). ``program``: the
    pair's, when ``pair.program`` is not loaded (a pair not yet stored)."""
    answers = {}
    for row in feedback:
        role = role_in(pair, row.person_id)
        if role in rules.ROLES:
            answers[role] = Answer(row.answer, row.created_at)
    recorded = rules.recorded_signals(occ.attendance_signals)
    verdict = rules.resolve(status=occ.status, start=occ.start, end=occ.end, now=now, window=window_of(pair, program),
                            answers=answers, recorded=recorded)
    stored = [s.to_json() for s in recorded] + [s.to_json() for s in verdict.signals if s.kind in rules.DERIVED]
    if stored != list(occ.attendance_signals or []):
        occ.attendance_signals = stored
    occ.attendance_verdict = verdict.verdict
    occ.attendance_resolved_at = now
    return verdict


def resolve_attendance(deps: Dependencies, occurrence_id: str) -> Verdict | None:
    """Resolve one occurrence's verdict now (None when it no longer exists)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        occ = uow.occurrences.get(occurrence_id)
        if occ is None:
            return None
        verdict = resolve_in(uow, occ, now)
        uow.commit()
        return verdict


def may_coordinate(uow: UnitOfWork, person_id: str, program_id: str) -> bool:
    person = uow.people.get(person_id)
    return person is not None and (person.is_admin or program_id in uow.memberships.coordinated_by(person_id))


def correct_attendance(deps: Dependencies, occurrence_id: str, verdict: str, note: str | None,
                       by_person_id: str, *, pair_id: str | None = None) -> Verdict:
    """A coordinator of the pair's program (or an admin) sets the verdict of a past session, with
    a note saying why. The correction is kept beside the other signals and outlasts later answers;
    correcting again replaces it. ``pair_id``, when given, must be the session's pair."""
    now = deps.clock.now()
    try:
        verdict = rules.check_correction(verdict)
    except ValueError as problem:
        raise InvalidInput(f"That is not a verdict a coordinator can set: {problem}.") from None
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Say in a few words why you correct this session (for example “the mentor told me "
                           "they met by phone”).")
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_MAX:,} characters.")
    with deps.uow() as uow:
        occ = uow.occurrences.get(occurrence_id)
        if occ is None or (pair_id is not None and occ.series.pair_id != pair_id):
            raise InvalidInput("That session does not exist (any more); reload the pair page.")
        if not may_coordinate(uow, by_person_id, occ.series.pair.program_id):
            raise NotAllowed("Only the program's coordinators (or an administrator) can correct a session.")
        if occ.start > now:
            raise InvalidInput("Only a session that has started can be corrected; this one is still to come.")
        kept = [s for s in (occ.attendance_signals or []) if s.get("kind") != "corrected"]
        occ.attendance_signals = kept
        result = record_signal(uow, occ, Signal("corrected", now, "coordinator", verdict), now)
        occ.attendance_note, occ.attendance_set_by = note, by_person_id
        uow.commit()
        return result


def sweep_attendance(deps: Dependencies, *, batch: int = SWEEP_BATCH) -> int:
    """Once a day, settle past sessions whose verdict is still unknown (their answer window may
    have passed: silence becomes a signal). A session resolved today is not touched again today,
    so running this on every tick, or in several processes, repeats nothing. Returns how many
    were resolved."""
    now = deps.clock.now()
    today = datetime.combine(now.date(), time(0), tzinfo=timezone.utc)
    done = 0
    while True:
        with deps.uow() as uow:
            due = uow.occurrences.attendance_to_resolve(
                ended_after=now - timedelta(days=rules.MAX_WINDOW_DAYS + 1), ended_before=now,
                resolved_before=today, limit=batch)
            for occ in due:
                resolve_in(uow, occ, now)
            uow.commit()
        done += len(due)
        if len(due) < batch:
            return done
