"""ICS import of busy time: one named fixture per edge case."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.core.ics_busy import busy_from_ics
from scheduler.errors import InvalidCalendarFile, UnknownTimeZone

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ics"
UTC = timezone.utc
WINDOW = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 15, tzinfo=UTC))


def busy(fixture: str, tz: str = "Europe/Berlin", window=WINDOW):
    data = (FIXTURES / fixture).read_bytes()
    return [(iv.start, iv.end) for iv in busy_from_ics(data, fixture, tz, *window)]


def at(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def test_rrule_expands_and_exdate_removes_one_instance():
    assert busy("recurring_weekly_with_exdate.ics") == [
        (at("Europe/Berlin", 2027, 3, d, 10), at("Europe/Berlin", 2027, 3, d, 11)) for d in (1, 15, 22)
    ]


def test_recurrence_id_override_replaces_the_instance():
    ny = "America/New_York"
    assert busy("recurrence_id_override.ics") == [
        (at(ny, 2027, 3, 1, 9), at(ny, 2027, 3, 1, 9, 15)),
        (at(ny, 2027, 3, 2, 14), at(ny, 2027, 3, 2, 14, 30)),
        (at(ny, 2027, 3, 3, 9), at(ny, 2027, 3, 3, 9, 15)),
    ]


def test_all_day_event_is_busy_for_whole_local_days_in_the_persons_zone():
    assert busy("all_day_event.ics", tz="Asia/Tokyo") == [(at("Asia/Tokyo", 2027, 3, 3), at("Asia/Tokyo", 2027, 3, 5))]


def test_floating_time_is_read_in_the_persons_zone():
    assert busy("floating_times.ics", tz="America/Chicago") == [
        (at("America/Chicago", 2027, 3, 2, 15), at("America/Chicago", 2027, 3, 2, 16))]


def test_windows_zone_name_with_vtimezone_follows_dst():
    # 22 March is CET (+01:00), 29 March is CEST (+02:00): 09:00 local each time.
    assert busy("windows_zone_with_vtimezone.ics") == [
        (datetime(2027, 3, 22, 8, tzinfo=UTC), datetime(2027, 3, 22, 9, tzinfo=UTC)),
        (datetime(2027, 3, 29, 7, tzinfo=UTC), datetime(2027, 3, 29, 8, tzinfo=UTC)),
    ]


def test_windows_zone_name_without_vtimezone_maps_to_iana():
    assert busy("windows_zone_without_vtimezone.ics") == [
        (at("America/Los_Angeles", 2027, 3, 1, 10), at("America/Los_Angeles", 2027, 3, 1, 11))]


def test_transparent_is_free_and_cancelled_is_not_busy():
    assert busy("transparent_and_cancelled.ics") == [
        (datetime(2027, 3, 1, 14, tzinfo=UTC), datetime(2027, 3, 1, 15, tzinfo=UTC))]


def test_cancelled_instance_of_a_series_is_not_busy():
    starts = [start for start, _ in busy("cancelled_instance.ics")]
    assert starts == [datetime(2027, 3, 1, 16, tzinfo=UTC), datetime(2027, 3, 15, 16, tzinfo=UTC)]


def test_unbounded_rrule_is_expanded_only_inside_the_window():
    window = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 8, tzinfo=UTC))
    intervals = busy("unbounded_daily_rrule.ics", tz="Asia/Kathmandu", window=window)
    assert len(intervals) == 7
    assert all(window[0] <= start and end <= window[1] for start, end in intervals)
    assert intervals[0] == (at("Asia/Kathmandu", 2027, 3, 1, 9, 15), at("Asia/Kathmandu", 2027, 3, 1, 9, 45))


def test_intervals_are_clipped_to_the_window():
    window = (at("Asia/Tokyo", 2027, 3, 4, 12), at("Asia/Tokyo", 2027, 3, 10))
    assert busy("all_day_event.ics", tz="Asia/Tokyo", window=window) == [(window[0], at("Asia/Tokyo", 2027, 3, 5))]


def test_only_times_are_kept_never_titles():
    data = (FIXTURES / "recurring_weekly_with_exdate.ics").read_bytes()
    result = busy_from_ics(data, "x.ics", "Europe/Berlin", *WINDOW)
    assert "Secret" not in repr(result)
    assert all(set(vars(iv) if hasattr(iv, "__dict__") else iv.__slots__) == {"start", "end"} for iv in result)


@pytest.mark.parametrize("fixture, words", [
    ("not_a_calendar.ics", "not a valid iCalendar file"),
    ("truncated.ics", "not a valid iCalendar file"),
    ("broken_dtstart.ics", "DTSTART"),
])
def test_malformed_file_names_the_file_and_the_problem(fixture, words):
    with pytest.raises(InvalidCalendarFile) as info:
        busy(fixture)
    assert fixture in str(info.value) and words in str(info.value)


@pytest.mark.parametrize("rule", ["FREQ=", "FREQ=WEEKLY;INTERVAL=x", "COUNT=3"])
def test_an_unreadable_rrule_is_refused_naming_the_file(rule):
    """Found by `make fuzz`: an RRULE the library keeps as a broken property must be refused
    as invalid input, not escape as the library's own error."""
    data = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20270301T100000Z\r\n"
            f"DTEND:20270301T110000Z\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    with pytest.raises(InvalidCalendarFile, match="broken.ics: .*(RRULE|property)") as info:
        busy_from_ics(data, "broken.ics", "Europe/Berlin", *WINDOW)
    assert "calendar" in str(info.value)


def test_empty_file_is_invalid():
    with pytest.raises(InvalidCalendarFile, match="empty.ics: the file is empty"):
        busy_from_ics(b"", "empty.ics", "UTC", *WINDOW)


def test_unknown_tzid_says_which_zone_and_what_to_do():
    with pytest.raises(UnknownTimeZone) as info:
        busy("unknown_tzid.ics")
    message = str(info.value)
    assert "unknown_tzid.ics" in message and "Mars/Olympus_Mons" in message and "IANA" in message


def test_unknown_person_zone_is_refused():
    with pytest.raises(UnknownTimeZone, match="Europe/Atlantis"):
        busy("floating_times.ics", tz="Europe/Atlantis")


def test_window_must_be_aware():
    with pytest.raises(ValueError):
        busy_from_ics(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "x.ics", "UTC",
                      datetime(2027, 3, 1), datetime(2027, 3, 2) + timedelta(days=1))
