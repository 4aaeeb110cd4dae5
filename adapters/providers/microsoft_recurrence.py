"""Translate between Tandem's values and Graph's: an RRULE (no DTSTART) to a Graph
``patternedRecurrence``, Graph ``dateTimeTimeZone`` values (Windows or IANA zone names) to aware
UTC datetimes, and Windows zone names to IANA (the CLDR table ``icalendar`` ships).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from scheduler.errors import InvalidInput, UnknownTimeZone

_DAYS = {"MO": "monday", "TU": "tuesday", "WE": "wednesday", "TH": "thursday", "FR": "friday",
         "SA": "saturday", "SU": "sunday"}
_INDEX = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


def iana_zone(name: str) -> ZoneInfo:
    """A zone from a Windows ("W. Europe Standard Time") or IANA name.

    >>> iana_zone("Pacific Standard Time").key
    'America/Los_Angeles'
    >>> iana_zone("UTC").key
    'UTC'
    """
    if name in ("UTC", "Coordinated Universal Time", "tzone://Microsoft/Utc"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(WINDOWS_TO_OLSON.get(name, name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(f"time zone {name!r} is neither a Windows nor an IANA name") from exc


def parse_graph_datetime(value: dict) -> datetime:
    """``{"dateTime": "2027-03-02T15:00:00.0000000", "timeZone": "UTC"}`` -> aware UTC datetime.

    >>> parse_graph_datetime({"dateTime": "2027-03-02T10:00:00.0000000", "timeZone": "Eastern Standard Time"})
    datetime.datetime(2027, 3, 2, 15, 0, tzinfo=datetime.timezone.utc)
    """
    raw = str(value["dateTime"]).replace("Z", "")
    head, _, frac = raw.partition(".")
    naive = datetime.fromisoformat(head + (("." + frac[:6].ljust(6, "0")) if frac else ""))
    return naive.replace(tzinfo=iana_zone(value.get("timeZone") or "UTC")).astimezone(timezone.utc)


def graph_datetime(dt: datetime, tz: str) -> dict:
    """A naive wall-clock datetime in IANA zone ``tz`` as a Graph ``dateTimeTimeZone``."""
    return {"dateTime": dt.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": tz}


def utc_graph_datetime(dt: datetime) -> dict:
    """An aware datetime as a Graph ``dateTimeTimeZone`` in UTC."""
    return {"dateTime": dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _rrule_parts(rrule: str) -> dict[str, str]:
    text = rrule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts = {}
    for item in filter(None, text.split(";")):
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"malformed RRULE part {item!r} in {rrule!r}")
        parts[key.strip().upper()] = value.strip().upper()
    return parts


def _weekday(token: str, rrule: str) -> tuple[int | None, str]:
    """``"2TU"`` -> (2, "tuesday"); ``"-1FR"`` -> (-1, "friday"); ``"TU"`` -> (None, "tuesday")."""
    day = token[-2:]
    if day not in _DAYS:
        raise InvalidInput(f"unknown weekday {token!r} in {rrule!r}")
    prefix = token[:-2]
    return (int(prefix) if prefix else None), _DAYS[day]


def _until_date(until: str, tz: str) -> date:
    """The local date of an RRULE UNTIL (a date, or a UTC date-time converted into ``tz``).

    >>> _until_date("20270401T035959Z", "America/New_York").isoformat()
    '2027-03-31'
    """
    day = date(int(until[0:4]), int(until[4:6]), int(until[6:8]))
    if until.endswith("Z") and "T" in until:
        hms = until.split("T", 1)[1]
        instant = datetime(day.year, day.month, day.day, int(hms[0:2]), int(hms[2:4]), int(hms[4:6]), tzinfo=timezone.utc)
        return instant.astimezone(iana_zone(tz)).date()
    return day


def rrule_to_graph(rrule: str, start_local: datetime, tz: str) -> dict:
    """A Graph ``patternedRecurrence`` for an RRULE starting at ``start_local`` (wall clock in ``tz``).

    Weekly (any INTERVAL, e.g. biweekly) -> ``weekly``; monthly on the nth weekday (``BYDAY=2TU``
    or ``BYDAY=TU;BYSETPOS=2``) -> ``relativeMonthly`` with ``index``; monthly on a day ->
    ``absoluteMonthly``; daily -> ``daily``. COUNT -> numbered, UNTIL -> endDate, neither -> noEnd.

    >>> r = rrule_to_graph("FREQ=WEEKLY;INTERVAL=2;COUNT=6;BYDAY=TU", datetime(2027, 3, 2, 10), "Europe/Berlin")
    >>> r["pattern"]["type"], r["pattern"]["interval"], r["pattern"]["daysOfWeek"], r["range"]["startDate"]
    ('weekly', 2, ['tuesday'], '2027-03-02')
    >>> rrule_to_graph("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", datetime(2027, 3, 26, 9), "UTC")["pattern"]["index"]
    'last'
    """
    parts = _rrule_parts(rrule)
    freq = parts.get("FREQ")
    interval = int(parts.get("INTERVAL", "1"))
    if interval < 1:
        raise InvalidInput(f"INTERVAL must be positive in {rrule!r}")
    pattern: dict = {"interval": interval,
                     "firstDayOfWeek": _DAYS.get(parts.get("WKST", "MO"), "monday")}
    byday = [t for t in parts.get("BYDAY", "").split(",") if t]
    if freq == "DAILY":
        pattern["type"] = "daily"
    elif freq == "WEEKLY":
        pattern["type"] = "weekly"
        days = [_weekday(t, rrule)[1] for t in byday] or [start_local.strftime("%A").lower()]
        pattern["daysOfWeek"] = days
    elif freq == "MONTHLY" and byday:
        decoded = [_weekday(t, rrule) for t in byday]
        setpos = parts.get("BYSETPOS")
        index = int(setpos) if setpos else decoded[0][0]
        if index not in _INDEX:
            raise InvalidInput(f"Graph supports the 1st-4th or last weekday of a month, not {index!r} ({rrule!r})")
        if any(n not in (None, index) for n, _ in decoded):
            raise InvalidInput(f"mixed weekday positions are not expressible in Graph: {rrule!r}")
        pattern.update(type="relativeMonthly", daysOfWeek=[d for _, d in decoded], index=_INDEX[index])
    elif freq == "MONTHLY":
        pattern.update(type="absoluteMonthly", dayOfMonth=int(parts.get("BYMONTHDAY", start_local.day)))
    else:
        raise InvalidInput(f"unsupported recurrence for Microsoft calendars: {rrule!r}")
    rng: dict = {"startDate": start_local.date().isoformat(), "recurrenceTimeZone": tz}
    if "COUNT" in parts:
        rng.update(type="numbered", numberOfOccurrences=int(parts["COUNT"]))
    elif "UNTIL" in parts:
        rng.update(type="endDate", endDate=_until_date(parts["UNTIL"], tz).isoformat())
    else:
        rng["type"] = "noEnd"
    return {"pattern": pattern, "range": rng}
