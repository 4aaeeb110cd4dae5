"""How a session's time reads for the viewer and for the other person, with a note when a clock
change (daylight saving time) shifts one person's local time between sessions. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from scheduler.core.timegrid import zone


@dataclass(frozen=True)
class SessionTime:
    """One session as both people read it."""

    start: datetime  # UTC
    mine: str  # "Tue 14 Jan, 15:00–15:45"
    theirs: str  # "Tue 14 Jan, 09:00–09:45"
    my_zone: str
    their_zone: str
    dst_note: str | None  # set when someone's local time differs from the session before


def _fmt(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    s, e = start.astimezone(zone), end.astimezone(zone)
    return f"{s:%a} {s.day} {s:%b}, {s:%H:%M}–{e:%H:%M}"


def session_times(sessions: list[tuple[datetime, datetime]], my_tz: str, their_tz: str, their_name: str,
                  ) -> list[SessionTime]:
    """Each ``(start, end)`` (UTC, in order) in the viewer's and the other person's zone.

    A DST note is added to a session whose local start time, for either person, differs from the
    session before it — the wall-clock rule holds in one zone, so the other's clock time moves.

    >>> from datetime import timezone
    >>> s = [(datetime(2027, 3, 9, 14, tzinfo=timezone.utc), datetime(2027, 3, 9, 15, tzinfo=timezone.utc)),
    ...      (datetime(2027, 3, 16, 14, tzinfo=timezone.utc), datetime(2027, 3, 16, 15, tzinfo=timezone.utc))]
    >>> [t.dst_note for t in session_times(s, "Europe/Berlin", "America/New_York", "Sam")]
    [None, "Sam's local time moves from 09:00 to 10:00 (their clocks change)."]
    """
    mine, theirs = ZoneInfo(my_tz), ZoneInfo(their_tz)
    result, previous = [], None
    for start, end in sessions:
        my_clock = start.astimezone(mine).strftime("%H:%M")
        their_clock = start.astimezone(theirs).strftime("%H:%M")
        note = None
        if previous is not None:
            notes = []
            if their_clock != previous[1]:
                notes.append(f"{their_name}'s local time moves from {previous[1]} to {their_clock} (their clocks change).")
            if my_clock != previous[0]:
                notes.append(f"Your local time moves from {previous[0]} to {my_clock} (your clocks change).")
            note = " ".join(notes) or None
        result.append(SessionTime(start, _fmt(start, end, mine), _fmt(start, end, theirs), my_tz, their_tz, note))
        previous = (my_clock, their_clock)
    return result


def local_when(moment: datetime, tz_name: str) -> str:
    """A moment as its reader says it: date, time and place (as the emails say it).

    >>> from datetime import timezone
    >>> local_when(datetime(2027, 3, 2, 15, 0, tzinfo=timezone.utc), "America/New_York")
    'Tue 2 Mar 2027, 10:00 (New York time)'
    """
    if moment.tzinfo is None:
        raise ValueError("times shown to people must be aware datetimes")
    value = moment.astimezone(zone(tz_name))
    place = tz_name.rsplit("/", 1)[-1].replace("_", " ")
    return f"{value:%a} {value.day} {value:%b %Y}, {value:%H:%M} ({place} time)"
