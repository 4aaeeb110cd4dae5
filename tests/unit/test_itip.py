"""The iTIP invitations Tandem emails are read the same by two independent parsers.

``icalendar`` + ``recurring_ical_events`` on one side, ``vobject`` (which builds its zones from
our VTIMEZONE, through dateutil) on the other: both must expand the same occurrences, across
daylight-saving changes, with skipped, moved and cancelled sessions.
"""
from __future__ import annotations

import doctest
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import vobject

from adapters.mail import itip
from adapters.mail.itip import MovedOccurrence, build_cancel, build_request
from adapters.providers.ical_util import series_uid
from scheduler.errors import NotFound
from scheduler.ports import SeriesSpec

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
WINDOW = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
AGENDA = "1. Check in\n2. Career goals; next steps, questions"


def _spec(tz: str = "America/New_York", start: datetime = datetime(2027, 2, 23, 10, 0),
          rrule: str = "FREQ=WEEKLY;INTERVAL=1;COUNT=8;BYDAY=TU") -> SeriesSpec:
    return SeriesSpec(series_key="series-7", title="Mentoring: Ana & Sam", description=AGENDA,
                      organizer_email="ana@example.org", attendee_emails=("sam@example.org",),
                      start_local=start, tz=tz, duration_min=45, rrule=rrule)


def _by_icalendar(text: str) -> list[tuple[datetime, datetime]]:
    """Occurrences (UTC start, end) that are not cancelled, as icalendar + recurring_ical_events see them."""
    calendar = icalendar.Calendar.from_ical(text)
    found = []
    for occ in recurring_ical_events.of(calendar).between(*WINDOW):
        if str(occ.get("STATUS", "")).upper() != "CANCELLED":
            found.append((occ.start.astimezone(UTC), occ.end.astimezone(UTC)))
    return sorted(found)


def _by_vobject(text: str) -> list[tuple[datetime, datetime]]:
    """The same, as vobject sees them: the master's rule set, with RECURRENCE-ID overrides applied."""
    calendar = vobject.readOne(text)
    events = list(calendar.vevent_list)
    master = next(e for e in events if not hasattr(e, "recurrence_id"))
    overrides = {e.recurrence_id.value.astimezone(UTC): e for e in events if hasattr(e, "recurrence_id")}
    duration = master.dtend.value - master.dtstart.value
    found = []
    for start in master.getrruleset(addRDate=True):
        start = start.astimezone(UTC)
        override = overrides.get(start)
        if override is None:
            found.append((start, start + duration))
        elif getattr(override, "status", None) is None or override.status.value.upper() != "CANCELLED":
            found.append((override.dtstart.value.astimezone(UTC), override.dtend.value.astimezone(UTC)))
    return sorted(found)


def _apply(request: str, cancel: str) -> str:
    """What a mail client does with a CANCEL of one occurrence: add its override to the event."""
    calendar = icalendar.Calendar.from_ical(request)
    for event in icalendar.Calendar.from_ical(cancel).walk("VEVENT"):
        calendar.add_component(event)
    return calendar.to_ical().decode()


def test_weekly_series_across_the_us_dst_change_reads_the_same_in_both_parsers():
    text = build_request(_spec(), now=NOW)

    by_icalendar, by_vobject = _by_icalendar(text), _by_vobject(text)

    assert by_icalendar == by_vobject
    assert len(by_icalendar) == 8
    # 10:00 New York every week: 15:00 UTC before 14 March 2027, 14:00 UTC after.
    assert [s.astimezone(UTC).hour for s, _ in by_icalendar] == [15, 15, 15, 14, 14, 14, 14, 14]
    assert {(s.astimezone(NY).hour, s.astimezone(NY).minute) for s, _ in by_icalendar} == {(10, 0)}
    assert all(e - s == timedelta(minutes=45) for s, e in by_icalendar)


@pytest.mark.parametrize("tz, start", [
    ("Europe/Berlin", datetime(2027, 3, 9, 18, 30)),      # EU summer time starts 28 March
    ("Australia/Sydney", datetime(2027, 3, 23, 8, 0)),    # southern hemisphere: DST ends 4 April
    ("Asia/Kathmandu", datetime(2027, 3, 9, 9, 15)),      # +05:45, no DST
    ("America/Sao_Paulo", datetime(2027, 3, 9, 9, 0)),    # no DST since 2019
])
def test_other_zones_read_the_same_in_both_parsers(tz, start):
    text = build_request(_spec(tz=tz, start=start, rrule="FREQ=WEEKLY;COUNT=6"), now=NOW)

    occurrences = _by_icalendar(text)

    assert occurrences == _by_vobject(text)
    assert {o[0].astimezone(ZoneInfo(tz)).time() for o in occurrences} == {start.time()}


def test_the_request_carries_what_a_calendar_client_needs():
    text = build_request(_spec(), now=NOW, sequence=3, video_url="https://video.example.org/r/abc?pwd=1")

    calendar = icalendar.Calendar.from_ical(text)
    (event,) = calendar.walk("VEVENT")
    (vtimezone,) = calendar.walk("VTIMEZONE")
    attendee = event["ATTENDEE"]
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == series_uid("series-7")
    assert event["SEQUENCE"] == 3
    assert str(event["ORGANIZER"]) == "mailto:ana@example.org"
    assert str(attendee) == "mailto:sam@example.org"
    assert (attendee.params["PARTSTAT"], attendee.params["RSVP"]) == ("NEEDS-ACTION", "TRUE")
    assert event["RRULE"] == icalendar.vRecur.from_ical("FREQ=WEEKLY;INTERVAL=1;COUNT=8;BYDAY=TU")
    assert event["DTSTART"].params["TZID"] == "America/New_York" == str(vtimezone["TZID"])
    assert {c.name for c in vtimezone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    assert str(event["LOCATION"]) == str(event["URL"]) == "https://video.example.org/r/abc?pwd=1"
    assert str(event["DESCRIPTION"]) == AGENDA
    assert vobject.readOne(text).vevent.description.value == AGENDA


def test_the_vtimezone_is_yearly_rules_that_read_right_into_the_next_year():
    text = build_request(_spec(start=datetime(2027, 11, 2, 10), rrule="FREQ=WEEKLY;COUNT=10"), now=NOW)

    (vtimezone,) = icalendar.Calendar.from_ical(text).walk("VTIMEZONE")
    zone_read_back = vobject.readOne(text).vtimezone.gettzinfo()

    assert all("RRULE" in c and "RDATE" not in c for c in vtimezone.subcomponents)
    assert datetime(2028, 1, 4, 10, tzinfo=zone_read_back).utcoffset() == timedelta(hours=-5)


def test_a_skipped_session_is_missing_in_both_parsers():
    skipped = datetime(2027, 3, 16, 10, tzinfo=NY)  # just after the DST change

    text = build_request(_spec(), now=NOW, skipped=[skipped])

    occurrences = _by_icalendar(text)
    assert occurrences == _by_vobject(text)
    assert len(occurrences) == 7
    assert skipped not in [s for s, _ in occurrences]


def test_a_moved_session_is_an_override_both_parsers_apply():
    original = datetime(2027, 3, 9, 10, tzinfo=NY)
    new_start = datetime(2027, 3, 18, 14, 30, tzinfo=NY)  # after the DST change, other weekday
    moved = MovedOccurrence(original_start=original, start=new_start, end=new_start + timedelta(minutes=45))

    text = build_request(_spec(), now=NOW, sequence=1, moved=[moved])

    occurrences = _by_icalendar(text)
    assert occurrences == _by_vobject(text)
    assert len(occurrences) == 8
    assert (new_start.astimezone(UTC), (new_start + timedelta(minutes=45)).astimezone(UTC)) in occurrences
    assert original not in [s for s, _ in occurrences]
    override = next(e for e in icalendar.Calendar.from_ical(text).walk("VEVENT") if "RECURRENCE-ID" in e)
    assert override["RECURRENCE-ID"].dt == original and override["SEQUENCE"] == 1


def test_cancelling_one_session_removes_exactly_that_one_in_both_parsers():
    request = build_request(_spec(), now=NOW)
    cancelled = datetime(2027, 3, 23, 14, tzinfo=UTC)  # 10:00 New York, summer time

    cancel = build_cancel(_spec(), now=NOW, sequence=1, occurrence_start=cancelled)

    calendar = icalendar.Calendar.from_ical(cancel)
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == series_uid("series-7")
    assert (str(event["STATUS"]), event["SEQUENCE"], event["RECURRENCE-ID"].dt) == ("CANCELLED", 1, cancelled)
    assert "RRULE" not in event
    assert vobject.readOne(cancel).vevent.recurrence_id.value == cancelled
    applied = _apply(request, cancel)
    assert _by_icalendar(applied) == _by_vobject(applied)
    assert [s for s, _ in _by_icalendar(request) if s not in [a for a, _ in _by_icalendar(applied)]] == [cancelled]


def test_cancelling_the_whole_series():
    cancel = build_cancel(_spec(), now=NOW, sequence=2)

    calendar = icalendar.Calendar.from_ical(cancel)
    (event,) = calendar.walk("VEVENT")
    parsed = vobject.readOne(cancel)
    assert str(calendar["METHOD"]) == parsed.method.value == "CANCEL"
    assert str(event["STATUS"]) == parsed.vevent.status.value == "CANCELLED"
    assert str(event["UID"]) == parsed.vevent.uid.value == series_uid("series-7")
    assert "RECURRENCE-ID" not in event and event["SEQUENCE"] == 2


def test_a_time_that_is_not_a_session_is_refused():
    with pytest.raises(NotFound):
        build_request(_spec(), now=NOW, skipped=[datetime(2027, 3, 17, 10, tzinfo=NY)])
    with pytest.raises(NotFound):
        build_cancel(_spec(), now=NOW, sequence=1, occurrence_start=datetime(2027, 3, 17, 10, tzinfo=NY))


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        build_request(_spec(), now=NOW, skipped=[datetime(2027, 3, 16, 10)])


def test_doctests():
    assert doctest.testmod(itip).failed == 0
