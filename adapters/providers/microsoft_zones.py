"""The time-zone names Tandem writes to Microsoft Graph: Windows ids, never the person's IANA name.

Graph documents that ``dateTimeTimeZone.timeZone`` takes the Windows zones plus a short list of
IANA names, and that create and update "might not support all" of them; a name outside what a
tenant's Exchange accepts is refused (400 ``TimeZoneNotSupportedException``) and the booking with
it. So every zone written (event start/end, ``recurrenceTimeZone``) is a Windows id:

1. the CLDR ``windowsZones`` territory table shipped as ``windows_zones.json`` (with tzdata's old
   names linked in: ``Asia/Kolkata`` and ``Asia/Calcutta`` are both "India Standard Time");
2. kept only when the Windows zone keeps the same clock as the person's zone over the years a
   series can run (tzdata moves faster than CLDR: Kazakhstan left UTC+6 in 2024);
3. otherwise (a zone CLDR maps to a clock it no longer keeps, or a name newer than the table) the
   first Windows zone whose reference zone keeps the same clock.

Reading back, :func:`adapters.providers.microsoft_recurrence.iana_zone` turns Windows ids into
IANA zones again.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from scheduler.errors import UnknownTimeZone

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu",
                       "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "Etc/Greenwich", "GMT",
                       "Coordinated Universal Time"})
CHECK_YEARS = 6  # a series is booked at most a couple of years ahead; compare clocks this far
_STEP = timedelta(hours=1)


@lru_cache(maxsize=1)
def cldr_table() -> dict[str, str]:
    """IANA name -> Windows id (CLDR windowsZones, tzdata old names included)."""
    raw = resources.files("adapters.providers").joinpath("windows_zones.json").read_text(encoding="utf-8")
    return dict(json.loads(raw)["zones"])


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(f"time zone {name!r} is not an IANA zone name (like 'Europe/Berlin'); "
                              "fix the person's time zone in their profile") from exc


def _samples(start_year: int) -> list[datetime]:
    start = datetime(start_year, 1, 1, tzinfo=timezone.utc)
    end = datetime(start_year + CHECK_YEARS, 1, 1, tzinfo=timezone.utc)
    count = int((end - start) / _STEP)
    return [start + _STEP * i for i in range(count)]


def _same_clock(a: ZoneInfo, b: ZoneInfo, samples: list[datetime]) -> bool:
    if a.key == b.key:
        return True
    # a cheap screen first (mid-January, mid-July of each year), then every hour
    for year in range(samples[0].year, samples[0].year + CHECK_YEARS):
        for month in (1, 7):
            t = datetime(year, month, 15, 12, tzinfo=timezone.utc)
            if t.astimezone(a).utcoffset() != t.astimezone(b).utcoffset():
                return False
    return all(t.astimezone(a).utcoffset() == t.astimezone(b).utcoffset() for t in samples)


def _reference(windows_id: str) -> ZoneInfo | None:
    name = WINDOWS_TO_OLSON.get(windows_id)
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def windows_zone(name: str, *, today: datetime | None = None) -> str:
    """The Windows id to write for a person's zone ``name`` (IANA; a Windows id passes through).

    >>> windows_zone("Asia/Kolkata"), windows_zone("Asia/Kathmandu"), windows_zone("Asia/Calcutta")
    ('India Standard Time', 'Nepal Standard Time', 'India Standard Time')
    >>> windows_zone("Europe/Madrid"), windows_zone("UTC"), windows_zone("Pacific Standard Time")
    ('Romance Standard Time', 'UTC', 'Pacific Standard Time')
    """
    if name in UTC_NAMES:
        return "UTC"
    if name in WINDOWS_TO_OLSON:
        return name
    year = (today or datetime.now(timezone.utc)).year
    return _windows_zone(name, year)


@lru_cache(maxsize=1024)
def _windows_zone(name: str, year: int) -> str:
    zone = _zone(name)
    samples = _samples(year)
    mapped = cldr_table().get(name)
    reference = _reference(mapped) if mapped else None
    if reference is not None and _same_clock(zone, reference, samples):
        return mapped
    for windows_id in sorted(WINDOWS_TO_OLSON):
        reference = _reference(windows_id)
        if reference is not None and _same_clock(zone, reference, samples):
            return windows_id
    raise UnknownTimeZone(f"time zone {name!r} keeps a clock no Windows time zone keeps, so Microsoft calendars "
                          "cannot hold a meeting in it; pick the nearest city's zone in the person's profile")
