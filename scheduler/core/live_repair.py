"""Checking and repairing one occurrence of a booked series against fresh free/busy.

The planner (``cohort``/``recurring_slot``) works on a slot grid over a whole horizon; a booked
series is re-checked one occurrence at a time when calendars change, so this module answers two
small questions directly on datetimes: *does this session still fit both people?* and *where is
the nearest mutual free time in its period?* Pure: ``not_before`` stands in for "now".
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from scheduler.core.availability import PersonAvailability
from scheduler.core.cadence import Cadence, _add_months
from scheduler.core.intervals import Interval, merge

GRID = timedelta(minutes=15)


@dataclass(frozen=True)
class Fit:
    """Whether a session fits one person, and if not, why (for the people and coordinators)."""

    ok: bool
    why: str = ""


class BusyIndex:
    """Merged busy intervals with O(log n) overlap queries."""

    def __init__(self, busy):
        self._busy = merge(busy)
        self._starts = [iv.start for iv in self._busy]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        i = bisect_left(self._starts, end)
        return i > 0 and self._busy[i - 1].end > start


def _local(dt: datetime, tz: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz))


def fits_person(person: PersonAvailability, start: datetime, end: datetime, busy: BusyIndex | None = None) -> Fit:
    """Inside ``person``'s (preference-limited) working hours on one local day, outside time off,
    and free for the whole session."""
    local_start, local_end = _local(start, person.tz), _local(end, person.tz)
    day = local_start.date()
    midnight = datetime.combine(day, time(0))
    span_start = int((local_start.replace(tzinfo=None) - midnight).total_seconds() // 60)
    span_end = int((local_end.replace(tzinfo=None) - midnight).total_seconds() // 60)
    if span_end > 24 * 60:
        return Fit(False, f"runs past midnight in {person.tz}")
    ranges = person.effective_hours().days[day.weekday()]
    if not any(r.start_min <= span_start and span_end <= r.end_min for r in ranges):
        return Fit(False, f"outside working hours ({local_start:%a %H:%M} in {person.tz})")
    for first, last in person.time_off:
        if first <= day <= last:
            return Fit(False, f"time off on {day.isoformat()}")
    index = busy or BusyIndex(person.busy)
    if index.overlaps(start, end):
        return Fit(False, f"busy at {local_start:%a %d %b %H:%M} ({person.tz})")
    return Fit(True)


def period_bounds(cadence: Cadence, occurrence_start: datetime, tz: str) -> tuple[date, date]:
    """Local dates ``[first, last)`` in the series zone within which an occurrence may move:
    weekly — its Monday-Sunday week; biweekly — its week and the next; monthly — its month
    (the same periods the planner uses, ``cadence.period_days``)."""
    day = _local(occurrence_start, tz).date()
    if cadence is Cadence.MONTHLY:
        first = day.replace(day=1)
        return first, date(*_add_months(day.year, day.month, 1), 1)
    first = day - timedelta(days=day.weekday())
    return first, first + timedelta(days=cadence.period_days)


def _aware(day: date, minutes: int, tz: str) -> datetime | None:
    """The instant of local ``day`` + ``minutes`` in ``tz``; None inside a DST gap."""
    zone = ZoneInfo(tz)
    naive = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return aware.astimezone(timezone.utc)


def candidate_starts(occurrence_start: datetime, cadence: Cadence, tz: str):
    """Starts to try, nearest first: the same local time on other days of the period (nearest
    day first), then other times on a 15-minute grid (same day first, then by distance)."""
    local = _local(occurrence_start, tz)
    day0, minute0 = local.date(), local.hour * 60 + local.minute
    first, last = period_bounds(cadence, occurrence_start, tz)
    days = [first + timedelta(days=i) for i in range((last - first).days)]
    days.sort(key=lambda d: (abs((d - day0).days), d))
    for d in days:
        if d != day0:
            yield _aware(d, minute0, tz)
    offsets = sorted(range(-minute0 // 15 * 15, 24 * 60 - minute0, 15), key=lambda m: (abs(m), m))
    for d in days:
        for off in offsets:
            if off == 0:
                continue
            yield _aware(d, minute0 + off, tz)


def find_move(mentor: PersonAvailability, mentee: PersonAvailability, occurrence_start: datetime,
              duration: timedelta, cadence: Cadence, tz: str, *, not_before: datetime,
              taken: tuple[Interval, ...] = ()) -> datetime | None:
    """The nearest start in the occurrence's period where both people fit, or None.

    ``taken`` are instants the session may not overlap even if calendars show them free (the
    series' other occurrences, the mentor's other Tandem sessions).
    """
    mentor_busy = BusyIndex(tuple(mentor.busy) + tuple(taken))
    mentee_busy = BusyIndex(tuple(mentee.busy) + tuple(taken))
    seen = set()
    for start in candidate_starts(occurrence_start, cadence, tz):
        if start is None or start in seen or start < not_before:
            continue
        seen.add(start)
        end = start + duration
        if fits_person(mentor, start, end, mentor_busy).ok and fits_person(mentee, start, end, mentee_busy).ok:
            return start
    return None


def subtract(busy, holes) -> list[Interval]:
    """``busy`` minus ``holes`` (both interval lists), merged.

    >>> from datetime import datetime, timezone
    >>> t = lambda h: datetime(2027, 1, 1, h, tzinfo=timezone.utc)
    >>> [(i.start.hour, i.end.hour) for i in subtract([Interval(t(9), t(12))], [Interval(t(10), t(11))])]
    [(9, 10), (11, 12)]
    """
    out: list[Interval] = []
    holes = merge(holes)
    for iv in merge(busy):
        pieces = [iv]
        for hole in holes:
            if hole.start >= iv.end:
                break
            next_pieces = []
            for p in pieces:
                if not p.overlaps(hole):
                    next_pieces.append(p)
                    continue
                if p.start < hole.start:
                    next_pieces.append(Interval(p.start, hole.start))
                if hole.end < p.end:
                    next_pieces.append(Interval(hole.end, p.end))
            pieces = next_pieces
        out.extend(pieces)
    return out


def without_own_sessions(busy, sessions, *, holds_sessions: bool) -> list[Interval]:
    """Busy time of one calendar with the person's own Tandem sessions taken out, where
    free/busy allows telling them apart (``sessions``: every session of theirs we know of).

    Free/busy merges overlapping and touching events, so a session S can show up inside a larger
    block B. The rules (documented in docs/pipeline.md):

    - a calendar that holds the sessions (the organizer's): B minus the sessions is what else is
      busy — a meeting right before or after a session is not a conflict. But a run of sessions
      with other busy time touching it on *both* sides is kept busy (a conflict): that is how a
      long event covering the session looks, and missing it costs a missed meeting.
    - a calendar that does not hold them: only a block exactly equal to a session is removed
      (an invitation auto-added by the provider); anything else overlapping is a conflict.

    >>> from datetime import datetime, timezone
    >>> t = lambda h, m=0: datetime(2027, 1, 1, h, m, tzinfo=timezone.utc)
    >>> s = [Interval(t(10), t(11)), Interval(t(11), t(12))]
    >>> hours = lambda ivs: [(i.start.hour, i.end.hour) for i in ivs]
    >>> hours(without_own_sessions([Interval(t(10), t(13))], s, holds_sessions=True))   # meeting after
    [(12, 13)]
    >>> hours(without_own_sessions([Interval(t(9), t(13))], s, holds_sessions=True))    # covered
    [(9, 13)]
    >>> hours(without_own_sessions([Interval(t(10), t(13))], s, holds_sessions=False))
    [(10, 13)]
    >>> without_own_sessions([Interval(t(10), t(11))], s[:1], holds_sessions=False)
    []
    """
    blocks = merge(busy)
    runs = merge(sessions)
    if not holds_sessions:
        own = set(sessions) | set(runs)
        return [b for b in blocks if b not in own]
    out: list[Interval] = []
    for block in blocks:
        inside = [r for r in runs if r.overlaps(block)]
        if any(block.start < r.start and r.end < block.end for r in inside if block.contains(r)):
            out.append(block)  # other busy time on both sides of a run: treat as covering it
        else:
            out.extend(subtract([block], inside))
    return merge(out)
