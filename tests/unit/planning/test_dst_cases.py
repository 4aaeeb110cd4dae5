"""Regression tests named after the DST and offset cases they pin."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from scheduler.core.cadence import Cadence
from scheduler.core.cohort import plan_pair
from scheduler.core.plan_model import Horizon, PairRequest, PairStatus

from .oracle import brute_force_best_count, holds, person, series_starts

UTC = timezone.utc
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def plan(mentor, mentee, start: date, weeks: int, minutes: int, count: int, cadence=Cadence.WEEKLY):
    request = PairRequest("p", mentor.person_id, mentee.person_id, minutes, cadence, count)
    return plan_pair(mentor, mentee, request, Horizon(start, weeks), NOW)


def assert_promises_hold(result, mentor, mentee, minutes):
    for occurrence in result.occurrences:
        if not occurrence.conflict:
            assert holds(mentor, mentee, occurrence.start, minutes), occurrence


def test_us_eu_mismatch_week_march_2027():
    # New York springs forward on 14 March, Berlin on 28 March: for two weeks the gap is 5 h not 6 h.
    mentor = person("ny", "America/New_York", "mon-fri 09:00-17:00")
    mentee = person("berlin", "Europe/Berlin", "mon-fri 15:00-18:00")
    first_week_only_rule = series_starts(Cadence.WEEKLY, date(2027, 3, 1), 1, 9 * 60, 8, "America/New_York")
    assert not all(holds(mentor, mentee, s, 60) for s in first_week_only_rule)  # 09:00 NY breaks mid-March

    result = plan(mentor, mentee, date(2027, 3, 1), 8, 60, 8)
    assert result.status is PairStatus.BOOKED
    assert result.free_occurrences == 8
    assert all(not o.conflict and not o.moved for o in result.occurrences)
    assert 10 <= result.series.dtstart_local.hour <= 11
    assert result.series.tz == "America/New_York"
    assert_promises_hold(result, mentor, mentee, 60)


def test_sydney_dst_end_april():
    # London springs forward 28 March, Sydney falls back 4 April 2027: 11 h, then 10 h, then 9 h apart.
    mentor = person("london", "Europe/London", "mon-fri 07:00-10:00")
    mentee = person("sydney", "Australia/Sydney", "mon-fri 17:00-19:00")
    start = date(2027, 3, 15)
    result = plan(mentor, mentee, start, 6, 60, 6)
    assert result.free_occurrences == brute_force_best_count(mentor, mentee, Cadence.WEEKLY, start, 6, 60, "Europe/London") == 4
    assert result.series.dtstart_local.time().hour == 8
    conflicts_or_moves = [o for o in result.occurrences if o.conflict or o.moved]
    assert len(conflicts_or_moves) == 2
    assert_promises_hold(result, mentor, mentee, 60)


def test_kathmandu_0545():
    mentor = person("kolkata", "Asia/Kolkata", "mon-fri 09:00-11:00")
    mentee = person("kathmandu", "Asia/Kathmandu", "mon-fri 10:30-17:00")
    result = plan(mentor, mentee, date(2027, 3, 1), 4, 45, 4)
    assert result.free_occurrences == 4
    assert {(o.start.hour, o.start.minute) for o in result.occurrences} == {(4, 45)}  # 10:15 IST = 10:30 NPT
    assert result.series.dtstart_local == datetime(2027, 3, 1, 10, 15)


def test_zones_without_dst_keep_the_same_utc_time():
    mentor = person("phoenix", "America/Phoenix", "mon-fri 09:00-17:00")
    mentee = person("tokyo", "Asia/Tokyo", "mon-fri 08:00-10:00")
    result = plan(mentor, mentee, date(2027, 3, 1), 12, 30, 12)
    assert result.free_occurrences == 12
    assert len({(o.start.hour, o.start.minute) for o in result.occurrences}) == 1


def test_mentee_local_time_shifts_while_series_keeps_mentor_wall_clock():
    mentor = person("ny", "America/New_York", "mon-fri 09:00-17:00")
    mentee = person("london", "Europe/London", "mon-fri 09:00-17:00")
    result = plan(mentor, mentee, date(2027, 3, 1), 6, 30, 6)
    new_york_hours = {o.start.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")).time() for o in result.occurrences}
    assert len(new_york_hours) == 1  # same wall clock for the anchor across 14 March
    assert_promises_hold(result, mentor, mentee, 30)


def test_monthly_fifth_week_becomes_last_weekday():
    # Both people are away on days 1-24 of each month: only late-month weekdays can work.
    away = tuple((date(2027, m, 1), date(2027, m, 24)) for m in range(3, 7))
    mentor = person("a", "Europe/Paris", "mon-fri 09:00-17:00", time_off=away)
    mentee = person("b", "Europe/Paris", "mon-fri 09:00-17:00")
    start = date(2027, 3, 1)
    result = plan(mentor, mentee, start, 14, 60, 3, Cadence.MONTHLY)
    assert result.free_occurrences == 3
    assert ";BYDAY=-1" in result.series.rrule and result.series.rrule.startswith("FREQ=MONTHLY;INTERVAL=1;COUNT=3")
    assert brute_force_best_count(mentor, mentee, Cadence.MONTHLY, start, 3, 60, "Europe/Paris", step_min=60) == 3
    assert_promises_hold(result, mentor, mentee, 60)


def test_biweekly_finds_the_weeks_that_are_free():
    # The mentee is busy all of every other week (weeks 1, 3, 5 from 1 March 2027).
    busy = [(datetime(2027, 3, 1, tzinfo=UTC) + timedelta(weeks=w), datetime(2027, 3, 8, tzinfo=UTC) + timedelta(weeks=w))
            for w in range(0, 12, 2)]
    mentor = person("a", "Europe/Madrid", "tue-thu 10:00-12:00")
    mentee = person("b", "Europe/Madrid", "mon-fri 09:00-17:00", busy=busy)
    result = plan(mentor, mentee, date(2027, 3, 1), 12, 30, 6, Cadence.BIWEEKLY)
    assert result.free_occurrences == 6
    assert result.series.rrule == "FREQ=WEEKLY;INTERVAL=2;COUNT=6;BYDAY=TU"
    assert result.series.dtstart_local.date() == date(2027, 3, 9)
