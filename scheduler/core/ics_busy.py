"""Busy time from an iCalendar export (Google, Outlook, Apple), expanded within a window.

Only start and end survive: titles, descriptions and attendees are never kept.

* Recurring events (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) are expanded by
  ``recurring_ical_events`` inside the window only.
* All-day events are busy from local midnight to local midnight in the person's zone.
* Floating times (no zone) are read in the person's zone.
* ``TZID`` may be an IANA name, a Windows name ("W. Europe Standard Time") or a name defined by
  a VTIMEZONE block in the file; anything else is :class:`UnknownTimeZone`.
* ``TRANSP:TRANSPARENT`` events are free and ``STATUS:CANCELLED`` events (or cancelled
  instances) are not busy.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from icalendar.timezone import tzp

from scheduler.core.intervals import Interval, merge
from scheduler.core.timegrid import zone
from scheduler.errors import InvalidCalendarFile, UnknownTimeZone

_DATE_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")


def busy_from_ics(data: bytes | str, name: str, tz_name: str, window_start: datetime, window_end: datetime) -> list[Interval]:
    """Merged busy intervals (UTC) of the calendar ``data`` within ``[window_start, window_end)``.

    ``name`` is how errors refer to the file; ``tz_name`` is the person's IANA zone, used for
    all-day and floating events.
    """
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("the expansion window needs aware datetimes")
    person_zone = zone(tz_name)
    calendar = _parse(data, name)
    _check_time_zones(calendar, name)
    margin = timedelta(days=1)
    try:
        events = recurring_ical_events.of(calendar).between(window_start - margin, window_end + margin)
        intervals = [iv for event in events if (iv := _busy_interval(event, person_zone)) is not None]
    except (UnknownTimeZone, InvalidCalendarFile):
        raise
    except Exception as exc:  # the libraries raise many types for broken input; name the file
        raise InvalidCalendarFile(f"{name}: cannot expand the events ({_first_line(exc)}); re-export the calendar") from exc
    clipped = []
    for iv in intervals:
        start, end = max(iv.start, window_start), min(iv.end, window_end)
        if start < end:
            clipped.append(Interval(start.astimezone(timezone.utc), end.astimezone(timezone.utc)))
    return merge(clipped)


def _parse(data: bytes | str, name: str) -> icalendar.Calendar:
    if not data or not data.strip():
        raise InvalidCalendarFile(f"{name}: the file is empty; export the calendar again as .ics")
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as exc:
        raise InvalidCalendarFile(f"{name}: not a valid iCalendar file ({_first_line(exc)}); export it again as .ics") from exc
    if getattr(calendar, "name", None) != "VCALENDAR":
        raise InvalidCalendarFile(f"{name}: the file does not start with BEGIN:VCALENDAR; export it again as .ics")
    return calendar


def _check_time_zones(calendar: icalendar.Calendar, name: str) -> None:
    """Refuse TZIDs nobody can resolve (they would otherwise silently become floating times)."""
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", "(no UID)"))
        if event.get("DTSTART") is None:
            raise InvalidCalendarFile(f"{name}: event {uid} has no DTSTART; every event needs a start")
        for prop_name in _DATE_PROPERTIES:
            values = event.get(prop_name)
            if values is None:
                continue
            for value in values if isinstance(values, list) else [values]:
                tzid = value.params.get("TZID") if hasattr(value, "params") else None
                try:
                    moments = _moments(value)
                except Exception as exc:
                    raise InvalidCalendarFile(f"{name}: event {uid} has an unreadable {prop_name} ({_first_line(exc)})") from exc
                if tzid and any(isinstance(m, datetime) and m.tzinfo is None for m in moments) and tzp.timezone(tzid) is None:
                    raise UnknownTimeZone(
                        f"{name}: event {uid} uses time zone {tzid!r}, which is neither an IANA nor a Windows zone "
                        "name and has no VTIMEZONE block in the file; re-export the calendar or use an IANA name "
                        "such as 'Europe/Berlin'")


def _moments(value) -> list:
    if hasattr(value, "dts"):
        return [item.dt for item in value.dts]
    return [value.dt]


def _busy_interval(event, person_zone: ZoneInfo) -> Interval | None:
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    start, end = event["DTSTART"].dt, event.end
    start, end = _aware(start, person_zone), _aware(end, person_zone)
    if end <= start:
        return None
    return Interval(start, end)


def _aware(moment: date | datetime, person_zone: ZoneInfo) -> datetime:
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(0), tzinfo=person_zone)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=person_zone)
    return moment


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
