"""Issue 15, High 2 (recurrence bomb) and issue 14 (a custom VTIMEZONE name read with the file's
own block).

A 185-byte feed with ``FREQ=SECONDLY`` kept a web request busy for minutes and took gigabytes.
Expansion is now refused for sub-minute rules and capped per event and per file; the tests
assert on the refusal and on instance counts, never on wall-clock time.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import icalendar
import pytest

from adapters.providers.ics_feed import IcsFeedCalendarProvider
from scheduler.core.ics_busy import (ExpansionBudget, ExpansionLimits, ExpansionRefused, busy_from_ics,
                                     check_expansion)
from scheduler.errors import UnknownTimeZone
from scheduler.ports import CalendarAccount

UTC = timezone.utc
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ics"
ONE_DAY = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))


def feed(*rules: str, dtstart: str = "20260301T000000Z") -> str:
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:bomb-{n}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{dtstart}\r\n"
        f"DURATION:PT1S\r\nRRULE:{rule}\r\nSUMMARY:Secret-Title\r\nEND:VEVENT\r\n"
        for n, rule in enumerate(rules))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//attacker//EN\r\n{events}END:VCALENDAR\r\n"


@pytest.mark.parametrize("frequency", ["SECONDLY", "MINUTELY"])
def test_a_sub_minute_rule_is_refused_as_a_busy_source(frequency):
    with pytest.raises(ExpansionRefused) as refused:
        busy_from_ics(feed(f"FREQ={frequency}"), "the calendar feed", "UTC", *ONE_DAY)

    message = str(refused.value)
    assert f"FREQ={frequency}" in message and "bomb-0" in message and "hourly or less often" in message
    assert "Secret-Title" not in message


def test_the_refusal_comes_before_any_expansion():
    # From 1970 to 2100 a SECONDLY rule has over 4e9 instances: refused by reading the rule,
    # so this test finishing at all shows nothing was expanded.
    calendar = icalendar.Calendar.from_ical(feed("FREQ=SECONDLY", dtstart="19700101T000000Z"))
    budget = ExpansionBudget()

    with pytest.raises(ExpansionRefused):
        check_expansion(calendar, "the calendar feed", datetime(2100, 1, 1, tzinfo=UTC), budget)
    assert budget.spent == 0


def test_several_instances_a_minute_through_bysecond_are_refused_too():
    with pytest.raises(ExpansionRefused, match="BYSECOND"):
        busy_from_ics(feed("FREQ=HOURLY;BYSECOND=0,1,2,3"), "f.ics", "UTC", *ONE_DAY)


def test_instances_per_event_are_capped():
    # Every minute through BYMINUTE (an allowed frequency): 1,440 instances on one day.
    every_minute = "FREQ=HOURLY;BYMINUTE=" + ",".join(str(m) for m in range(60))
    with pytest.raises(ExpansionRefused, match="more than 1000 times"):
        busy_from_ics(feed(every_minute), "f.ics", "UTC", *ONE_DAY,
                      limits=ExpansionLimits(per_event=1000, per_file=10_000))


def test_instances_are_counted_from_dtstart_because_the_rule_engine_walks_from_there():
    calendar = icalendar.Calendar.from_ical(feed("FREQ=DAILY", dtstart="20260101T090000Z"))
    # 1 January to 2 March (09:00; the count runs a day past the end it is given), both included.
    assert check_expansion(calendar, "f.ics", datetime(2026, 3, 2, tzinfo=UTC), ExpansionBudget()) == 61


def test_instances_per_file_are_capped():
    ten_hourly_events = ["FREQ=HOURLY;COUNT=100"] * 10
    limits = ExpansionLimits(per_event=150, per_file=500)

    with pytest.raises(ExpansionRefused, match="more than 500 instances"):
        busy_from_ics(feed(*ten_hourly_events), "f.ics", "UTC", *ONE_DAY, limits=limits)


def test_an_ics_feed_with_a_secondly_event_is_unknown_time_naming_the_rule():
    account = CalendarAccount(connection_id="c1", provider="ics", email="ada@example.org",
                              credentials={"ics_text": feed("FREQ=SECONDLY"), "tz": "UTC"})

    result = IcsFeedCalendarProvider().free_busy([account], *ONE_DAY)["c1"]

    assert result.busy == () and "FREQ=SECONDLY" in result.error and "Secret-Title" not in result.error


def test_an_ics_feed_over_the_per_file_cap_is_refused_with_the_providers_limits():
    account = CalendarAccount(connection_id="c1", provider="ics", email="ada@example.org",
                              credentials={"ics_text": feed(*["FREQ=HOURLY;COUNT=100"] * 10), "tz": "UTC"})
    provider = IcsFeedCalendarProvider(expansion_limits=ExpansionLimits(per_event=150, per_file=500))

    result = provider.free_busy([account], *ONE_DAY)["c1"]

    assert result.busy == () and "more than 500 instances" in result.error


# --- issue 14: a custom TZID defined by the file's own VTIMEZONE ------------------------------
def test_a_custom_zone_name_is_read_with_the_files_own_vtimezone():
    # Outlook/Exchange export "Western/Central Europe" (+01:00, +02:00 in summer) with its block.
    busy = busy_from_ics((FIXTURES / "custom_vtimezone_name.ics").read_bytes(), "outlook.ics", "UTC",
                         datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    starts = [iv.start for iv in busy]
    assert starts[0] == datetime(2026, 3, 2, 8, tzinfo=UTC)       # 09:00 at +01:00
    assert starts[-1] == datetime(2026, 3, 30, 7, tzinfo=UTC)     # 09:00 at +02:00 after 29 March


def test_two_files_defining_the_same_custom_name_differently_each_use_their_own():
    # icalendar caches custom zones process-wide (the first definition wins): the second file,
    # whose block says +05:00, was read at +01:00.
    window = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    first = busy_from_ics((FIXTURES / "custom_vtimezone_name.ics").read_bytes(), "a.ics", "UTC", *window)
    second = busy_from_ics((FIXTURES / "custom_vtimezone_name_other_offsets.ics").read_bytes(), "b.ics", "UTC",
                           *window)

    assert first[0].start == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert second[0].start == datetime(2026, 3, 2, 4, tzinfo=UTC)


def test_a_custom_name_without_a_block_in_this_file_is_refused_even_if_another_file_defined_it():
    busy_from_ics((FIXTURES / "custom_vtimezone_name.ics").read_bytes(), "a.ics", "UTC", *ONE_DAY)
    without_block = (FIXTURES / "custom_vtimezone_name.ics").read_text().split("BEGIN:VTIMEZONE")[0] + \
        (FIXTURES / "custom_vtimezone_name.ics").read_text().split("END:VTIMEZONE")[1]

    with pytest.raises(UnknownTimeZone, match="Western/Central Europe"):
        busy_from_ics(without_block, "b.ics", "UTC", *ONE_DAY)


def test_an_ended_series_counts_only_up_to_its_until():
    # Daily through 2010: 365 instances (one more for the day of margin), however late the window.
    calendar = icalendar.Calendar.from_ical(feed("FREQ=DAILY;UNTIL=20101231T235959Z", dtstart="20100101T090000Z"))
    assert check_expansion(calendar, "f.ics", datetime(2026, 3, 2, tzinfo=UTC), ExpansionBudget()) == 366


def test_many_ended_daily_series_in_an_old_calendar_are_not_refused():
    # An export with many finished daily series: 200 x 366 instances fits the default caps.
    ended = ["FREQ=DAILY;UNTIL=20001231T000000Z"] * 200
    busy_from_ics(feed(*ended, dtstart="20000101T090000Z"), "old.ics", "UTC", *ONE_DAY)
