"""Checking and moving one occurrence of a booked series (scheduler.core.live_repair)."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from scheduler.core.availability import PersonAvailability, WeeklyHours
from scheduler.core.cadence import Cadence
from scheduler.core.intervals import interval
from scheduler.core.live_repair import candidate_starts, find_move, fits_person, period_bounds

NY, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
WEEKDAYS_9_17 = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def person(pid, tz, busy=(), hours=WEEKDAYS_9_17, time_off=()):
    return PersonAvailability(pid, tz, WeeklyHours.from_mapping(hours), tuple(busy), tuple(time_off))


def at(tz, *args):
    return datetime(*args, tzinfo=tz).astimezone(timezone.utc)


def test_fits_checks_hours_busy_and_time_off_in_local_time():
    p = person("m", "America/New_York", busy=[interval(at(NY, 2027, 3, 2, 10), at(NY, 2027, 3, 2, 11))],
               time_off=[(date(2027, 3, 4), date(2027, 3, 4))])
    assert fits_person(p, at(NY, 2027, 3, 2, 9), at(NY, 2027, 3, 2, 9, 45)).ok
    assert "busy" in fits_person(p, at(NY, 2027, 3, 2, 10, 30), at(NY, 2027, 3, 2, 11, 15)).why
    assert "outside working hours" in fits_person(p, at(NY, 2027, 3, 2, 16, 30), at(NY, 2027, 3, 2, 17, 15)).why
    assert "time off" in fits_person(p, at(NY, 2027, 3, 4, 9), at(NY, 2027, 3, 4, 10)).why
    assert "outside working hours" in fits_person(p, at(NY, 2027, 3, 6, 9), at(NY, 2027, 3, 6, 10)).why  # Saturday


def test_us_eu_mismatch_week_march_2027_changes_the_other_persons_local_time():
    # 2027-03-16 (after US DST starts on 03-14, before EU on 03-28): New York 11:00 is 16:00 in Berlin.
    mentee = person("e", "Europe/Berlin", hours={"tue": [["09:00", "16:30"]]})
    start = at(NY, 2027, 3, 16, 11)
    assert not fits_person(mentee, start, start + timedelta(minutes=45)).ok  # 16:00-16:45 Berlin
    later = at(NY, 2027, 3, 30, 11)  # both on summer time again: 17:00 Berlin
    assert not fits_person(mentee, later, later + timedelta(minutes=45)).ok
    before = at(NY, 2027, 3, 9, 11)  # both on winter time: 17:00 Berlin
    assert not fits_person(mentee, before, before + timedelta(minutes=30)).ok
    assert fits_person(mentee, at(NY, 2027, 3, 16, 10), at(NY, 2027, 3, 16, 10, 30)).ok  # 15:00 Berlin


def test_period_bounds_per_cadence():
    tue = at(NY, 2027, 3, 16, 10)
    assert period_bounds(Cadence.WEEKLY, tue, "America/New_York") == (date(2027, 3, 15), date(2027, 3, 22))
    assert period_bounds(Cadence.BIWEEKLY, tue, "America/New_York") == (date(2027, 3, 15), date(2027, 3, 29))
    assert period_bounds(Cadence.MONTHLY, tue, "America/New_York") == (date(2027, 3, 1), date(2027, 4, 1))


def test_candidates_try_same_time_on_other_days_first():
    start = at(NY, 2027, 3, 17, 10)  # Wednesday
    first = [c.astimezone(NY) for c in list(candidate_starts(start, Cadence.WEEKLY, "America/New_York"))[:3]]
    assert [(c.day, c.hour) for c in first] == [(16, 10), (18, 10), (15, 10)]


def test_find_move_prefers_same_time_next_day_then_nearby_times():
    occ = at(NY, 2027, 3, 16, 10)
    mentor = person("m", "America/New_York", busy=[interval(at(NY, 2027, 3, 16, 9), at(NY, 2027, 3, 16, 12)),
                                                    interval(at(NY, 2027, 3, 15, 9), at(NY, 2027, 3, 15, 17))])
    mentee = person("e", "America/New_York")
    moved = find_move(mentor, mentee, occ, timedelta(minutes=45), Cadence.WEEKLY, "America/New_York",
                      not_before=at(NY, 2027, 3, 1, 0))
    assert moved == at(NY, 2027, 3, 17, 10)  # Monday is all busy, Wednesday is one day away
    # Wednesday and Thursday busy for the mentee too, Monday busy for the mentor: Friday 10:00.
    mentee2 = person("e", "America/New_York", busy=[interval(at(NY, 2027, 3, 17, 0), at(NY, 2027, 3, 19, 0))])
    moved2 = find_move(mentor, mentee2, occ, timedelta(minutes=45), Cadence.WEEKLY, "America/New_York",
                       not_before=at(NY, 2027, 3, 1, 0))
    assert moved2 == at(NY, 2027, 3, 19, 10)


def test_find_move_returns_none_when_the_period_is_full_and_respects_not_before():
    occ = at(NY, 2027, 3, 16, 10)
    mentor = person("m", "America/New_York", busy=[interval(at(NY, 2027, 3, 15, 0), at(NY, 2027, 3, 22, 0))])
    assert find_move(mentor, person("e", "America/New_York"), occ, timedelta(minutes=30), Cadence.WEEKLY,
                     "America/New_York", not_before=at(NY, 2027, 3, 1)) is None
    free = person("m", "America/New_York", busy=[interval(occ, occ + timedelta(hours=1))])
    moved = find_move(free, person("e", "America/New_York"), occ, timedelta(minutes=30), Cadence.WEEKLY,
                      "America/New_York", not_before=at(NY, 2027, 3, 18, 12))
    assert moved is not None and moved >= at(NY, 2027, 3, 18, 12)


def test_find_move_avoids_taken_sessions():
    occ = at(NY, 2027, 3, 16, 10)
    mentor = person("m", "America/New_York", busy=[interval(occ, occ + timedelta(hours=1)),
                                                    interval(at(NY, 2027, 3, 15, 0), at(NY, 2027, 3, 16, 0))])
    taken = (interval(at(NY, 2027, 3, 17, 10), at(NY, 2027, 3, 17, 11)),)  # the mentor's other mentee
    moved = find_move(mentor, person("e", "America/New_York"), occ, timedelta(minutes=30), Cadence.WEEKLY,
                      "America/New_York", not_before=at(NY, 2027, 3, 1), taken=taken)
    assert moved == at(NY, 2027, 3, 18, 10)
