"""Plain-English local times for emails: "Tue 2 Mar 2027, 10:00 (New York time)".

Every function takes aware datetimes and IANA zone names and is pure.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

from adapters.providers.ical_util import zone


def place(tz_name: str) -> str:
    """A reader-friendly name for a zone: the city part of the IANA name.

    >>> place("America/New_York"), place("America/Argentina/Buenos_Aires"), place("UTC")
    ('New York', 'Buenos Aires', 'UTC')
    """
    return tz_name.rsplit("/", 1)[-1].replace("_", " ")


def local(moment: datetime, tz_name: str) -> datetime:
    """``moment`` (aware) as wall-clock time in ``tz_name``."""
    if moment.tzinfo is None:
        raise ValueError("email times must be aware datetimes")
    return moment.astimezone(zone(tz_name))


def clock(moment: datetime, tz_name: str) -> str:
    """Only the wall-clock time, 24-hour.

    >>> from datetime import timezone
    >>> clock(datetime(2027, 3, 2, 15, 0, tzinfo=timezone.utc), "Europe/Berlin")
    '16:00'
    """
    return local(moment, tz_name).strftime("%H:%M")


def day(moment: datetime, tz_name: str) -> str:
    """The local date, short: ``Tue 2 Mar 2027``.

    >>> from datetime import timezone
    >>> day(datetime(2027, 3, 2, 23, 30, tzinfo=timezone.utc), "Asia/Tokyo")
    'Wed 3 Mar 2027'
    """
    value = local(moment, tz_name)
    return f"{value:%a} {value.day} {value:%b %Y}"


def at(moment: datetime, tz_name: str) -> str:
    """Date and time without the place: ``Tue 2 Mar 2027, 10:00``."""
    return f"{day(moment, tz_name)}, {clock(moment, tz_name)}"


def when(moment: datetime, tz_name: str) -> str:
    """Date, time and place: ``Tue 2 Mar 2027, 10:00 (New York time)``.

    >>> from datetime import timezone
    >>> when(datetime(2027, 3, 2, 15, 0, tzinfo=timezone.utc), "America/New_York")
    'Tue 2 Mar 2027, 10:00 (New York time)'
    """
    return f"{at(moment, tz_name)} ({place(tz_name)} time)"


def weekday_name(moment: datetime, tz_name: str) -> str:
    """The local weekday in full: ``Tuesday``."""
    return local(moment, tz_name).strftime("%A")


def format_day(value: date) -> str:
    """A plain date: ``Tue 2 Mar 2027``."""
    return f"{value:%a} {value.day} {value:%b %Y}"


@dataclass(frozen=True)
class ClockShift:
    """From ``since`` on, sessions start at ``new_clock`` instead of ``old_clock`` in ``tz``."""

    tz: str
    since: datetime
    old_clock: str
    new_clock: str
    previous: datetime | None = None  # the session before, still at ``old_clock``


def clock_shifts(starts: Sequence[datetime], tz_name: str) -> list[ClockShift]:
    """The points where the local start time in ``tz_name`` changes across ``starts`` (e.g. a
    series kept at 10:00 New York time moves an hour for Berlin when only one of them changes
    clocks).

    >>> from zoneinfo import ZoneInfo
    >>> ny = ZoneInfo("America/New_York")
    >>> starts = [datetime(2027, 3, d, 10, tzinfo=ny) for d in (9, 16, 23, 30)]
    >>> [(s.old_clock, s.new_clock, s.since.day) for s in clock_shifts(starts, "Europe/Berlin")]
    [('16:00', '15:00', 16), ('15:00', '16:00', 30)]
    >>> clock_shifts(starts, "America/New_York")
    []
    """
    shifts: list[ClockShift] = []
    ordered = sorted(starts)
    for before, after in zip(ordered, ordered[1:]):
        old, new = clock(before, tz_name), clock(after, tz_name)
        if old != new:
            shifts.append(ClockShift(tz=tz_name, since=after, old_clock=old, new_clock=new, previous=before))
    return shifts
