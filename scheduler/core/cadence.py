"""Cadences as wall-clock rules: which local days a series of ``count`` sessions falls on.

* ``weekly``: the same weekday and local time every 7 days.
* ``biweekly``: every 14 days.
* ``monthly``: the same weekday of the same week of the month ("2nd Tuesday"). Ordinals 1-4
  exist in every month; a 5th weekday exists only in some months, so a "5th week" series is
  offered as the *last* weekday of the month (``BYDAY=-1TU``) instead, which never skips a month.

Horizon day 0 is the horizon's first date. A series starts within its first *period*:
the first 7 days (weekly), 14 days (biweekly), or at the first matching weekday on or after
day 0 (monthly). Occurrence ``k`` may only move within its own period (see :func:`period_days`).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from functools import lru_cache

from scheduler.errors import InvalidInput

RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MONTHLY_ORDINALS = (1, 2, 3, 4, -1)


class Cadence(Enum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"

    @classmethod
    def parse(cls, text: object) -> "Cadence":
        try:
            return cls(text)
        except ValueError:
            raise InvalidInput(f"cadence {text!r} is not one of weekly, biweekly, monthly") from None

    @property
    def period_days(self) -> int:
        """Length of a period for weekly/biweekly series (monthly periods are calendar months)."""
        return {Cadence.WEEKLY: 7, Cadence.BIWEEKLY: 14, Cadence.MONTHLY: 0}[self]


@dataclass(frozen=True)
class DayPattern:
    """One family of candidate rules: the local horizon days of each occurrence.

    Weekly/biweekly have one pattern per possible first day; monthly has one per
    (weekday, ordinal). ``ordinal`` is ``None`` for weekly/biweekly.
    """

    weekday: int
    ordinal: int | None
    days: tuple[int, ...]


def nth_weekday(year: int, month: int, weekday: int, ordinal: int) -> date:
    """The ``ordinal``-th ``weekday`` of a month (``-1`` = last).

    >>> nth_weekday(2027, 3, 1, 2), nth_weekday(2027, 3, 1, -1)
    (datetime.date(2027, 3, 9), datetime.date(2027, 3, 30))
    """
    if ordinal == -1:
        last_day = calendar.monthrange(year, month)[1]
        last = date(year, month, last_day)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (ordinal - 1))


def _add_months(year: int, month: int, count: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + count
    return index // 12, index % 12 + 1


@lru_cache(maxsize=256)
def day_patterns(cadence: Cadence, first_day: date, count: int) -> tuple[DayPattern, ...]:
    """All candidate day patterns of a cadence for a horizon starting on ``first_day``."""
    if cadence is Cadence.MONTHLY:
        patterns = []
        for weekday in range(7):
            for ordinal in MONTHLY_ORDINALS:
                skip = 0 if nth_weekday(first_day.year, first_day.month, weekday, ordinal) >= first_day else 1
                days = []
                for k in range(count):
                    year, month = _add_months(first_day.year, first_day.month, k + skip)
                    days.append((nth_weekday(year, month, weekday, ordinal) - first_day).days)
                patterns.append(DayPattern(weekday, ordinal, tuple(days)))
        return tuple(patterns)
    step = cadence.period_days
    return tuple(
        DayPattern((first_day.weekday() + offset) % 7, None, tuple(offset + step * k for k in range(count)))
        for offset in range(step)
    )


def horizon_days_needed(cadence: Cadence, first_day: date, count: int) -> int:
    """Days from ``first_day`` the grid must cover for every candidate series (and the period of
    its last occurrence) to fit."""
    last = max(p.days[-1] for p in day_patterns(cadence, first_day, count)) if count else 0
    return last + (cadence.period_days or 31) + 1


def period_days(cadence: Cadence, first_day: date, occurrence_day: int) -> tuple[int, int]:
    """The horizon days ``[start, end)`` an occurrence on ``occurrence_day`` may move within.

    Weekly: its Monday-Sunday week. Biweekly: its week and the next one (so consecutive
    occurrences' periods never overlap). Monthly: its calendar month. Never before day 0.
    """
    day = first_day + timedelta(days=occurrence_day)
    if cadence is Cadence.MONTHLY:
        start = day.replace(day=1)
        end = date(*_add_months(day.year, day.month, 1), 1)
    else:
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=cadence.period_days)
    return max((start - first_day).days, 0), (end - first_day).days


def rrule_text(cadence: Cadence, count: int, weekday: int, ordinal: int | None) -> str:
    """The RFC 5545 rule of a series.

    >>> rrule_text(Cadence.BIWEEKLY, 6, 1, None), rrule_text(Cadence.MONTHLY, 3, 1, -1)
    ('FREQ=WEEKLY;INTERVAL=2;COUNT=6;BYDAY=TU', 'FREQ=MONTHLY;INTERVAL=1;COUNT=3;BYDAY=-1TU')
    """
    if cadence is Cadence.MONTHLY:
        return f"FREQ=MONTHLY;INTERVAL=1;COUNT={count};BYDAY={ordinal}{RRULE_DAYS[weekday]}"
    interval = 1 if cadence is Cadence.WEEKLY else 2
    return f"FREQ=WEEKLY;INTERVAL={interval};COUNT={count};BYDAY={RRULE_DAYS[weekday]}"
