"""Session times for both people, and the DST note when one person's clock time moves."""
from __future__ import annotations

import doctest
from datetime import datetime, timedelta, timezone

import web.pairs.timeview as timeview
from web.pairs.timeview import session_times


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def weekly(first: datetime, count: int, minutes: int = 45):
    return [(first + timedelta(weeks=i), first + timedelta(weeks=i, minutes=minutes)) for i in range(count)]


def test_doctests():
    assert doctest.testmod(timeview).failed == 0


def test_both_zones_are_shown_in_their_own_wall_time():
    [t] = session_times(weekly(utc(2027, 1, 12, 14), 1), "Europe/Berlin", "Asia/Kolkata", "Priya")
    assert t.mine == "Tue 12 Jan, 15:00–15:45"
    assert t.theirs == "Tue 12 Jan, 19:30–20:15"
    assert t.dst_note is None


def test_us_eu_mismatch_weeks_note_the_other_persons_shift_then_mine():
    # The series is wall-clock in Berlin (15:00 CET/CEST); New York changes on 14 Mar, Berlin on 28 Mar 2027.
    sessions = [(utc(2027, 3, 9, 14), utc(2027, 3, 9, 15)), (utc(2027, 3, 16, 14), utc(2027, 3, 16, 15)),
                (utc(2027, 3, 23, 14), utc(2027, 3, 23, 15)), (utc(2027, 3, 30, 13), utc(2027, 3, 30, 14))]
    times = session_times(sessions, "Europe/Berlin", "America/New_York", "Sam")
    assert [t.dst_note for t in times] == [
        None,
        "Sam's local time moves from 09:00 to 10:00 (their clocks change).",
        None,
        "Sam's local time moves from 10:00 to 09:00 (their clocks change).",
    ]
    assert [t.mine[-11:] for t in times] == ["15:00–16:00"] * 4


def test_the_viewers_own_shift_is_noted_too():
    sessions = [(utc(2027, 3, 23, 14), utc(2027, 3, 23, 15)), (utc(2027, 3, 30, 14), utc(2027, 3, 30, 15))]
    [_, second] = session_times(sessions, "Europe/Berlin", "UTC", "Sam")
    assert second.dst_note == "Your local time moves from 15:00 to 16:00 (your clocks change)."
