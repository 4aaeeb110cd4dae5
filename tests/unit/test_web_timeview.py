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
        "Sam's local time moves from 09:00 to 10:00: their clocks change on Sun 14 Mar.",
        None,
        # Berlin's clocks changed on 28 March, not Sam's: the series keeps 15:00 in Berlin
        "Sam's local time moves from 10:00 to 09:00: your clocks change on Sun 28 Mar; theirs do not.",
    ]
    assert [t.mine[-11:] for t in times] == ["15:00–16:00"] * 4


def test_the_viewers_own_shift_is_noted_too():
    sessions = [(utc(2027, 3, 23, 14), utc(2027, 3, 23, 15)), (utc(2027, 3, 30, 14), utc(2027, 3, 30, 15))]
    [_, second] = session_times(sessions, "Europe/Berlin", "UTC", "Sam")
    assert second.dst_note == "Your local time moves from 15:00 to 16:00: your clocks change on Sun 28 Mar."


def test_a_reader_without_dst_is_never_told_their_clocks_change():
    # The series keeps 10:00 in Berlin; Kolkata has no DST, so the Kolkata reader's time moves
    # because Berlin's clocks change, and the note says so from the reader's side.
    sessions = [(utc(2027, 3, 23, 9), utc(2027, 3, 23, 10)), (utc(2027, 3, 30, 8), utc(2027, 3, 30, 9))]
    [_, second] = session_times(sessions, "Asia/Kolkata", "Europe/Berlin", "Mia")
    assert second.dst_note == "Your local time moves from 14:30 to 13:30: Mia's clocks change on Sun 28 Mar; yours do not."
    assert "your clocks change" not in second.dst_note
    [_, mias] = session_times(sessions, "Europe/Berlin", "Asia/Kolkata", "Priya")
    assert mias.dst_note == "Priya's local time moves from 14:30 to 13:30: your clocks change on Sun 28 Mar; theirs do not."


def test_two_zones_without_dst_never_get_a_note():
    sessions = weekly(utc(2027, 1, 5, 9), 52)
    assert all(t.dst_note is None for t in session_times(sessions, "Asia/Kolkata", "Asia/Tokyo", "Ken"))


def test_southern_and_northern_hemispheres_change_in_opposite_directions():
    # Sydney leaves DST on 4 April 2027 (first Sunday of April), Berlin enters it on 28 March:
    # a UTC-fixed session moves for both readers, a week apart, and each note names the right clocks.
    sessions = weekly(utc(2027, 3, 23, 8), 3)  # 23 Mar, 30 Mar, 6 Apr
    times = session_times(sessions, "Australia/Sydney", "Europe/Berlin", "Mia")
    assert times[1].dst_note == "Mia's local time moves from 09:00 to 10:00: their clocks change on Sun 28 Mar."
    assert times[2].dst_note == "Your local time moves from 19:00 to 18:00: your clocks change on Sun 4 Apr."


def test_both_clocks_changing_between_two_sessions_are_both_named():
    # Berlin on 28 March and Sydney on 4 April fall between two fortnightly sessions
    sessions = [(utc(2027, 3, 23, 8), utc(2027, 3, 23, 9)), (utc(2027, 4, 6, 8), utc(2027, 4, 6, 9))]
    [_, second] = session_times(sessions, "Australia/Sydney", "Europe/Berlin", "Mia")
    assert second.dst_note == ("Mia's local time moves from 09:00 to 10:00 and your local time moves from 19:00 to 18:00: "
                               "your clocks change on Sun 4 Apr and Mia's on Sun 28 Mar.")


def test_a_session_moved_by_hand_is_not_explained_by_clocks():
    sessions = [(utc(2027, 1, 12, 14), utc(2027, 1, 12, 15)), (utc(2027, 1, 19, 16), utc(2027, 1, 19, 17))]
    assert [t.dst_note for t in session_times(sessions, "Europe/Berlin", "America/New_York", "Sam")] == [None, None]


def test_us_eu_out_of_step_autumn_weeks():
    # The series keeps 10:00 in New York; Berlin leaves DST on 31 October 2027, New York on 7 November.
    sessions = [(utc(2027, 10, 26, 14), utc(2027, 10, 26, 15)), (utc(2027, 11, 2, 14), utc(2027, 11, 2, 15)),
                (utc(2027, 11, 9, 15), utc(2027, 11, 9, 16))]
    times = session_times(sessions, "America/New_York", "Europe/Berlin", "Mia")
    assert times[1].dst_note == "Mia's local time moves from 16:00 to 15:00: their clocks change on Sun 31 Oct."
    assert times[2].dst_note == "Mia's local time moves from 15:00 to 16:00: your clocks change on Sun 7 Nov; theirs do not."
