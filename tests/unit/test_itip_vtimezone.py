"""Invitations read the same in every calendar client: the VTIMEZONE is written as yearly RRULE
observances, and two independent parsers that read the VTIMEZONE itself (not the IANA name)
place every session of a series where ``zoneinfo`` does — across New Year and both clock changes,
in zones north and south of the equator and in zones without DST.

Each case renames the zone to a name no parser knows (``Tandem-Test-...``), so the parsers must
use the block Tandem wrote; the name is unique per case because vobject registers zones by TZID
for the whole process."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import vobject
from dateutil.rrule import rrulestr

from adapters.mail.itip import build_request
from adapters.providers.ical_util import build_series_calendar
from adapters.providers.vtimezone import rule_vtimezone
from scheduler.ports import SeriesSpec

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
NORTH = ("Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles")
SOUTH = ("Australia/Sydney", "Pacific/Auckland", "America/Santiago")
NO_DST = ("Asia/Kolkata", "Asia/Tokyo", "UTC")
_names = itertools.count()


def _spec(tz: str, start: datetime, weeks: int) -> SeriesSpec:
    return SeriesSpec(series_key=f"series-{tz}", title="Mentoring", description="Agenda",
                      organizer_email="ana@example.org", attendee_emails=("sam@example.org",),
                      start_local=start, tz=tz, duration_min=45, rrule=f"FREQ=WEEKLY;COUNT={weeks}")


def _truth(spec: SeriesSpec) -> list[datetime]:
    zone = ZoneInfo(spec.tz)
    return [d.replace(tzinfo=zone).astimezone(UTC) for d in rrulestr(spec.rrule, dtstart=spec.start_local)]


def _renamed(text: str, tz: str) -> str:
    name = f"Tandem-Test-{next(_names)}"
    return text.replace(f"TZID:{tz}", f"TZID:{name}").replace(f"TZID={tz}", f"TZID={name}")


def _rule(observance) -> icalendar.vRecur:
    return icalendar.vRecur.from_ical(observance["RRULE"].to_ical().decode())


def _by_vobject(text: str) -> list[datetime]:
    return [d.astimezone(UTC) for d in vobject.readOne(text).vevent.getrruleset(addRDate=True)]


def _by_icalendar(text: str) -> list[datetime]:
    window = (datetime(2010, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC))
    return sorted(o.start.astimezone(UTC) for o in recurring_ical_events.of(icalendar.Calendar.from_ical(text))
                  .between(*window))


@pytest.mark.parametrize("tz", NORTH + SOUTH + NO_DST)
@pytest.mark.parametrize("start, weeks", [
    (datetime(2027, 11, 30, 10), 30),  # the reported case: New Year and the March change in a 2-year block
    (datetime(2027, 11, 30, 10), 60),  # both changes of 2028, then into 2029
    (datetime(2027, 1, 5, 8, 30), 52),  # within one year
])
def test_both_parsers_read_every_session_of_the_invitation_where_zoneinfo_puts_it(tz, start, weeks):
    spec = _spec(tz, start, weeks)
    text = _renamed(build_request(spec, now=NOW), tz)

    assert _by_vobject(text) == _truth(spec)
    assert _by_icalendar(text) == _truth(spec)


@pytest.mark.parametrize("tz", ("Europe/London", "Australia/Sydney", "America/New_York"))
def test_the_calendar_written_to_caldav_and_ics_reads_the_same(tz):
    spec = _spec(tz, datetime(2027, 11, 30, 10), 60)
    text = _renamed(build_series_calendar(spec, now=NOW).to_ical().decode(), tz)

    assert _by_vobject(text) == _truth(spec) == _by_icalendar(text)


def test_the_block_is_written_as_yearly_rules_like_google_and_outlook_export_it():
    block = rule_vtimezone("Europe/London", date(2027, 1, 1), date(2029, 1, 1))

    observances = {c.name: c for c in block.subcomponents}
    assert set(observances) == {"STANDARD", "DAYLIGHT"}
    assert "RDATE" not in observances["STANDARD"] and "RDATE" not in observances["DAYLIGHT"]
    assert _rule(observances["DAYLIGHT"]) == icalendar.vRecur.from_ical("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")
    assert _rule(observances["STANDARD"]) == icalendar.vRecur.from_ical("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU")
    assert observances["DAYLIGHT"].DTSTART == datetime(1970, 3, 29, 1, 0)
    assert observances["STANDARD"].DTSTART == datetime(1970, 10, 25, 2, 0)
    assert (observances["DAYLIGHT"]["TZOFFSETFROM"].td, observances["DAYLIGHT"]["TZOFFSETTO"].td) == \
        (timedelta(0), timedelta(hours=1))


def test_a_second_sunday_rule_and_a_first_sunday_rule_in_the_south():
    new_york = {c.name: _rule(c) for c in rule_vtimezone("America/New_York", date(2027, 1, 1),
                                                           date(2028, 1, 1)).subcomponents}
    sydney = {c.name: _rule(c) for c in rule_vtimezone("Australia/Sydney", date(2027, 1, 1),
                                                         date(2028, 1, 1)).subcomponents}
    assert new_york["DAYLIGHT"] == icalendar.vRecur.from_ical("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU")
    assert new_york["STANDARD"] == icalendar.vRecur.from_ical("FREQ=YEARLY;BYMONTH=11;BYDAY=1SU")
    assert sydney["DAYLIGHT"] == icalendar.vRecur.from_ical("FREQ=YEARLY;BYMONTH=10;BYDAY=1SU")
    assert sydney["STANDARD"] == icalendar.vRecur.from_ical("FREQ=YEARLY;BYMONTH=4;BYDAY=1SU")


@pytest.mark.parametrize("tz", NO_DST)
def test_a_zone_without_clock_changes_is_one_standard_observance(tz):
    block = rule_vtimezone(tz, date(2027, 1, 1), date(2029, 1, 1))

    [standard] = block.subcomponents
    assert standard.name == "STANDARD" and "RRULE" not in standard
    assert standard["TZOFFSETFROM"].td == standard["TZOFFSETTO"].td == ZoneInfo(tz).utcoffset(datetime(2028, 1, 1))


def test_a_zone_that_stopped_changing_clocks_gets_no_invented_changes():
    # Sao Paulo's last DST ended on 17 February 2019: an open yearly rule would invent later changes
    tz = "America/Sao_Paulo"
    spec = _spec(tz, datetime(2018, 10, 2, 10), 80)  # October 2018 to April 2020
    text = _renamed(build_request(spec, now=NOW), tz)

    assert _by_vobject(text) == _truth(spec) == _by_icalendar(text)
