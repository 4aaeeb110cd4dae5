"""Waiting pairs are planned again whenever something can open time (issue 13): hours saved, a
calendar connected or reconnected, a mentor's slot freed, "Try again"; debounced through the
outbox, and never left ``ready`` with nothing queued. A reconnect re-checks booked series."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core.entities import Membership, Pair, Person
from scheduler.errors import InvalidInput
from scheduler.services import connections, lifecycle, repair
from scheduler.services.onboarding import OnboardingAnswers, complete_onboarding
from scheduler.services.planning import plan_mentor_group
from scheduler.services.replanning import try_again
from tests.unit.services.booked import FIRST, T0, WORKDAY, book_series, outbox

ROME_AND_AUCKLAND = dict(mentor_tz="Europe/Rome", mentee_tz="Pacific/Auckland")  # 09-17 each: never overlap
NARROW = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
WIDE = {d: [["09:00", "23:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}  # Auckland 21-23 = Rome 09-11


def _pair(deps, pair_id):
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        return pair.status, pair.status_reason


def _plan_rows(deps, pair_id, done=False):
    return [m for m in outbox(deps, "plan_pair") if m.subject_id == pair_id and (done or m.status == "pending")]


def _run_planning(deps, pair_id):
    """Run the pending plan_pair rows of a pair as the actor does, then mark them done."""
    for row in _plan_rows(deps, pair_id):
        plan_mentor_group(deps, row.subject_id)
        with deps.uow() as uow:
            uow.outbox.acquire(row.id, deps.clock.now(), timedelta(minutes=1))
            uow.outbox.mark_done(row.id, deps.clock.now())
            uow.commit()


def _save_hours(deps, person_id, hours, tz="Pacific/Auckland"):
    return complete_onboarding(deps, person_id, OnboardingAnswers(tz=tz, working_hours=hours, preferences={}))


@pytest.fixture
def no_time(deps, seed):
    """A pair planned once and found to share no working time (Rome and Auckland, both 09-17)."""
    s = seed(status="ready", connected=True, **ROME_AND_AUCKLAND)
    plan_mentor_group(deps, s.pair_id)
    status, reason = _pair(deps, s.pair_id)
    assert status == "unschedulable" and "share no working time" in reason
    return s


def test_widening_hours_replans_an_unschedulable_pair_and_it_gets_booked(deps, no_time):
    outcome = _save_hours(deps, no_time.mentee_id, WIDE)

    assert outcome.replanned_pair_ids == (no_time.pair_id,)
    assert _pair(deps, no_time.pair_id) == ("ready", None)
    assert len(_plan_rows(deps, no_time.pair_id)) == 1
    _run_planning(deps, no_time.pair_id)
    assert _pair(deps, no_time.pair_id)[0] == "planning"  # a series is stored, its booking queued
    assert len(outbox(deps, "book_series")) == 1


def test_ten_saves_in_a_row_make_one_planning(deps, clock, no_time):
    for _ in range(10):
        _save_hours(deps, no_time.mentee_id, WIDE)
        clock.advance(seconds=10)
    assert len(_plan_rows(deps, no_time.pair_id)) == 1


def test_a_save_after_a_failed_replan_in_the_same_window_plans_again(deps, no_time):
    _save_hours(deps, no_time.mentee_id, NARROW)  # still no overlap
    _run_planning(deps, no_time.pair_id)
    assert _pair(deps, no_time.pair_id)[0] == "unschedulable"

    _save_hours(deps, no_time.mentee_id, WIDE)  # same 5-minute window: the window's key is used

    assert _pair(deps, no_time.pair_id) == ("ready", None)
    assert len(_plan_rows(deps, no_time.pair_id)) == 1  # a fresh row: never ready with nothing queued
    _run_planning(deps, no_time.pair_id)
    assert _pair(deps, no_time.pair_id)[0] == "planning"


def test_connecting_a_calendar_replans_the_persons_waiting_pairs(deps, seed):
    s = seed(status="unschedulable", connected=True)
    connections.store_connection(deps, s.mentee_id, "memory", "second@example.org", {"tz": "UTC"})
    assert _pair(deps, s.pair_id)[0] == "ready"
    assert len(_plan_rows(deps, s.pair_id)) == 1


def test_a_pair_waits_while_a_calendar_needs_reconnecting(deps, seed):
    s = seed(status="unschedulable", connected=True)
    with deps.uow() as uow:
        uow.connections.of_people([s.mentor_id])[0].status = "reconnect_needed"
        uow.commit()
    _save_hours(deps, s.mentee_id, WORKDAY, tz="America/New_York")
    assert _pair(deps, s.pair_id)[0] == "unschedulable" and _plan_rows(deps, s.pair_id) == []
    with pytest.raises(InvalidInput, match="reconnecting: check My hours and Calendars"):
        try_again(deps, s.pair_id)


def _second_pair(deps, s, status):
    with deps.uow() as uow:
        mentee = uow.people.add(Person(email="ada@example.org", name="Ada", tz="UTC", working_hours=WORKDAY,
                                       onboarded_at=T0))
        uow.memberships.add(Membership(program_id=s.program_id, person_id=mentee.id, role="mentee"))
        pair = uow.pairs.add(Pair(program_id=s.program_id, mentor_id=s.mentor_id, mentee_id=mentee.id,
                                  status=status, status_reason="mentor's weekly cap of 1 sessions is reached"))
        uow.commit()
        return pair.id


@pytest.mark.parametrize("free_a_slot", [lifecycle.end_pair, lifecycle.pause_pair])
def test_a_freed_slot_of_the_mentor_replans_their_waiting_pairs(deps, seed, free_a_slot):
    s = seed(status="booked", connected=True)
    book_series(deps, s)
    waiting = _second_pair(deps, s, "unschedulable")

    free_a_slot(deps, s.pair_id)

    assert _pair(deps, waiting) == ("ready", None)
    assert len(_plan_rows(deps, waiting)) == 1


def test_try_again_replans_an_unschedulable_pair_once_per_window(deps, seed):
    s = seed(status="unschedulable", connected=True)
    try_again(deps, s.pair_id)
    try_again(deps, s.pair_id)  # ready now: being planned already, nothing new
    assert _pair(deps, s.pair_id)[0] == "ready"
    assert len(_plan_rows(deps, s.pair_id)) == 1


def test_try_again_is_refused_for_a_pair_not_waiting_for_time(deps, seed):
    s = seed(status="booked", connected=True)
    with pytest.raises(InvalidInput, match="nothing to try again"):
        try_again(deps, s.pair_id)
    assert _plan_rows(deps, s.pair_id) == []


def test_reconnecting_rechecks_every_booked_series_and_repairs_a_conflict(deps, seed, calendars):
    s = seed(status="booked", connected=True, repair_policy="auto")
    series_id, occ_ids = book_series(deps, s)
    with deps.uow() as uow:
        connection = uow.connections.of_people([s.mentee_id])[0]
        connection.status = "reconnect_needed"
        uow.commit()
    second = FIRST + timedelta(weeks=1)  # added while Tandem could not read the calendar
    calendars.add_event("mentee@example.org", second - timedelta(minutes=30), second + timedelta(hours=1), "Dentist",
                        calendar_id="mentee@example.org")

    connections.store_connection(deps, s.mentee_id, "memory", "mentee@example.org", {"tz": "UTC"},
                                 calendar_id="mentee@example.org")

    rows = outbox(deps, "recheck_series")
    assert [r.subject_id for r in rows] == [series_id]
    for row in rows:
        repair.recheck_series(deps, row.subject_id)
    with deps.uow() as uow:
        assert uow.occurrences.get(occ_ids[1]).status == "moved"


def test_storing_a_healthy_connection_again_queues_no_recheck(deps, seed):
    s = seed(status="booked", connected=True)
    book_series(deps, s)
    connections.store_connection(deps, s.mentee_id, "memory", "mentee@example.org", {"tz": "UTC"})
    assert outbox(deps, "recheck_series") == []
