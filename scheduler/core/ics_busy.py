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
* A custom ``TZID`` (neither IANA nor Windows, e.g. Outlook's "Western/Central Europe") is read
  with *this file's* VTIMEZONE block, never with a block of the same name another file defined
  earlier in the process (icalendar caches custom zones process-wide, first definition wins).

Expansion is bounded (a "recurrence bomb" — ``FREQ=SECONDLY`` in a 185-byte feed — took minutes
and gigabytes): events repeating every second or minute are refused as busy sources, and the
instances an expansion generates (counted from each event's DTSTART, since the rule engine
walks from there, up to the window's end) are capped per event and per file
(:class:`ExpansionLimits`); a refusal is :class:`ExpansionRefused`, which names the event's UID
and says what to do, before anything is expanded.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from scheduler.core.intervals import Interval, merge
from scheduler.core.timegrid import zone
from scheduler.errors import InvalidCalendarFile, UnknownTimeZone

_DATE_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
_SUB_MINUTE = {"SECONDLY": "every second", "MINUTELY": "every minute"}


class ExpansionRefused(InvalidCalendarFile):
    """A calendar whose repeating events would cost too much to expand (a recurrence bomb)."""


@dataclass(frozen=True)
class ExpansionLimits:
    """How many instances expanding one event / one file (or one CalDAV collection) may generate.

    Instances are counted from each event's DTSTART up to its UNTIL or the end of the window
    read, whichever is first: a daily event since 1900 generates about 46,000 by 2026, an hourly
    one over four months about 3,000. Counting 500,000 instances takes about a second.
    """

    per_event: int = 50_000
    per_file: int = 500_000


class ExpansionBudget:
    """The instances still allowed for one file or one collection of documents (not thread-safe:
    one budget per read)."""

    def __init__(self, limits: ExpansionLimits = ExpansionLimits()):
        self.limits = limits
        self.spent = 0


def busy_from_ics(data: bytes | str, name: str, tz_name: str, window_start: datetime, window_end: datetime,
                  *, limits: ExpansionLimits = ExpansionLimits(),
                  budget: ExpansionBudget | None = None) -> list[Interval]:
    """Merged busy intervals (UTC) of the calendar ``data`` within ``[window_start, window_end)``.

    ``name`` is how errors refer to the file; ``tz_name`` is the person's IANA zone, used for
    all-day and floating events. ``budget`` is shared when several documents make one calendar
    (a CalDAV collection); without it the file gets its own from ``limits``.
    """
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("the expansion window needs aware datetimes")
    person_zone = zone(tz_name)
    calendar = _parse(data, name)
    _check_time_zones(calendar, name)
    check_expansion(calendar, name, window_end + timedelta(days=1), budget or ExpansionBudget(limits))
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


def check_expansion(calendar: icalendar.Calendar, name: str, until: datetime, budget: ExpansionBudget) -> int:
    """Refuse (:class:`ExpansionRefused`) before expanding ``calendar`` up to ``until`` if an event
    repeats every second or minute, or would generate more instances than ``budget`` allows.

    Returns the number of instances the expansion will generate at most (and spends them).
    """
    until_naive = until.astimezone(timezone.utc).replace(tzinfo=None) + timedelta(days=1)
    total = 0
    for event in calendar.walk("VEVENT"):
        try:
            uid = str(event.get("UID", "(no UID)"))
            count = _instances_to_generate(event, name, uid, until_naive, budget.limits.per_event)
        except (InvalidCalendarFile, UnknownTimeZone):
            raise
        except Exception as exc:  # a property the library kept as broken (an RRULE without FREQ …)
            raise InvalidCalendarFile(f"{name}: an event has a property that cannot be read ({_first_line(exc)}); "
                                      "fix or delete that event in your calendar app, or export it again") from exc
        total += count
        budget.spent += count
        if budget.spent > budget.limits.per_file:
            raise ExpansionRefused(
                f"{name}: the repeating events would make more than {budget.limits.per_file} instances "
                f"before {until:%Y-%m-%d}; Tandem does not read calendars that large as busy time: share a "
                "calendar with fewer repeating events, or end old repeating events in your calendar app")
    return total


def _instances_to_generate(event, name: str, uid: str, until_naive: datetime, per_event: int) -> int:
    rules = event.get("RRULE")
    rules = [] if rules is None else rules if isinstance(rules, list) else [rules]
    rdates = event.get("RDATE")
    rdates = [] if rdates is None else rdates if isinstance(rdates, list) else [rdates]
    count = sum(len(getattr(r, "dts", [r])) for r in rdates)
    if not rules:
        return count + 1  # DTSTART itself
    start_property = event.get("DTSTART")
    start = start_property.dt if start_property is not None else None
    if not isinstance(start, date):
        return count  # the time-zone check has already refused an event without a start
    start_naive = (start.replace(tzinfo=None) if isinstance(start, datetime)
                   else datetime.combine(start, time(0)))
    for rule in rules:
        frequency = str((rule.get("FREQ") or [""])[0]).upper()
        if frequency in _SUB_MINUTE:
            raise ExpansionRefused(
                f"{name}: event {uid} repeats {_SUB_MINUTE[frequency]} (FREQ={frequency}); Tandem reads busy "
                "time only from events that repeat hourly or less often: delete or change that event in your "
                "calendar app, or share a calendar without it")
        if len(rule.get("BYSECOND") or []) > 1:
            raise ExpansionRefused(
                f"{name}: event {uid} repeats several times a minute (BYSECOND); Tandem reads busy time only "
                "from events that repeat hourly or less often: delete or change that event in your calendar "
                "app, or share a calendar without it")
        # UNTIL is applied here, in naive wall-clock time with a day's margin, rather than by the
        # rule engine (which insists that UNTIL and DTSTART agree on having a zone).
        limit = until_naive
        for until in rule.get("UNTIL") or []:
            if isinstance(until, datetime):
                until = until.astimezone(timezone.utc).replace(tzinfo=None) if until.tzinfo else until
            elif isinstance(until, date):
                until = datetime.combine(until, time(0))
            else:
                continue
            limit = min(limit, until + timedelta(days=1))
        bounded = icalendar.vRecur({key: value for key, value in rule.items() if key.upper() != "UNTIL"})
        try:
            generated = rrulestr(bounded.to_ical().decode(), dtstart=start_naive)
        except Exception as exc:
            raise InvalidCalendarFile(f"{name}: event {uid} has an unreadable RRULE ({_first_line(exc)}); "
                                      "re-export the calendar") from exc
        for moment in generated:
            if moment > limit:
                break
            count += 1
            if count > per_event:
                raise ExpansionRefused(
                    f"{name}: event {uid} repeats more than {per_event} times before {until_naive:%Y-%m-%d}; "
                    "Tandem does not expand events that often: end the old repeating event in your calendar "
                    "app and start a new one, or share a calendar without it")
    return count


def standard_zone(tzid: str) -> tzinfo | None:
    """The zone an IANA or Windows TZID (or a "/vendor/Area/City" one) names, else None.

    Unlike ``icalendar``'s lookup this never consults the process-wide cache of custom
    VTIMEZONE definitions, which other files have filled.
    """
    cleaned = tzid.strip("/")
    candidates = [cleaned]
    if cleaned in WINDOWS_TO_OLSON:
        candidates.append(WINDOWS_TO_OLSON[cleaned])
    if tzid.startswith("/"):
        parts = cleaned.split("/")
        candidates.extend("/".join(parts[i:]) for i in range(1, len(parts)))
    for candidate in candidates:
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
            continue
    return None


def _own_zones(calendar: icalendar.Calendar, name: str) -> dict[str, tzinfo]:
    """The custom zones this file defines in its VTIMEZONE blocks (names neither IANA nor Windows)."""
    own: dict[str, tzinfo] = {}
    for block in calendar.walk("VTIMEZONE"):
        tzid = str(block.get("TZID", "")).strip()
        if not tzid or standard_zone(tzid) is not None:
            continue
        try:
            own[tzid.strip("/")] = block.to_tz(tzp, lookup_tzid=False)
        except Exception as exc:
            raise InvalidCalendarFile(f"{name}: the VTIMEZONE block {tzid!r} cannot be read ({_first_line(exc)}); "
                                      "re-export the calendar") from exc
    return own


def _check_time_zones(calendar: icalendar.Calendar, name: str) -> None:
    """Read every TZID with this file's own definition, or the IANA/Windows zone it names;
    refuse TZIDs nobody can resolve (they would otherwise silently become floating times)."""
    own = _own_zones(calendar, name)
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
                if not tzid or not any(isinstance(m, datetime) for m in moments):
                    continue
                tzid = str(tzid)
                resolved = own.get(tzid.strip("/")) or standard_zone(tzid)
                if resolved is None:
                    raise UnknownTimeZone(
                        f"{name}: event {uid} uses time zone {tzid!r}, which is neither an IANA nor a Windows zone "
                        "name and has no VTIMEZONE block in the file; re-export the calendar or use an IANA name "
                        "such as 'Europe/Berlin'")
                if tzid.strip("/") in own:
                    _rebind(value, resolved)


def _moments(value) -> list:
    if hasattr(value, "dts"):
        return [item.dt for item in value.dts]
    return [value.dt]


def _rebind(value, zone_of_file: tzinfo) -> None:
    """Put the wall-clock times of ``value`` into this file's own zone (in place)."""
    for item in getattr(value, "dts", [value]):
        if isinstance(item.dt, datetime):
            item.dt = item.dt.replace(tzinfo=zone_of_file)


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
