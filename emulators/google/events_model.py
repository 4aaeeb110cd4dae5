"""Reading stored events the way Google shows them: instances of a series (with exceptions),
and busy time of a calendar inside a window."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta

from emulators.google.recurrence import (EventTime, format_event_time, instance_suffix, occurrence_starts,
                                         parse_event_time)
from emulators.google.store import Calendar, StoredEvent, Store


def event_span(body: dict, calendar_zone: str) -> tuple[EventTime, EventTime]:
    """Parsed start and end of an event body."""
    return parse_event_time(body["start"], "start", calendar_zone), parse_event_time(body["end"], "end", calendar_zone)


def exceptions_of(calendar: Calendar, series_id: str) -> dict[str, StoredEvent]:
    """Stored exceptions (moved or cancelled instances) of a series, keyed by instance id."""
    return {e.id: e for e in calendar.events.values() if e.body.get("recurringEventId") == series_id}


def make_instance(series: dict, original: datetime, start: EventTime, duration: timedelta) -> dict:
    """The body Google returns for a generated (unchanged) instance of ``series``."""
    body = copy.deepcopy(series)
    body.pop("recurrence", None)
    zone = series["start"].get("timeZone")
    body["id"] = f"{series['id']}_{instance_suffix(original, start.all_day)}"
    body["recurringEventId"] = series["id"]
    body["originalStartTime"] = format_event_time(original, zone, start.all_day)
    body["start"] = format_event_time(original, zone, start.all_day)
    body["end"] = format_event_time(original + duration, series["end"].get("timeZone") or zone, start.all_day)
    return body


def instances(calendar: Calendar, series: StoredEvent, calendar_zone: str, window_start: datetime,
              window_end: datetime, *, show_cancelled: bool = False) -> list[dict]:
    """Instances of ``series`` overlapping the window: generated ones, minus exceptions, plus
    the exceptions whose (possibly moved) time overlaps the window; sorted by start."""
    body = series.body
    start, end = event_span(body, calendar_zone)
    duration = end.instant - start.instant
    found = exceptions_of(calendar, body["id"])
    out: list[dict] = []
    for original in occurrence_starts(body.get("recurrence", []), start, duration, window_start, window_end):
        instance = make_instance(body, original, start, duration)
        if instance["id"] not in found:
            out.append(instance)
    for exception in found.values():
        ex_start, ex_end = event_span(exception.body, calendar_zone)
        if ex_start.instant < window_end and ex_end.instant > window_start:
            out.append(copy.deepcopy(exception.body))
    if body.get("status") == "cancelled":
        for instance in out:
            instance["status"] = "cancelled"
    if not show_cancelled:
        out = [i for i in out if i.get("status") != "cancelled"]
    out.sort(key=lambda i: event_span(i, calendar_zone)[0].instant)
    return out


def materialize(calendar: Calendar, calendar_zone: str, window_start: datetime, window_end: datetime) -> list[dict]:
    """Every non-cancelled single event or instance in the calendar overlapping the window."""
    out: list[dict] = []
    for stored in list(calendar.events.values()):
        body = stored.body
        if body.get("recurringEventId"):
            continue  # exceptions are returned with their series
        if body.get("recurrence"):
            out.extend(instances(calendar, stored, calendar_zone, window_start, window_end))
        elif body.get("status") != "cancelled":
            start, end = event_span(body, calendar_zone)
            if start.instant < window_end and end.instant > window_start:
                out.append(body)
    return out


def busy_intervals(store: Store, calendar_id: str, window_start: datetime, window_end: datetime) -> list[tuple[datetime, datetime]]:
    """Busy spans of one person: their opaque events, plus events on other calendars that
    invite them and that they did not decline (Google puts invitations on the guest's calendar)."""
    spans: list[tuple[datetime, datetime]] = []
    with store.lock:
        for calendar in store.calendars.values():
            zone = store.users[calendar.owner].time_zone if calendar.owner in store.users else "UTC"
            for body in materialize(calendar, zone, window_start, window_end):
                if body.get("transparency") == "transparent":
                    continue
                if calendar.id != calendar_id and not _invites(body, calendar_id):
                    continue
                start, end = event_span(body, zone)
                spans.append((max(start.instant, window_start), min(end.instant, window_end)))
    return _merge(spans)


def _invites(body: dict, email: str) -> bool:
    return any(a.get("email", "").lower() == email and a.get("responseStatus") != "declined"
               for a in body.get("attendees", []))


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
