"""Event times and recurrence expansion, the way Google Calendar reads them.

A recurring event is expanded in its ``start.timeZone`` wall time with ``dateutil.rrule`` over
the stored ``RRULE``/``EXDATE``/``RDATE`` lines; every expansion is bounded by a window.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from emulators.google.errors import bad_request


@dataclass(frozen=True)
class EventTime:
    """A parsed ``EventDateTime``: an aware instant, or a date for all-day events."""

    instant: datetime  # aware; for all-day events, midnight in the calendar's zone
    all_day: bool
    zone: str | None


def zone_info(name: str) -> ZoneInfo:
    """An IANA zone, or a 400 ``Invalid time zone definition`` like Google answers."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"Invalid time zone definition for {name}.", reason="timeZone") from None


def parse_event_time(value: dict, which: str, calendar_zone: str) -> EventTime:
    """Parse ``start``/``end`` of an event body; raise 400 the way Google does."""
    if not isinstance(value, dict) or not (value.get("dateTime") or value.get("date")):
        raise bad_request(f"Missing {which} time.", reason="required")
    zone = value.get("timeZone")
    if value.get("date"):
        try:
            day = date.fromisoformat(value["date"])
        except ValueError:
            raise bad_request(f"Invalid {which} date.") from None
        return EventTime(datetime.combine(day, time(), zone_info(calendar_zone)), True, None)
    text = value["dateTime"]
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid {which} time.") from None
    if parsed.tzinfo is None:
        if not zone:
            raise bad_request(f"Missing time zone definition for {which} time.", reason="required")
        parsed = parsed.replace(tzinfo=zone_info(zone))
    elif zone:
        parsed = parsed.astimezone(zone_info(zone))
    return EventTime(parsed, False, zone)


def check_recurrence(lines: list[str], start: EventTime) -> None:
    """Raise 400 ``Invalid recurrence rule.`` for lines dateutil cannot read."""
    for line in lines:
        if not line.split(":", 1)[0].split(";", 1)[0].upper() in ("RRULE", "EXRULE", "RDATE", "EXDATE"):
            raise bad_request("Invalid recurrence rule.")
    try:
        _ruleset(lines, start.instant)
    except (ValueError, TypeError):
        raise bad_request("Invalid recurrence rule.") from None


def _ruleset(lines: list[str], dtstart: datetime):
    return rrulestr("\n".join(lines), dtstart=dtstart, forceset=True)


def occurrence_starts(lines: list[str], start: EventTime, duration: timedelta,
                      window_start: datetime, window_end: datetime) -> list[datetime]:
    """Starts of the occurrences that overlap ``[window_start, window_end)`` (aware datetimes).

    ``between`` with open bounds keeps exactly the occurrences whose span overlaps the window.
    """
    rules = _ruleset(lines, start.instant)
    return list(rules.between(window_start - duration, window_end, inc=False))


def instance_suffix(original_start: datetime, all_day: bool) -> str:
    """The part Google appends to a series id to name one instance: ``20300114T140000Z``.

    >>> from zoneinfo import ZoneInfo
    >>> instance_suffix(datetime(2030, 1, 14, 9, tzinfo=ZoneInfo("America/New_York")), False)
    '20300114T140000Z'
    """
    if all_day:
        return original_start.strftime("%Y%m%d")
    return original_start.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def parse_instance_suffix(suffix: str) -> datetime | None:
    """The original start (UTC) named by an instance-id suffix, or None."""
    for pattern in ("%Y%m%dT%H%M%SZ", "%Y%m%d"):
        try:
            return datetime.strptime(suffix, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def format_event_time(instant: datetime, zone: str | None, all_day: bool) -> dict:
    """An ``EventDateTime`` body for ``instant`` (shown in ``zone`` when given)."""
    if all_day:
        return {"date": instant.date().isoformat()}
    shown = instant.astimezone(zone_info(zone)) if zone else instant
    body = {"dateTime": rfc3339(shown)}
    if zone:
        body["timeZone"] = zone
    return body


def rfc3339(instant: datetime) -> str:
    """RFC 3339 with ``Z`` for UTC, the way Google writes timestamps."""
    text = instant.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")
