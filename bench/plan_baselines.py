"""What the planner is measured against.

* :func:`brute_force_best` tries every fixed wall-clock rule on the 15-minute grid and checks
  every occurrence with plain datetime arithmetic (no bitsets): the optimum for one pair.
* :func:`first_week_only_free` is what simple tools do: take the earliest start that is free
  for both in the first week, repeat it, and hope. It counts how many occurrences are free.
"""
from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from scheduler.core.availability import PersonAvailability
from scheduler.core.bitsets import lowest_bit
from scheduler.core.cadence import day_patterns
from scheduler.core.intervals import merge
from scheduler.core.plan_model import PairRequest
from scheduler.core.recurring_slot import CandidateSpace

UTC = timezone.utc


class SessionChecker:
    """Is one person inside working hours and free for a whole session? (datetime arithmetic)"""

    def __init__(self, person: PersonAvailability):
        self.zone = ZoneInfo(person.tz)
        self.hours = person.effective_hours()
        merged = merge(person.busy)
        self.busy_starts = [iv.start for iv in merged]
        self.busy_ends = [iv.end for iv in merged]

    def holds(self, start: datetime, end: datetime) -> bool:
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        if local_end.date() != local_start.date() and local_end.time() != time(0):
            return False
        start_min = local_start.hour * 60 + local_start.minute
        end_min = 24 * 60 if local_end.date() != local_start.date() else local_end.hour * 60 + local_end.minute
        if not any(r.start_min <= start_min and end_min <= r.end_min for r in self.hours.days[local_start.weekday()]):
            return False
        index = bisect_right(self.busy_starts, end) - 1  # last busy block starting before the end
        return index < 0 or self.busy_ends[index] <= start


def brute_force_best(mentor: PersonAvailability, mentee: PersonAvailability, request: PairRequest, first_day: date) -> int:
    """Most occurrences free for both over every wall-clock rule of the cadence (mentor's zone)."""
    checkers = (SessionChecker(mentor), SessionChecker(mentee))
    anchor = ZoneInfo(request.tz or mentor.tz)
    length = timedelta(minutes=request.duration_min)
    best = 0
    for pattern in day_patterns(request.cadence, first_day, request.count):
        days = [first_day + timedelta(days=d) for d in pattern.days]
        if request.tz is None and not checkers[0].hours.days[days[0].weekday()]:
            continue  # the mentor never works on this weekday, in their own (the series') zone
        for minute in range(0, 24 * 60, 15):
            clock = time(minute // 60, minute % 60)
            free = 0
            for day in days:
                naive = datetime.combine(day, clock)
                start = naive.replace(tzinfo=anchor).astimezone(UTC)
                if start.astimezone(anchor).replace(tzinfo=None) != naive:
                    continue  # this wall-clock time does not exist that day
                if checkers[0].holds(start, start + length) and checkers[1].holds(start, start + length):
                    free += 1
            best = max(best, free)
    return best


def first_week_only_free(space: CandidateSpace, mutual_local: int) -> int:
    """Occurrences free for the earliest rule whose *first* occurrence is free (0 if none).

    Weekly/biweekly only look at the first period, as simple tools do; monthly takes the
    lowest (weekday, ordinal, time) candidate whose first occurrence is free.
    """
    first_layer = space.layer(mutual_local, 0)
    if not first_layer:
        return 0
    candidate = lowest_bit(first_layer)
    return sum(1 for k in range(space.count) if (mutual_local >> space.local_slot(candidate, k)) & 1)
