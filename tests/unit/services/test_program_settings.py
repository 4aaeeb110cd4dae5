"""Editing a program's settings: validated like a new program; reminders of upcoming sessions
follow new times; a change that can open time plans the waiting pairs again; booked series stay."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from scheduler.errors import InvalidInput
from scheduler.services import program_settings
from scheduler.services.programs import UnknownProgram
from scheduler.services.notifications import schedule_occurrence_followups
from tests.unit.services.booked import FIRST, T0, book_series, notifications, outbox


def test_the_form_opens_with_the_programs_values(deps, seed):
    s = seed(mentor_max_sessions_per_week=3)
    spec = program_settings.program_spec(deps, s.program_id)
    assert (spec.name, spec.cadence, spec.session_count, spec.mentor_max_sessions_per_week) == ("Pilot", "weekly", 4, 3)
    with pytest.raises(UnknownProgram):
        program_settings.program_spec(deps, "no-such-program")


def test_nothing_changed_saves_nothing(deps, seed):
    s = seed()
    spec = program_settings.program_spec(deps, s.program_id)
    assert program_settings.update_program(deps, s.program_id, spec) == program_settings.SettingsSaved(())


def test_new_reminder_times_apply_to_upcoming_sessions_at_once(deps, seed):
    s = seed(status="booked", connected=True)
    _, occ_ids = book_series(deps, s, count=3)
    with deps.uow() as uow:  # the reminders booking set going, with the program's first times
        for occ in uow.occurrences.get_many(occ_ids):
            schedule_occurrence_followups(uow, occ, occ.series.pair, occ.series.pair.program, T0)
        uow.commit()
    before = {n.payload["offset_min"] for n in notifications(deps, "reminder") if n.status == "pending"}
    spec = replace(program_settings.program_spec(deps, s.program_id), reminder_offsets_min=(2880, 30))

    saved = program_settings.update_program(deps, s.program_id, spec)

    assert saved.changed == ("reminders",) and saved.reminders_reset == 3 and saved.replanned == 0
    pending = [n for n in notifications(deps, "reminder") if n.status == "pending"]
    assert before == {1440, 60} and {n.payload["offset_min"] for n in pending} == {2880, 30}
    assert len(pending) == 3 * 2 * 2  # three sessions, two people, two reminders
    assert {n.status for n in notifications(deps, "reminder") if n.payload["offset_min"] in (1440, 60)} == {"cancelled"}
    feedback = [n for n in notifications(deps, "feedback") if n.status == "pending"]
    assert len(feedback) == 3 * 2  # the follow-up requests are set again, not doubled
    assert sorted(n.due_at for n in pending if n.payload["offset_min"] == 30) == sorted(
        2 * [FIRST + timedelta(weeks=i) - timedelta(minutes=30) for i in range(3)])


def test_a_higher_cap_plans_the_waiting_pairs_again_and_keeps_booked_series(deps, seed):
    s = seed(status="unschedulable", mentor_max_sessions_per_week=1)
    spec = replace(program_settings.program_spec(deps, s.program_id), mentor_max_sessions_per_week=3)

    saved = program_settings.update_program(deps, s.program_id, spec)

    assert saved.changed == ("mentor's weekly cap",) and saved.replanned == 1
    assert [m.subject_id for m in outbox(deps, "plan_pair")] == [s.pair_id]
    with deps.uow() as uow:
        assert uow.pairs.get(s.pair_id).status == "ready"
        assert uow.programs.get(s.program_id).mentor_max_sessions_per_week == 3


def test_templates_are_replaced_for_sessions_booked_from_now_on(deps, seed):
    s = seed()
    spec = replace(program_settings.program_spec(deps, s.program_id), templates=(("Kick-off", "Who we are"),
                                                                                  ("Goals", "Two or three")))
    assert program_settings.update_program(deps, s.program_id, spec).changed == ("agenda templates",)
    spec = replace(spec, templates=(("Check-in", "Progress"),))
    program_settings.update_program(deps, s.program_id, spec)
    assert program_settings.program_spec(deps, s.program_id).templates == (("Check-in", "Progress"),)


def test_impossible_settings_are_refused_with_what_to_change_and_nothing_is_saved(deps, seed):
    s = seed()
    spec = replace(program_settings.program_spec(deps, s.program_id), session_count=30, horizon_weeks=4,
                   mentor_max_sessions_per_week=0)
    with pytest.raises(InvalidInput, match="raise the horizon") as refused:
        program_settings.update_program(deps, s.program_id, spec)
    assert "weekly cap must be between 1 and 40" in str(refused.value)
    assert program_settings.program_spec(deps, s.program_id).session_count == 4
