"""Half-open time intervals of aware datetimes, and operations on sorted lists of them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable


@dataclass(frozen=True, order=True, slots=True)
class Interval:
    """``[start, end)`` with aware datetimes (normalised to UTC by :func:`interval`)."""

    start: datetime
    end: datetime

    def overlaps(self, other: "Interval") -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: "Interval") -> bool:
        return self.start <= other.start and other.end <= self.end


def interval(start: datetime, end: datetime) -> Interval:
    """Build an :class:`Interval` in UTC; naive datetimes are refused.

    >>> from datetime import datetime, timezone
    >>> interval(datetime(2027, 3, 1, 9, tzinfo=timezone.utc), datetime(2027, 3, 1, 10, tzinfo=timezone.utc)).end.hour
    10
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("interval needs aware datetimes")
    if end < start:
        raise ValueError(f"interval ends before it starts: {start.isoformat()} > {end.isoformat()}")
    return Interval(start.astimezone(timezone.utc), end.astimezone(timezone.utc))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals.

    >>> from datetime import datetime, timezone
    >>> t = lambda h: datetime(2027, 1, 1, h, tzinfo=timezone.utc)
    >>> [(i.start.hour, i.end.hour) for i in merge([Interval(t(3), t(5)), Interval(t(1), t(2)), Interval(t(2), t(4))])]
    [(1, 5)]
    """
    out: list[Interval] = []
    for iv in sorted(intervals):
        if iv.end <= iv.start:
            continue
        if out and iv.start <= out[-1].end:
            if iv.end > out[-1].end:
                out[-1] = Interval(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out
