"""iTIP (RFC 5546) invitations for a session series, sent by email as ``text/calendar``.

The invite carries the same UID as the event the providers create for the series
(:func:`adapters.providers.ical_util.series_uid`), so a person whose calendar is not connected
gets the very event the organizer has, and a later REQUEST or CANCEL with a higher ``sequence``
updates it in their client.

- :func:`build_request`: ``METHOD:REQUEST`` with the recurring VEVENT (RRULE in the series zone,
  EXDATE for skipped occurrences, a RECURRENCE-ID override per moved occurrence), the agenda as
  DESCRIPTION and the video link as LOCATION and URL.
- :func:`build_cancel`: ``METHOD:CANCEL`` for the whole series or for one occurrence.

Each calendar holds one VTIMEZONE generated from ``zoneinfo`` for the series' years, written as
yearly RRULE observances the way Google and Outlook export them
(:mod:`adapters.providers.vtimezone`), so clients that do not know IANA names (and parsers that
read the VTIMEZONE, such as vobject) compute the same instants we do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Sequence

import icalendar
from dateutil.rrule import rrulestr

from adapters.providers.ical_util import build_series_calendar, series_components, series_uid, set_occurrence, zone
from adapters.providers.vtimezone import rule_vtimezone
from scheduler.ports import SeriesSpec

# Unbounded rules (no COUNT/UNTIL) are covered this far; every series Tandem books is bounded.
_OPEN_SERIES_SPAN = timedelta(days=3 * 366)


@dataclass(frozen=True)
class MovedOccurrence:
    """One occurrence moved alone: it was due at ``original_start`` and now runs ``start``-``end``."""

    original_start: datetime
    start: datetime
    end: datetime


def build_request(spec: SeriesSpec, *, now: datetime, sequence: int = 0, video_url: str | None = None,
                  skipped: Sequence[datetime] = (), moved: Sequence[MovedOccurrence] = ()) -> str:
    """The ``METHOD:REQUEST`` invitation for ``spec`` as iCalendar text.

    ``sequence`` must grow with every change the attendees should see (0 for the first send).
    ``skipped`` are original starts (aware) that will not take place (EXDATE); ``moved`` become
    RECURRENCE-ID overrides. Raises :class:`~scheduler.errors.NotFound` when a skipped or moved
    start is not an occurrence of the series.
    """
    _require_aware(now, *skipped, *(m.original_start for m in moved), *(m.start for m in moved),
                   *(m.end for m in moved))
    calendar = build_series_calendar(spec, now=now)
    uid = series_uid(spec.series_key)
    master, _ = series_components(calendar, uid)
    tz = zone(spec.tz)
    if video_url:
        master.add("location", video_url)
        master.add("url", video_url)
    for original in skipped:
        _require_occurrence(calendar, uid, original, now)
        master.add("exdate", original.astimezone(tz))
    for move in moved:
        set_occurrence(calendar, uid, move.original_start, now=now, new_start=move.start, new_end=move.end)
    _stamp_all(calendar, uid, sequence=sequence, now=now)
    extra_dates = [d for m in moved for d in (m.start, m.end)]
    return _finish(calendar, "REQUEST", spec, extra_dates)


def build_cancel(spec: SeriesSpec, *, now: datetime, sequence: int,
                 occurrence_start: datetime | None = None) -> str:
    """The ``METHOD:CANCEL`` message for the whole series, or for the one occurrence that
    originally started at ``occurrence_start`` (aware).

    ``sequence`` must be higher than that of the last REQUEST the attendees got.
    """
    _require_aware(now, *([occurrence_start] if occurrence_start else []))
    calendar = build_series_calendar(spec, now=now)
    uid = series_uid(spec.series_key)
    if occurrence_start is not None:
        set_occurrence(calendar, uid, occurrence_start, now=now, cancelled=True)
        master, overrides = series_components(calendar, uid)
        calendar.subcomponents.remove(master)
        event = next(o for o in overrides if o["RECURRENCE-ID"].dt == occurrence_start)
    else:
        event, _ = series_components(calendar, uid)
    for name in ("STATUS", "TRANSP"):
        event.pop(name, None)
    event.add("status", "CANCELLED")
    _stamp_all(calendar, uid, sequence=sequence, now=now)
    return _finish(calendar, "CANCEL", spec, [occurrence_start] if occurrence_start else [])


def vtimezone(tz_name: str, first: date, last: date) -> icalendar.Timezone:
    """A VTIMEZONE for the IANA zone ``tz_name`` valid from ``first`` up to ``last``.

    >>> tz = vtimezone("Europe/Berlin", date(2027, 1, 1), date(2028, 1, 1))
    >>> str(tz["TZID"]), sorted({c.name for c in tz.subcomponents})
    ('Europe/Berlin', ['DAYLIGHT', 'STANDARD'])
    """
    zone(tz_name)  # UnknownTimeZone for a name zoneinfo does not know
    return rule_vtimezone(tz_name, first, last)


def series_years(spec: SeriesSpec, extra: Iterable[datetime] = ()) -> tuple[date, date]:
    """The span of whole years the series touches, moved occurrences included: Jan 1 of the
    first year and Jan 1 after the last year.

    >>> spec = SeriesSpec("k", "t", "d", "o@x.org", (), datetime(2027, 11, 2, 10), "UTC", 30,
    ...                   "FREQ=WEEKLY;COUNT=10")
    >>> series_years(spec)  # ends in January 2028
    (datetime.date(2027, 1, 1), datetime.date(2029, 1, 1))
    """
    tz = zone(spec.tz)
    start = spec.start_local.replace(tzinfo=tz)
    rule = rrulestr(spec.rrule, dtstart=start)
    last = rule.before(start + _OPEN_SERIES_SPAN, inc=True) or start
    instants = [start, last, *(e.astimezone(tz) for e in extra)]
    first_year = min(i.year for i in instants)
    last_year = max(i.year for i in instants)
    return date(first_year, 1, 1), date(last_year + 1, 1, 1)


def _finish(calendar: icalendar.Calendar, method: str, spec: SeriesSpec, extra: Iterable[datetime]) -> str:
    """Set METHOD, swap the VTIMEZONE for one covering the series' years, serialise."""
    calendar.pop("METHOD", None)
    calendar.add("method", method)
    first, last = series_years(spec, extra)
    events = [c for c in calendar.subcomponents if c.name != "VTIMEZONE"]
    calendar.subcomponents[:] = [vtimezone(spec.tz, first, last), *events]
    return calendar.to_ical().decode("utf-8")


def _stamp_all(calendar: icalendar.Calendar, uid: str, *, sequence: int, now: datetime) -> None:
    """Every component of the message carries the message's SEQUENCE and DTSTAMP (RFC 5546)."""
    for event in calendar.walk("VEVENT"):
        if str(event.get("UID")) != uid:
            continue
        for name, value in (("SEQUENCE", sequence), ("DTSTAMP", now.astimezone(timezone.utc))):
            event.pop(name, None)
            event.add(name, value)
        event.pop("LAST-MODIFIED", None)


def _require_occurrence(calendar: icalendar.Calendar, uid: str, original: datetime, now: datetime) -> None:
    """Raise NotFound unless ``original`` is an occurrence of the series (checked on a copy)."""
    probe = icalendar.Calendar.from_ical(calendar.to_ical())
    set_occurrence(probe, uid, original, now=now)


def _require_aware(*values: datetime) -> None:
    if any(v.tzinfo is None for v in values):
        raise ValueError("iTIP times must be aware datetimes")
