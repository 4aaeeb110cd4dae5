"""Cohort planning: shared mentors, weekly caps, buffers, fairness and reasons."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scheduler.core.cadence import Cadence
from scheduler.core.cohort import plan_cohort, plan_pair
from scheduler.core.plan_model import Horizon, PairRequest, PairStatus
from scheduler.errors import ImpossiblePreferences, InvalidInput

from .oracle import holds, person

UTC = timezone.utc
NOW = datetime(2026, 11, 1, tzinfo=UTC)
HORIZON = Horizon(date(2027, 3, 1), 6)


def weekly(pair_id, mentor, mentee, minutes=60, count=6, cadence=Cadence.WEEKLY):
    return PairRequest(pair_id, mentor, mentee, minutes, cadence, count)


def held(plan):
    return [(o.start, o.end) for o in plan.occurrences if not o.conflict]


def test_weekly_cap_makes_the_extra_mentee_unschedulable_with_the_cap_in_the_reason():
    people = {p.person_id: p for p in [person("m", "Europe/Berlin")] + [person(f"e{i}", "Europe/Berlin") for i in range(3)]}
    pairs = [weekly(f"pair{i}", "m", f"e{i}") for i in range(3)]
    plans = plan_cohort(people, pairs, HORIZON, NOW, mentor_max_sessions_per_week=2, sharing="first_come")
    statuses = [p.status for p in plans]
    assert statuses.count(PairStatus.BOOKED) == 2
    refused = next(p for p in plans if p.status is PairStatus.UNSCHEDULABLE)
    assert refused.reason.startswith("mentor's weekly cap of 2 sessions is reached")


def test_first_come_names_the_cap_when_it_leaves_a_pair_too_few_sessions():
    # the first mentee (one slot a week, planned first) fills the mentor's first four weeks; the
    # other could meet every week but keeps only the last two under a cap of one
    away = [(datetime(2027, 3, 29, tzinfo=UTC), datetime(2027, 4, 12, tzinfo=UTC))]
    people = {"m": person("m", "Europe/Berlin"), "e0": person("e0", "Europe/Berlin", "mon 09:00-10:00", busy=away),
              "e1": person("e1", "Europe/Berlin")}
    plans = plan_cohort(people, [weekly("first", "m", "e0"), weekly("second", "m", "e1")], HORIZON, NOW,
                        mentor_max_sessions_per_week=1, sharing="first_come")
    assert [p.status for p in plans] == [PairStatus.BOOKED, PairStatus.UNSCHEDULABLE]
    refused = plans[1]
    assert refused.reason.startswith("mentor's weekly cap of 1 sessions is already taken by the mentor's other pairs")
    assert "sharing: fair" in refused.reason and "assign another mentor" in refused.reason


def test_mentor_sessions_never_overlap_and_keep_the_buffer():
    mentor = person("m", "Asia/Tokyo", "mon 09:00-12:00")
    people = {"m": mentor, **{f"e{i}": person(f"e{i}", "Asia/Tokyo", "mon-fri 08:00-18:00") for i in range(3)}}
    pairs = [weekly(f"pair{i}", "m", f"e{i}", minutes=45, count=4) for i in range(3)]
    plans = plan_cohort(people, pairs, HORIZON, NOW, buffer_min=15)
    assert all(p.status is PairStatus.BOOKED for p in plans)
    sessions = sorted(s for p in plans for s in held(p))
    for (_, end), (start, _) in zip(sessions, sessions[1:]):
        assert end + timedelta(minutes=15) <= start


def test_most_constrained_pair_is_placed_first_and_keeps_its_only_slot():
    mentor = person("m", "Europe/London", "mon-fri 09:00-17:00")
    flexible = person("flex", "Europe/London", "mon-fri 09:00-17:00")
    narrow = person("narrow", "Europe/London", "wed 14:00-15:00")
    people = {"m": mentor, "flex": flexible, "narrow": narrow}
    pairs = [weekly("flex-pair", "m", "flex"), weekly("narrow-pair", "m", "narrow")]
    plans = plan_cohort(people, pairs, HORIZON, NOW)
    assert all(p.status is PairStatus.BOOKED for p in plans)
    narrow_plan = plans[1]
    assert narrow_plan.series.dtstart_local == datetime(2027, 3, 3, 14, 0)
    assert narrow_plan.free_occurrences == 6


def test_fairness_equally_good_slot_nobody_else_needs_is_taken_first():
    # Equal constraint, so input order decides who goes first: "pb" could take Monday or Tuesday
    # morning equally well; Tuesday is all "pa" has, so "pb" leaves it (without this, the earliest
    # candidate - Tuesday, the horizon's first day - would win).
    mentor = person("m", "Europe/Paris", "mon-tue 09:00-17:00")
    b = person("b", "Europe/Paris", "mon-tue 09:00-13:00")
    a = person("a", "Europe/Paris", "tue 09:00-17:00")
    plans = plan_cohort({"m": mentor, "a": a, "b": b}, [weekly("pb", "m", "b"), weekly("pa", "m", "a")],
                        Horizon(date(2027, 3, 2), 6), NOW)
    days = {p.pair_id: p.series.dtstart_local.weekday() for p in plans}
    assert days == {"pb": 0, "pa": 1}


def test_conflicting_occurrence_moves_to_same_time_another_day_first():
    busy = [(datetime(2027, 3, 9, 9, tzinfo=UTC), datetime(2027, 3, 9, 18, tzinfo=UTC))]  # one Tuesday
    mentor = person("m", "UTC", "tue-thu 12:00-13:00")
    mentee = person("e", "UTC", "mon-fri 09:00-17:00", busy=busy)
    result = plan_pair(mentor, mentee, weekly("p", "m", "e", count=3), HORIZON, NOW)
    assert result.series.rrule.endswith("BYDAY=TU") or result.series.rrule.endswith("BYDAY=WE") or result.series.rrule.endswith("BYDAY=TH")
    moved = [o for o in result.occurrences if o.moved]
    if result.series.dtstart_local.weekday() == 1:
        assert len(moved) == 1
        assert moved[0].original_start == datetime(2027, 3, 9, 12, tzinfo=UTC)
        assert moved[0].start == datetime(2027, 3, 10, 12, tzinfo=UTC)  # next day, same time


def test_occurrence_that_cannot_move_is_flagged_conflict():
    # The mentee is away the whole second week: that occurrence has nowhere to go in its week.
    mentor = person("m", "UTC", "mon-fri 10:00-12:00")
    mentee = person("e", "UTC", "mon-fri 10:00-12:00", time_off=((date(2027, 3, 8), date(2027, 3, 14)),))
    result = plan_pair(mentor, mentee, weekly("p", "m", "e", count=4), HORIZON, NOW)
    assert result.status is PairStatus.BOOKED
    flags = [o.conflict for o in result.occurrences]
    assert flags == [False, True, False, False]
    assert not any(o.moved for o in result.occurrences)


def test_no_shared_working_time_reason_names_zones_and_hours():
    mentor = person("m", "Asia/Tokyo", "mon-fri 09:00-17:00")
    mentee = person("e", "America/Chicago", "tue-thu 09:00-15:00")
    result = plan_pair(mentor, mentee, weekly("p", "m", "e"), HORIZON, NOW)
    assert result.status is PairStatus.UNSCHEDULABLE
    assert result.reason.startswith(
        "mentor (Asia/Tokyo, Mon-Fri 09:00-17:00) and mentee (America/Chicago, Tue-Thu 09:00-15:00) share no working time")


def test_always_busy_reason_says_whose_calendar():
    busy = [(datetime(2027, 2, 20, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC))]
    mentor = person("m", "Europe/Berlin")
    mentee = person("e", "Europe/Berlin", busy=busy)
    result = plan_pair(mentor, mentee, weekly("p", "m", "e"), HORIZON, NOW)
    assert "shared working time (Mon-Fri 09:00-17:00 Europe/Berlin) is always busy in the mentee's calendar" in result.reason


def test_shared_time_shorter_than_session_reason():
    mentor = person("m", "UTC", "mon 09:00-10:00")
    mentee = person("e", "UTC", "mon 09:30-12:00")
    result = plan_pair(mentor, mentee, weekly("p", "m", "e", minutes=45), HORIZON, NOW)
    assert "share only Mon 09:30-10:00 UTC, never 45 minutes in a row" in result.reason


def test_horizon_in_the_past_is_a_reason():
    mentor, mentee = person("m", "UTC"), person("e", "UTC")
    result = plan_pair(mentor, mentee, weekly("p", "m", "e"), HORIZON, datetime(2028, 1, 1, tzinfo=UTC))
    assert "already in the past" in result.reason


def test_too_few_sessions_reason_when_most_weeks_are_busy():
    busy = [(datetime(2027, 3, 8, tzinfo=UTC), datetime(2027, 4, 20, tzinfo=UTC))]
    mentor, mentee = person("m", "UTC"), person("e", "UTC", busy=busy)
    result = plan_pair(mentor, mentee, weekly("p", "m", "e"), HORIZON, NOW)
    assert result.status is PairStatus.UNSCHEDULABLE
    assert "can hold only 1 of 6 sessions" in result.reason


def test_preferred_window_wins_over_mid_day():
    from scheduler.core.availability import LocalRange, Preferences
    mentor = person("m", "UTC", "mon-fri 09:00-17:00")
    mentee = person("e", "UTC", "mon-fri 09:00-17:00", preferences=Preferences(preferred=(LocalRange(15 * 60, 17 * 60),)))
    result = plan_pair(mentor, mentee, weekly("p", "m", "e"), HORIZON, NOW)
    assert 15 <= result.series.dtstart_local.hour < 17


def test_mid_day_beats_edge_of_day_for_both():
    mentor = person("m", "Europe/London", "mon-fri 09:00-17:00")
    mentee = person("e", "America/New_York", "mon-fri 07:00-13:00")
    result = plan_pair(mentor, mentee, weekly("p", "m", "e", minutes=30), HORIZON, NOW)
    london = result.occurrences[0].start.astimezone(ZoneInfo("Europe/London"))
    assert 13 * 60 <= london.hour * 60 + london.minute <= 15 * 60  # away from both people's edges


def test_earliest_latest_and_avoid_days_are_hard_limits():
    from scheduler.core.availability import Preferences
    prefs = Preferences(earliest_min=14 * 60, latest_min=16 * 60, avoid_days=frozenset({0, 1, 2, 3}))
    mentor = person("m", "UTC", "mon-fri 09:00-17:00", preferences=prefs)
    mentee = person("e", "UTC", "mon-fri 09:00-17:00")
    result = plan_pair(mentor, mentee, weekly("p", "m", "e"), HORIZON, NOW)
    assert all(o.start.weekday() == 4 and 14 <= o.start.hour < 16 for o in result.occurrences)
    assert all(holds(mentor, mentee, o.start, 60) for o in result.occurrences)


def test_impossible_preferences_are_refused():
    from scheduler.core.availability import Preferences
    with pytest.raises(ImpossiblePreferences, match="not before latest"):
        Preferences(earliest_min=16 * 60, latest_min=10 * 60)
    mentor = person("m", "UTC", "mon-fri 09:00-12:00", preferences=Preferences(earliest_min=13 * 60))
    with pytest.raises(ImpossiblePreferences, match="leave none of the working hours"):
        plan_pair(mentor, person("e", "UTC"), weekly("p", "m", "e"), HORIZON, NOW)


def test_unknown_person_and_duplicate_pair_are_input_errors():
    people = {"m": person("m", "UTC"), "e": person("e", "UTC")}
    with pytest.raises(InvalidInput, match="mentee 'ghost' is not among the people"):
        plan_cohort(people, [weekly("p", "m", "ghost")], HORIZON, NOW)
    with pytest.raises(InvalidInput, match="appears twice"):
        plan_cohort(people, [weekly("p", "m", "e"), weekly("p", "m", "e")], HORIZON, NOW)


def test_series_zone_can_be_the_mentees():
    mentor = person("m", "America/New_York")
    mentee = person("e", "Europe/Berlin")
    request = PairRequest("p", "m", "e", 30, Cadence.WEEKLY, 6, tz="Europe/Berlin")
    result = plan_pair(mentor, mentee, request, HORIZON, NOW)
    assert result.series.tz == "Europe/Berlin"
    berlin_times = {o.start.astimezone(ZoneInfo("Europe/Berlin")).time() for o in result.occurrences if not o.moved}
    assert len(berlin_times) == 1


def test_plans_are_deterministic():
    people = {p.person_id: p for p in [person("m", "America/New_York"), person("a", "Europe/London"),
                                       person("b", "Asia/Kolkata", "mon-fri 17:00-22:00")]}
    pairs = [weekly("pa", "m", "a", count=8), PairRequest("pb", "m", "b", 30, Cadence.BIWEEKLY, 4)]
    first = plan_cohort(people, pairs, HORIZON, NOW, mentor_max_sessions_per_week=2, buffer_min=10)
    second = plan_cohort(people, pairs, HORIZON, NOW, mentor_max_sessions_per_week=2, buffer_min=10)
    assert first == second
    assert all(p.status is PairStatus.BOOKED for p in first)
