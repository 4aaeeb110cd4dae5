"""Build the VEVENTs a person's own calendar app would write (for seeding test calendars)."""
from __future__ import annotations

import uuid
from datetime import datetime

import icalendar


def busy_event(start: datetime, end: datetime, title: str, *, rrule: str | None = None,
               transparent: bool = False, cancelled: bool = False) -> icalendar.Event:
    """One event as in the harness ``add_busy`` contract (``rrule`` without DTSTART)."""
    event = icalendar.Event()
    event.add("uid", f"{uuid.uuid4().hex}@seeded.test")
    event.add("dtstamp", start)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", title)
    if rrule:
        event.add("rrule", icalendar.vRecur.from_ical(rrule))
    if transparent:
        event.add("transp", "TRANSPARENT")
    if cancelled:
        event.add("status", "CANCELLED")
    return event


def wrap_in_calendar(*events: icalendar.Event) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//seeded.test//EN")
    calendar.add("version", "2.0")
    for event in events:
        calendar.add_component(event)
    return calendar
