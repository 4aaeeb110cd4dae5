"""How a session's time reads for the viewer and for the other person, with a note when a clock
change (daylight saving time) shifts one person's local time between sessions. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
    session before it. The note is written from the reader's side and names whose clocks really
    changed, and on which day: the series keeps its wall-clock time in one zone, so when clocks
    change there, the other person's time moves although *their* clocks did not (a reader in
    Kolkata never reads "your clocks change").

    >>> from datetime import timezone
    >>> s = [(datetime(2027, 3, 9, 14, tzinfo=timezone.utc), datetime(2027, 3, 9, 15, tzinfo=timezone.utc)),
    ...      (datetime(2027, 3, 16, 14, tzinfo=timezone.utc), datetime(2027, 3, 16, 15, tzinfo=timezone.utc))]
    >>> [t.dst_note for t in session_times(s, "Europe/Berlin", "America/New_York", "Sam")]
    [None, "Sam's local time moves from 09:00 to 10:00: their clocks change on Sun 14 Mar."]
    >>> [t.dst_note for t in session_times(s, "America/New_York", "Europe/Berlin", "Sam")]
    [None, 'Your local time moves from 09:00 to 10:00: your clocks change on Sun 14 Mar.']
    >>> [t.dst_note for t in session_times(s, "Asia/Kolkata", "America/New_York", "Sam")][1]
    "Sam's local time moves from 09:00 to 10:00: their clocks change on Sun 14 Mar."
    """
    mine, theirs = ZoneInfo(my_tz), ZoneInfo(their_tz)
    result, previous = [], None
    for start, end in sessions:
        my_clock = start.astimezone(mine).strftime("%H:%M")
        their_clock = start.astimezone(theirs).strftime("%H:%M")
        note = None
        if previous is not None:
            note = _clock_note(previous, (start, my_clock, their_clock), mine, theirs, their_name)
        result.append(SessionTime(start, _fmt(start, end, mine), _fmt(start, end, theirs), my_tz, their_tz, note))
        previous = (start, my_clock, their_clock)
    return result


def _clock_note(previous: tuple[datetime, str, str], current: tuple[datetime, str, str], mine: ZoneInfo,
                theirs: ZoneInfo, their_name: str) -> str | None:
    """The note for one session whose clock time moved for someone, or ``None``."""
    (before, my_before, their_before), (now, my_now, their_now) = previous, current
    my_change, their_change = clock_change(mine, before, now), clock_change(theirs, before, now)
    mine_moved, theirs_moved = my_now != my_before, their_now != their_before
    moved = ([f"{their_name}'s local time moves from {their_before} to {their_now}"] if theirs_moved else []) + \
            ([f"your local time moves from {my_before} to {my_now}"] if mine_moved else [])
    if not moved:
        return None
    if my_change and their_change:
        cause = f"your clocks change on {my_change} and {their_name}'s on {their_change}"
    elif their_change:  # their clocks changed: if it is my time that moved, say mine did not change
        cause = f"{their_name}'s clocks change on {their_change}; yours do not" if mine_moved \
            else f"their clocks change on {their_change}"
    elif my_change:
        cause = f"your clocks change on {my_change}" if mine_moved \
            else f"your clocks change on {my_change}; theirs do not"
    else:  # the session itself was moved to another time: no clock changed
        return None
    text = " and ".join(moved)
    return f"{text[0].upper()}{text[1:]}: {cause}."


def clock_change(tz: ZoneInfo, before: datetime, after: datetime) -> str | None:
    """The local day on which ``tz``'s UTC offset changes between two instants, as "Sun 28 Mar",
    or ``None`` when it does not change (a zone without DST never changes).

    >>> from datetime import timezone
    >>> utc = timezone.utc
    >>> clock_change(ZoneInfo("Europe/Berlin"), datetime(2027, 3, 23, tzinfo=utc), datetime(2027, 3, 30, tzinfo=utc))
    'Sun 28 Mar'
    >>> clock_change(ZoneInfo("Asia/Kolkata"), datetime(2027, 3, 23, tzinfo=utc), datetime(2027, 3, 30, tzinfo=utc))
    """
    if before.utcoffset() is None or after.utcoffset() is None:
        raise ValueError("clock changes are found between aware datetimes")
    if before.astimezone(tz).utcoffset() == after.astimezone(tz).utcoffset():
        return None
    low, high = before, after  # offset(low) != offset(high): bisect to the minute of the change
    first = low.astimezone(tz).utcoffset()
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == first:
            low = middle
        else:
            high = middle
    day = high.astimezone(tz)
    return f"{day:%a} {day.day} {day:%b}"


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


def local_day(moment: datetime, tz_name: str) -> str:
    """The local date of a moment, as people say it: ``Tue 2 Mar``.

    >>> from datetime import timezone
    >>> local_day(datetime(2027, 3, 2, 23, 30, tzinfo=timezone.utc), "Asia/Tokyo")
    'Wed 3 Mar'
    """
    value = moment.astimezone(zone(tz_name))
    return f"{value:%a} {value.day} {value:%b}"
