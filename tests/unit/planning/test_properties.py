"""Property tests: the planner against the brute-force oracle in ``oracle.py``."""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st

from scheduler.core.availability import WEEKDAYS
from scheduler.core.cadence import Cadence, period_days
from scheduler.core.cohort import plan_cohort, plan_pair
from scheduler.core.plan_model import Horizon, PairRequest, PairStatus

from .oracle import brute_force_best_count, holds, person

UTC = timezone.utc
NOW = datetime(2026, 11, 1, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney", "Asia/Kathmandu",
         "Asia/Tokyo", "America/Phoenix", "Pacific/Auckland", "Asia/Kolkata", "America/St_Johns", "UTC"]
# PLANNING_EXAMPLES=500 runs a longer hunt locally; CI keeps the suite fast.
SETTINGS = settings(max_examples=int(os.environ.get("PLANNING_EXAMPLES", "25")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def working_spec(draw):
    """1-2 non-touching ranges between 05:00 and 23:00 on some weekdays."""
    days = draw(st.lists(st.sampled_from(WEEKDAYS[:6]), min_size=1, max_size=5, unique=True))
    first_start = draw(st.integers(5 * 4, 14 * 4))
    first_end = draw(st.integers(first_start + 2, min(first_start + 40, 22 * 4)))
    ranges = [(first_start, first_end)]
    if draw(st.booleans()) and first_end + 2 < 23 * 4:
        second_start = draw(st.integers(first_end + 1, 23 * 4 - 1))
        ranges.append((second_start, draw(st.integers(second_start + 1, 23 * 4))))
    text = ",".join(f"{a // 4:02d}:{a % 4 * 15:02d}-{b // 4:02d}:{b % 4 * 15:02d}" for a, b in ranges)
    return "; ".join(f"{day} {text}" for day in days)


@st.composite
def busy_list(draw, start: date, days: int, on_grid: bool):
    unit = 15 if on_grid else 1
    origin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    items = []
    for _ in range(draw(st.integers(0, 25))):
        offset = draw(st.integers(0, days * 24 * 60 // unit)) * unit
        length = draw(st.integers(1, 240 // unit)) * unit
        items.append((origin + timedelta(minutes=offset), origin + timedelta(minutes=offset + length)))
    return items


@st.composite
def pair_case(draw, on_grid: bool = True):
    start = date(2027, 1, 4) + timedelta(days=draw(st.integers(0, 300)))
    cadence = draw(st.sampled_from(list(Cadence)))
    count = draw(st.integers(2, 5))
    span_days = {Cadence.WEEKLY: 7, Cadence.BIWEEKLY: 14, Cadence.MONTHLY: 31}[cadence] * (count + 1)
    mentor = person("mentor", draw(st.sampled_from(ZONES)), draw(working_spec()), draw(busy_list(start, span_days, on_grid)))
    mentee = person("mentee", draw(st.sampled_from(ZONES)), draw(working_spec()), draw(busy_list(start, span_days, on_grid)))
    minutes = draw(st.sampled_from([15, 30, 45, 60, 90])) if on_grid else draw(st.integers(10, 100))
    return start, cadence, count, mentor, mentee, minutes


def _check_occurrences(result, request, mentor, mentee, start, anchor_tz, buffer_min=0):
    assert len(result.occurrences) == request.count
    anchor = ZoneInfo(anchor_tz)
    for occurrence in result.occurrences:
        assert occurrence.end - occurrence.start == timedelta(minutes=request.duration_min)
        if not occurrence.conflict:
            assert holds(mentor, mentee, occurrence.start, request.duration_min, buffer_min), occurrence
        if occurrence.moved:
            nominal_day = (occurrence.original_start.astimezone(anchor).date() - start).days
            first, end = period_days(request.cadence, start, nominal_day)
            moved_day = (occurrence.start.astimezone(anchor).date() - start).days
            assert first <= moved_day < end, "moved outside its period"


@SETTINGS
@given(pair_case(on_grid=True))
def test_chosen_rule_matches_brute_force_optimum(case):
    start, cadence, count, mentor, mentee, minutes = case
    request = PairRequest("p", "mentor", "mentee", minutes, cadence, count)
    result = plan_pair(mentor, mentee, request, Horizon(start, 4), NOW)
    optimum = brute_force_best_count(mentor, mentee, cadence, start, count, minutes, mentor.tz)
    if result.status is PairStatus.BOOKED:
        assert result.free_occurrences == optimum
        _check_occurrences(result, request, mentor, mentee, start, mentor.tz)
    else:
        assert result.reason
        assert optimum * 2 < count  # booked whenever half the sessions can be held at their rule time


@SETTINGS
@given(pair_case(on_grid=False), st.integers(0, 20))
def test_conflict_false_is_a_promise_even_off_grid_and_with_buffer(case, buffer_min):
    start, cadence, count, mentor, mentee, minutes = case
    request = PairRequest("p", "mentor", "mentee", minutes, cadence, count)
    result = plan_pair(mentor, mentee, request, Horizon(start, 4), NOW, buffer_min=buffer_min)
    optimum = brute_force_best_count(mentor, mentee, cadence, start, count, minutes, mentor.tz, buffer_min=buffer_min)
    if result.status is PairStatus.BOOKED:
        assert result.free_occurrences <= optimum  # busy time widens to whole slots: never optimistic
        _check_occurrences(result, request, mentor, mentee, start, mentor.tz, buffer_min)
    else:
        assert result.reason


@st.composite
def cohort_case(draw):
    start = date(2027, 3, 1) + timedelta(days=draw(st.integers(0, 60)))
    mentors = [person(f"m{i}", draw(st.sampled_from(ZONES)), draw(working_spec()), draw(busy_list(start, 50, True)))
               for i in range(draw(st.integers(1, 2)))]
    mentees = [person(f"e{i}", draw(st.sampled_from(ZONES)), draw(working_spec()), draw(busy_list(start, 50, True)))
               for i in range(draw(st.integers(2, 6)))]
    pairs = [PairRequest(f"pair{i}", draw(st.sampled_from(mentors)).person_id, mentee.person_id,
                         draw(st.sampled_from([30, 45, 60])), draw(st.sampled_from([Cadence.WEEKLY, Cadence.BIWEEKLY])),
                         draw(st.integers(2, 5)))
             for i, mentee in enumerate(mentees)]
    cap = draw(st.sampled_from([None, 1, 2, 3]))
    buffer_min = draw(st.sampled_from([0, 10, 15]))
    return start, {p.person_id: p for p in mentors + mentees}, pairs, cap, buffer_min


@SETTINGS
@given(cohort_case())
def test_cohort_invariants(case):
    start, people, pairs, cap, buffer_min = case
    plans = plan_cohort(people, pairs, Horizon(start, 10), NOW, mentor_max_sessions_per_week=cap, buffer_min=buffer_min)
    assert [p.pair_id for p in plans] == [p.pair_id for p in pairs]
    sessions_by_mentor: dict[str, list] = {}
    for request, result in zip(pairs, plans):
        if result.status is PairStatus.UNSCHEDULABLE:
            assert result.reason
            continue
        _check_occurrences(result, request, people[request.mentor_id], people[request.mentee_id], start,
                           people[request.mentor_id].tz, buffer_min)
        sessions_by_mentor.setdefault(request.mentor_id, []).extend(
            (o.start, o.end) for o in result.occurrences if not o.conflict)
    for mentor_id, sessions in sessions_by_mentor.items():
        sessions.sort()
        for (_, first_end), (second_start, _) in zip(sessions, sessions[1:]):
            assert first_end + timedelta(minutes=buffer_min) <= second_start, "mentor sessions overlap or break the buffer"
        if cap is not None:
            weeks: dict[tuple[int, int], int] = {}
            for session_start, _ in sessions:
                key = session_start.astimezone(ZoneInfo(people[mentor_id].tz)).isocalendar()[:2]
                weeks[key] = weeks.get(key, 0) + 1
            assert max(weeks.values()) <= cap
