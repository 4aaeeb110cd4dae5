"""iCalendar helpers shared by the providers that speak iCalendar (memory, CalDAV, ICS feeds).

Two halves:

- *Series*: build the VCALENDAR for a :class:`~scheduler.ports.SeriesSpec` (a wall-clock RRULE
  in an IANA zone, with VTIMEZONE, ORGANIZER/ATTENDEE and our tag), edit it (move or cancel one
  occurrence with a RECURRENCE-ID override, replace the description, cancel the series) and read
  it back as a :class:`~scheduler.ports.SeriesState`.
- *Busy*: :func:`busy_time` turns iCalendar documents (a feed, a CalDAV collection, the memory
  store) into busy intervals inside a window with the core's one parser,
  :mod:`scheduler.core.ics_busy`. Only start and end survive: titles never leave it.

Every expansion is bounded by the window the caller gives, and by
:class:`~scheduler.core.ics_busy.ExpansionLimits` (instances per event and per file or CalDAV
collection; events repeating every second or minute are refused): a server or feed controls
these documents, even the ones holding our own series.
"""
from __future__ import annotations

import copy

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr

from adapters.providers.vtimezone import rule_vtimezone
from scheduler.core.ics_busy import ExpansionBudget, ExpansionLimits, ExpansionRefused, busy_from_ics, check_expansion
from scheduler.core.intervals import Interval, merge
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
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long for a path
        raise UnknownTimeZone(f"unknown time zone {name[:60]!r}: use an IANA name such as Europe/Berlin") from exc


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

    Generated from ``zoneinfo`` as yearly rules (:mod:`adapters.providers.vtimezone`): parsers
    that read VTIMEZONE rules instead of the IANA name (dateutil, vobject, some clients) mis-read
    icalendar's default 1970-2038 block and its RDATE lists.
    """
    tz = zone(spec.tz)
    start = spec.start_local.replace(tzinfo=tz)
    rule = rrulestr(spec.rrule, dtstart=start)
    last = rule.before(start + _OPEN_SERIES_SPAN, inc=True) or start
    return rule_vtimezone(spec.tz, date(start.year, 1, 1), date(last.year + 1, 1, 1))


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
    check_expansion(only_master, f"series {uid}", probe_end, ExpansionBudget())
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


def declined_in(event: icalendar.Event) -> frozenset[str]:
    """The attendees of ``event`` whose PARTSTAT is DECLINED (an iTIP REPLY applied to it)."""
    attendees = event.get("ATTENDEE", [])
    return frozenset(email_of(a) for a in (attendees if isinstance(attendees, list) else [attendees])
                     if str(a.params.get("PARTSTAT", "")).upper() == "DECLINED")


def set_partstat(calendar: icalendar.Calendar, uid: str, attendee_email: str, partstat: str, *, now: datetime,
                 original_start: datetime | None = None) -> None:
    """Apply an attendee's answer (an iTIP REPLY): to the whole series, or to the one occurrence
    that originally started at ``original_start`` (an override is written for it)."""
    if original_start is None:
        event, _ = series_components(calendar, uid)
    else:
        set_occurrence(calendar, uid, original_start, now=now)
        _, overrides = series_components(calendar, uid)
        event = next(o for o in overrides if _same_instant(o["RECURRENCE-ID"].dt, original_start))
    attendees = event.get("ATTENDEE", [])
    attendees = [copy.deepcopy(a) for a in (attendees if isinstance(attendees, list) else [attendees])]
    for attendee in attendees:  # copies: an override shares the master's attendee objects
        if email_of(attendee) == attendee_email.lower():
            attendee.params["PARTSTAT"] = partstat
            event.pop("ATTENDEE", None)
            for each in attendees:
                event.add("attendee", each)
            _touch(event, now)
            return
    raise NotFound(f"{attendee_email} is not invited to {uid}")


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
    check_expansion(calendar, f"series {uid}", end, ExpansionBudget())
    for occ in recurring_ical_events.of(calendar).between(start, end):
        if str(occ.get("UID")) != uid:
            continue
        occ_start, occ_end = occ.start.astimezone(timezone.utc), occ.end.astimezone(timezone.utc)
        recurrence_id = occ.get("RECURRENCE-ID")
        original = recurrence_id.dt.astimezone(timezone.utc) if recurrence_id is not None else occ_start
        cancelled = series_cancelled or str(occ.get("STATUS", "")).upper() == "CANCELLED"
        occurrences.append(OccurrenceState(original_start=original, start=occ_start, end=occ_end,
                                           cancelled=cancelled, declined_by=declined_in(occ)))
    occurrences.sort(key=lambda o: o.original_start)
    return SeriesState(event_id=uid, cancelled=series_cancelled, description=str(master.get("DESCRIPTION", "")),
                       attendees=attendees, occurrences=tuple(occurrences))


# --- parsing and busy -----------------------------------------------------------------------
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


def busy_time(documents: Iterable[bytes | str], source: str, start: datetime, end: datetime,
              tz_name: str | None = None, *, limits: ExpansionLimits = ExpansionLimits()) -> tuple[Interval, ...]:
    """Merged busy intervals of iCalendar ``documents`` inside ``[start, end)``.

    The one busy parser is :func:`scheduler.core.ics_busy.busy_from_ics` (also used by
    ``tandem plan``); this wrapper merges several documents (a CalDAV collection holds one per
    event) and keeps parser details out of the message, since a parser may quote a line of the
    file — a title. ``tz_name`` is the person's zone for floating and all-day times (UTC if None).
    ``limits`` bound the expansion of all ``documents`` together (one budget per call).
    """
    found: list[Interval] = []
    budget = ExpansionBudget(limits)
    for document in documents:
        try:
            found.extend(busy_from_ics(document, source, tz_name or "UTC", start, end, budget=budget))
        except (UnknownTimeZone, ExpansionRefused):
            raise  # name the zone or the rule and the event's UID only
        except InvalidCalendarFile as exc:
            raise InvalidCalendarFile(f"{source} could not be read as an iCalendar file; export the calendar "
                                      "again as .ics and retry") from exc
    return tuple(merge(found))
