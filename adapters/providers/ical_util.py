"""iCalendar helpers shared by the providers that speak iCalendar (memory, CalDAV, ICS feeds).

Two halves:

- *Series*: build the VCALENDAR for a :class:`~scheduler.ports.SeriesSpec` (a wall-clock RRULE
  in an IANA zone, with VTIMEZONE, ORGANIZER/ATTENDEE and our tag), edit it (move or cancel one
  occurrence with a RECURRENCE-ID override, replace the description, cancel the series) and read
  it back as a :class:`~scheduler.ports.SeriesState`.
- *Busy*: turn any calendar (an export, a feed, a CalDAV collection) into busy intervals inside a
  window, expanding recurrences with ``recurring_ical_events`` (RRULE, EXDATE, RECURRENCE-ID),
  treating all-day and floating times in the person's own zone, and dropping transparent and
  cancelled events. Only start and end survive: titles never leave this module.

Every expansion is bounded by the window the caller gives.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr

from scheduler.core.intervals import Interval, interval, merge
from scheduler.errors import InvalidCalendarFile, NotFound, UnknownTimeZone
from scheduler.ports import OccurrenceState, Response, SeriesSpec, SeriesState

PRODID = "-//Tandem//Tandem mentoring scheduler//EN"
SERIES_KEY_PROPERTY = "X-TANDEM-SERIES-KEY"
_UID_NAMESPACE = uuid.UUID("6f1c2b8e-3f55-4a7e-9d0b-7f2d5c1a9e44")
_PARTSTAT_TO_RESPONSE: dict[str, Response] = {
    "NEEDS-ACTION": "needsAction", "ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative",
}
# Rules without COUNT/UNTIL get a VTIMEZONE this long; every series Tandem books is bounded.
_OPEN_SERIES_SPAN = timedelta(days=3 * 366)
# Floating and all-day events are read in the person's zone; a day of margin on each side of
# the window is enough for any UTC offset (-12..+14 h) before the exact clip.
_FLOATING_MARGIN = timedelta(days=1)


# --- series --------------------------------------------------------------------------------
def series_uid(series_key: str) -> str:
    """The iCalendar UID (and event id) of the series with ``series_key``: stable and URL-safe.

    >>> series_uid("series-42") == series_uid("series-42")
    True
    >>> series_uid("series-42").startswith("tandem-")
    True
    """
    return f"tandem-{uuid.uuid5(_UID_NAMESPACE, series_key).hex}"


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` or :class:`UnknownTimeZone`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin") from exc


def build_series_calendar(spec: SeriesSpec, *, now: datetime) -> icalendar.Calendar:
    """A VCALENDAR holding the recurring VEVENT for ``spec`` (UID from :func:`series_uid`)."""
    tz = zone(spec.tz)
    start = spec.start_local.replace(tzinfo=tz)
    event = icalendar.Event()
    event.add("uid", series_uid(spec.series_key))
    event.add("dtstamp", now.astimezone(timezone.utc))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=spec.duration_min))
    event.add("rrule", icalendar.vRecur.from_ical(spec.rrule))
    event.add("summary", spec.title)
    event.add("description", spec.description)
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", f"mailto:{spec.organizer_email}")
    for email in spec.attendee_emails:
        event.add("attendee", f"mailto:{email}",
                  parameters={"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"})
    event.add(SERIES_KEY_PROPERTY, spec.series_key)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(series_vtimezone(spec))
    calendar.add_component(event)
    return calendar


def series_vtimezone(spec: SeriesSpec) -> icalendar.Timezone:
    """A VTIMEZONE for the series zone covering the whole years the series runs in (plus one).

    Generated from ``zoneinfo`` for that span only: parsers that read VTIMEZONE rules instead of
    the IANA name (dateutil, vobject, some clients) mis-read icalendar's default 1970-2038 block.
    """
    tz = zone(spec.tz)
    start = spec.start_local.replace(tzinfo=tz)
    rule = rrulestr(spec.rrule, dtstart=start)
    last = rule.before(start + _OPEN_SERIES_SPAN, inc=True) or start
    return icalendar.Timezone.from_tzinfo(tz, spec.tz, first_date=date(start.year, 1, 1),
                                          last_date=date(last.year + 2, 1, 1))


def series_components(calendar: icalendar.Calendar, uid: str) -> tuple[icalendar.Event, list[icalendar.Event]]:
    """The master VEVENT of ``uid`` and its RECURRENCE-ID overrides; :class:`NotFound` if absent."""
    master, overrides = None, []
    for event in calendar.walk("VEVENT"):
        if str(event.get("UID")) != uid:
            continue
        if event.get("RECURRENCE-ID") is None:
            master = event
        else:
            overrides.append(event)
    if master is None:
        raise NotFound(f"calendar event {uid} does not exist (any more)")
    return master, overrides


def _touch(event: icalendar.Event, now: datetime) -> None:
    """Bump SEQUENCE and DTSTAMP so clients see the component as changed."""
    sequence = int(event.get("SEQUENCE", 0)) + 1
    for name, value in (("SEQUENCE", sequence), ("DTSTAMP", now.astimezone(timezone.utc)),
                        ("LAST-MODIFIED", now.astimezone(timezone.utc))):
        event.pop(name, None)
        event.add(name, value)


def _series_zone(master: icalendar.Event) -> ZoneInfo | timezone:
    start = master.start
    return start.tzinfo if isinstance(start, datetime) and start.tzinfo is not None else timezone.utc


def _same_instant(a: datetime, b: datetime) -> bool:
    return a.astimezone(timezone.utc) == b.astimezone(timezone.utc)


def _is_master_occurrence(calendar: icalendar.Calendar, uid: str, original_start: datetime) -> bool:
    master, _ = series_components(calendar, uid)
    only_master = icalendar.Calendar()
    only_master.add_component(master)
    probe_end = original_start + timedelta(seconds=1)
    return any(_same_instant(occ.start, original_start)
               for occ in recurring_ical_events.of(only_master).between(original_start, probe_end))


def set_occurrence(calendar: icalendar.Calendar, uid: str, original_start: datetime, *, now: datetime,
                   new_start: datetime | None = None, new_end: datetime | None = None,
                   cancelled: bool | None = None) -> None:
    """Move and/or cancel the occurrence of ``uid`` that originally started at ``original_start``.

    Writes (or updates) a RECURRENCE-ID override in the series zone; raises :class:`NotFound`
    when the series has no occurrence at ``original_start``.
    """
    master, overrides = series_components(calendar, uid)
    tz = _series_zone(master)
    override = next((o for o in overrides if _same_instant(o["RECURRENCE-ID"].dt, original_start)), None)
    if override is None:
        if not _is_master_occurrence(calendar, uid, original_start):
            raise NotFound(f"series {uid} has no occurrence starting at {original_start.isoformat()}")
        override = icalendar.Event()
        for name, value in master.property_items(recursive=False):
            if name not in ("BEGIN", "END", "RRULE", "RDATE", "EXDATE", "DTSTART", "DTEND", "DURATION"):
                override.add(name, value)
        local_original = original_start.astimezone(tz)
        override.add("recurrence-id", local_original)
        override.add("dtstart", local_original)
        override.add("dtend", local_original + (master.end - master.start))
        calendar.add_component(override)
    if new_start is not None and new_end is not None:
        for name, value in (("DTSTART", new_start), ("DTEND", new_end)):
            override.pop(name, None)
            override.add(name, value.astimezone(tz))
    if cancelled is not None:
        override.pop("STATUS", None)
        override.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    _touch(override, now)


def set_description(calendar: icalendar.Calendar, uid: str, description: str, *, now: datetime) -> None:
    """Replace DESCRIPTION on the series and on every override (overrides are whole copies)."""
    master, overrides = series_components(calendar, uid)
    for event in (master, *overrides):
        event.pop("DESCRIPTION", None)
        event.add("description", description)
        _touch(event, now)


def cancel_series(calendar: icalendar.Calendar, uid: str, *, now: datetime) -> bool:
    """Mark the series cancelled; returns False when it already was (nothing changed)."""
    master, _ = series_components(calendar, uid)
    if str(master.get("STATUS", "")).upper() == "CANCELLED":
        return False
    master.pop("STATUS", None)
    master.add("status", "CANCELLED")
    _touch(master, now)
    return True


def email_of(address) -> str:
    return str(address).removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()


def read_series(calendar: icalendar.Calendar, uid: str, start: datetime, end: datetime) -> SeriesState:
    """The series ``uid`` and its occurrences overlapping ``[start, end)``, all times in UTC."""
    master, _ = series_components(calendar, uid)
    series_cancelled = str(master.get("STATUS", "")).upper() == "CANCELLED"
    attendees_property = master.get("ATTENDEE", [])
    if not isinstance(attendees_property, list):
        attendees_property = [attendees_property]
    attendees = {email_of(a): _PARTSTAT_TO_RESPONSE.get(str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                                                      "needsAction")
                 for a in attendees_property}
    occurrences = []
    for occ in recurring_ical_events.of(calendar).between(start, end):
        if str(occ.get("UID")) != uid:
            continue
        occ_start, occ_end = occ.start.astimezone(timezone.utc), occ.end.astimezone(timezone.utc)
        recurrence_id = occ.get("RECURRENCE-ID")
        original = recurrence_id.dt.astimezone(timezone.utc) if recurrence_id is not None else occ_start
        cancelled = series_cancelled or str(occ.get("STATUS", "")).upper() == "CANCELLED"
        occurrences.append(OccurrenceState(original_start=original, start=occ_start, end=occ_end,
                                           cancelled=cancelled))
    occurrences.sort(key=lambda o: o.original_start)
    return SeriesState(event_id=uid, cancelled=series_cancelled, description=str(master.get("DESCRIPTION", "")),
                       attendees=attendees, occurrences=tuple(occurrences))


# --- busy ----------------------------------------------------------------------------------
def parse_calendar(text: str | bytes, source: str) -> icalendar.Calendar:
    """Parse iCalendar text or raise :class:`InvalidCalendarFile` naming ``source`` and the problem."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        # The parser's message may quote a line of the file (a title): keep it out of ours.
        raise InvalidCalendarFile(f"{source} is not a valid iCalendar file (a line could not be read); "
                                  "export the calendar again as .ics and retry") from exc
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise InvalidCalendarFile(f"{source} does not hold a VCALENDAR; export the calendar as .ics and retry")
    return calendar


_BUSY_FIELDS = frozenset({"UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE",
                          "RECURRENCE-ID", "RANGE", "TRANSP", "STATUS", "X-MICROSOFT-CDO-BUSYSTATUS",
                          "SEQUENCE", "DTSTAMP"})


def strip_to_busy_fields(calendar: icalendar.Calendar) -> icalendar.Calendar:
    """Drop every VEVENT property free/busy does not need (titles, places, people) in place.

    Called right after parsing someone's calendar, so no title can reach a log or a result.
    """
    for event in calendar.walk("VEVENT"):
        for name in [n for n in event if n.upper() not in _BUSY_FIELDS]:
            del event[name]
        event.subcomponents = []  # alarms carry descriptions too
    return calendar


def _as_utc(value: date | datetime, tz: ZoneInfo | timezone) -> datetime:
    """An aware UTC instant: dates are local midnight, naive (floating) times are local time."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(timezone.utc)


def is_busy_component(event: icalendar.Event) -> bool:
    """False for events that do not block time: transparent, cancelled, or shown as free."""
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return False
    return str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "BUSY")).upper() != "FREE"


def busy_intervals(calendars: Iterable[icalendar.Calendar], start: datetime, end: datetime,
                   tz_name: str | None = None) -> tuple[Interval, ...]:
    """Merged busy intervals of ``calendars`` inside ``[start, end)`` (clipped to it).

    ``tz_name`` is the person's zone, used for floating times and all-day events (UTC if None).
    Raises :class:`InvalidCalendarFile` when a recurrence cannot be expanded.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("busy_intervals needs an aware window")
    tz = zone(tz_name) if tz_name else timezone.utc
    window = interval(start, end)
    found: list[Interval] = []
    for calendar in calendars:
        try:
            occurrences = list(recurring_ical_events.of(calendar).between(start - _FLOATING_MARGIN,
                                                                           end + _FLOATING_MARGIN))
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidCalendarFile("an event's date or repeat rule in the calendar could not be read; "
                                      "export the calendar again as .ics and retry") from exc
        for occ in occurrences:
            if not is_busy_component(occ):
                continue
            occ_start, occ_end = _as_utc(occ.start, tz), _as_utc(occ.end, tz)
            if occ_end <= window.start or occ_start >= window.end:
                continue
            found.append(Interval(max(occ_start, window.start), min(occ_end, window.end)))
    return tuple(merge(found))
