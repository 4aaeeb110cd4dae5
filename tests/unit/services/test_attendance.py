"""Attendance verdicts as the use cases keep them: resolved when an answer is recorded, when a
session is skipped or cancelled (in Tandem or in a calendar), by the daily sweep once the answer
window has passed, and corrected by a coordinator."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core.entities import Person
from scheduler.errors import InvalidInput
from scheduler.services import changes, lifecycle, sweeps
from scheduler.services.attendance import NotAllowed, correct_attendance, resolve_attendance, sweep_attendance
from scheduler.services.feedback import record_feedback
from scheduler.services.notifications import add_notification
from tests.unit.services.booked import DURATION, FIRST, book_series, mentor_account


def _occ(deps, occurrence_id):
    with deps.uow() as uow:
        return uow.occurrences.get(occurrence_id)


def _kinds(occ) -> list[tuple]:
    return [(s["kind"], s.get("by"), s.get("detail")) for s in occ.attendance_signals]


def _answer(deps, seeded, occurrence_id, person_id, answer, rating=None, notes=None):
    with deps.uow() as uow:
        nid = add_notification(uow, kind="feedback", person_id=person_id, due_at=FIRST, pair_id=seeded.pair_id,
                               occurrence_id=occurrence_id, key=f"feedback:{occurrence_id}:{person_id}")
        uow.commit()
    if nid is None:
        with deps.uow() as uow:
            nid = uow.notifications.where(lambda n: n.idempotency_key == f"feedback:{occurrence_id}:{person_id}")[0].id
    record_feedback(deps, nid, answer, rating, notes)


@pytest.fixture
def booked(deps, seed, clock):
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded)
    return seeded, series_id, occ_ids


def test_answers_resolve_the_verdict_and_a_disagreement_says_so(deps, booked, clock):
    seeded, _, (first, *_) = booked
    clock.current = FIRST + DURATION + timedelta(minutes=15)
    _answer(deps, seeded, first, seeded.mentee_id, "met", 5, "private words")
    occ = _occ(deps, first)
    assert occ.attendance_verdict == "held" and occ.attendance == "met"
    assert _kinds(occ) == [("answer", "mentee", "met")]
    assert occ.attendance_resolved_at == clock.current
    _answer(deps, seeded, first, seeded.mentor_id, "not_met")
    occ = _occ(deps, first)
    assert occ.attendance_verdict == "disputed"
    assert _kinds(occ) == [("answer", "mentor", "not_met"), ("answer", "mentee", "met")]
    assert "private words" not in repr(occ.attendance_signals)  # notes stay with the pair


def test_a_skip_is_a_cancellation_by_that_person_with_its_notice(deps, booked, clock):
    seeded, _, (first, second, _) = booked
    clock.current = FIRST + timedelta(weeks=1) - timedelta(hours=3)
    lifecycle.skip_occurrence(deps, second, seeded.mentee_id)
    occ = _occ(deps, second)
    assert occ.attendance_verdict == "cancelled"
    assert _kinds(occ) == [("skipped", "mentee", None)]
    verdict = resolve_attendance(deps, second)
    assert (verdict.cancelled_by, verdict.notice, verdict.late) == ("mentee", timedelta(hours=3), True)


def test_ending_a_pair_cancels_its_upcoming_sessions_with_the_reason(deps, booked, clock):
    seeded, _, occ_ids = booked
    lifecycle.end_pair(deps, seeded.pair_id)
    for occurrence_id in occ_ids:
        occ = _occ(deps, occurrence_id)
        assert occ.attendance_verdict == "cancelled" and _kinds(occ) == [("cancelled", None, "ended")]


def test_a_pause_cancels_the_upcoming_sessions(deps, booked):
    seeded, _, occ_ids = booked
    lifecycle.pause_pair(deps, seeded.pair_id)
    assert {_occ(deps, o).attendance_verdict for o in occ_ids} == {"cancelled"}
    assert _kinds(_occ(deps, occ_ids[0])) == [("cancelled", None, "paused")]


def test_a_session_cancelled_or_deleted_in_a_calendar_is_recorded(deps, booked, calendars):
    seeded, series_id, occ_ids = booked
    with deps.uow() as uow:
        connection_id = uow.connections.usable_of(seeded.mentor_id)[0].id
        event_id = uow.series.get(series_id).provider_event_id
    changes.handle_calendar_change(deps, connection_id)
    calendars.cancel_occurrence(mentor_account(deps, seeded), event_id, FIRST + timedelta(weeks=2))
    changes.handle_calendar_change(deps, connection_id)
    occ = _occ(deps, occ_ids[2])
    assert occ.attendance_verdict == "cancelled" and _kinds(occ) == [("calendar_cancelled", None, None)]
    assert _occ(deps, occ_ids[0]).attendance_verdict == "unknown"
    calendars.cancel_series(mentor_account(deps, seeded), event_id)
    changes.handle_calendar_change(deps, connection_id)
    assert _kinds(_occ(deps, occ_ids[0])) == [("calendar_cancelled", None, None)]
    assert _kinds(_occ(deps, occ_ids[2])) == [("calendar_cancelled", None, None)]  # recorded once


def test_the_daily_sweep_turns_silence_into_a_signal_once_a_day(deps, booked, clock):
    seeded, _, occ_ids = booked
    clock.current = FIRST + DURATION + timedelta(days=1)
    assert sweeps.settle_attendance(deps) == 1  # the first session ended; its window is still open
    assert _kinds(_occ(deps, occ_ids[0])) == []
    assert sweeps.settle_attendance(deps) == 0  # once a day
    clock.current = FIRST + DURATION + timedelta(days=3, hours=1)
    assert sweep_attendance(deps) == 1
    occ = _occ(deps, occ_ids[0])
    assert occ.attendance_verdict == "unknown"
    assert _kinds(occ) == [("no_answer", "mentor", "3"), ("no_answer", "mentee", "3")]
    assert sweep_attendance(deps) == 0


def test_the_answer_window_is_a_program_setting(deps, seed, clock):
    seeded = seed(status="booked", connected=True, attendance_window_days=1)
    _, occ_ids = book_series(deps, seeded, count=1)
    clock.current = FIRST + DURATION + timedelta(days=1)
    _answer(deps, seeded, occ_ids[0], seeded.mentor_id, "not_met")
    occ = _occ(deps, occ_ids[0])
    assert occ.attendance_verdict == "missed"
    assert _kinds(occ) == [("answer", "mentor", "not_met"), ("no_answer", "mentee", "1")]


def test_a_sweep_in_batches_resolves_everything_due(deps, seed, clock):
    seeded = seed(status="booked", connected=True)
    book_series(deps, seeded, count=5)
    clock.current = FIRST + timedelta(weeks=4, days=1)
    assert sweep_attendance(deps, batch=2) == 5
    assert sweep_attendance(deps, batch=2) == 0
    clock.current = FIRST + timedelta(weeks=6)  # a day later: only sessions that ended within 31 days
    assert sweep_attendance(deps, batch=2) == 3


def test_a_coordinator_corrects_a_past_session_with_a_note(deps, booked, clock):
    seeded, _, (first, second, _) = booked
    clock.current = FIRST + timedelta(days=4)
    _answer(deps, seeded, first, seeded.mentor_id, "not_met")
    verdict = correct_attendance(deps, first, "held", "  They met by phone, the mentee told me. ", seeded.coordinator_id)
    assert verdict.verdict == "held" and verdict.corrected
    occ = _occ(deps, first)
    assert (occ.attendance_verdict, occ.attendance_note, occ.attendance_set_by) == (
        "held", "They met by phone, the mentee told me.", seeded.coordinator_id)
    assert _kinds(occ)[0] == ("corrected", "coordinator", "held")
    _answer(deps, seeded, first, seeded.mentee_id, "not_met")  # a later answer does not undo it
    assert _occ(deps, first).attendance_verdict == "held"
    correct_attendance(deps, first, "missed", "Checked again: they did not meet.", seeded.coordinator_id)
    occ = _occ(deps, first)
    assert occ.attendance_verdict == "missed" and [k for k in _kinds(occ) if k[0] == "corrected"] == [
        ("corrected", "coordinator", "missed")]
    with pytest.raises(InvalidInput, match="still to come"):
        correct_attendance(deps, second, "held", "early", seeded.coordinator_id)


def test_a_correction_needs_a_verdict_a_note_and_the_right_person(deps, booked, clock):
    seeded, _, (first, *_) = booked
    clock.current = FIRST + timedelta(days=4)
    with pytest.raises(InvalidInput, match="choose one of: held, missed, cancelled, moved, unknown"):
        correct_attendance(deps, first, "disputed", "why", seeded.coordinator_id)
    with pytest.raises(InvalidInput, match="Say in a few words why"):
        correct_attendance(deps, first, "held", "   ", seeded.coordinator_id)
    with pytest.raises(InvalidInput, match="under 1,000 characters"):
        correct_attendance(deps, first, "held", "x" * 1001, seeded.coordinator_id)
    with pytest.raises(InvalidInput, match="does not exist"):
        correct_attendance(deps, "nope", "held", "why", seeded.coordinator_id)
    for person_id in (seeded.mentor_id, seeded.mentee_id, "nobody"):
        with pytest.raises(NotAllowed, match="Only the program's coordinators"):
            correct_attendance(deps, first, "held", "why", person_id)
    other = seed_other_coordinator(deps)
    with pytest.raises(NotAllowed):
        correct_attendance(deps, first, "held", "why", other)
    assert _occ(deps, first).attendance_verdict == "unknown"
    with deps.uow() as uow:
        admin = uow.people.add(Person(email="admin@example.org", is_admin=True))
        uow.commit()
    assert correct_attendance(deps, first, "moved", "They moved it to Friday.", admin.id).verdict == "moved"


def seed_other_coordinator(deps) -> str:
    from scheduler.core.entities import Membership, Program
    with deps.uow() as uow:
        program = uow.programs.add(Program(name="Other"))
        person = uow.people.add(Person(email="other-coord@example.org"))
        uow.memberships.add(Membership(program_id=program.id, person_id=person.id, role="coordinator"))
        uow.commit()
        return person.id


def test_a_program_chooses_how_long_to_wait_for_answers(deps):
    from scheduler.services import programs
    summary = programs.create_program(deps, "coord-1", programs.ProgramSpec(name="Autumn", attendance_window_days=7))
    assert summary.attendance_window_days == 7
    with deps.uow() as uow:
        assert uow.programs.get(summary.id).attendance_window_days == 7
    assert programs.validate_program_spec(programs.ProgramSpec(name="x", attendance_window_days=0)) == [
        "Days to wait for answers after a session must be between 1 and 30."]
