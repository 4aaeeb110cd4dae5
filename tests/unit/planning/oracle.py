"""Test helpers: build people tersely, and a slow, obviously-correct oracle written with
datetime arithmetic only (no bitsets) to check the planner against."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from scheduler.core.availability import WEEKDAYS, PersonAvailability, WeeklyHours
from scheduler.core.cadence import Cadence, nth_weekday
from scheduler.core.intervals import Interval

UTC = timezone.utc


def hours(spec: str) -> WeeklyHours:
    """``"mon-fri 09:00-17:00; sat 10:00-12:00,13:00-14:00"`` -> WeeklyHours."""
    mapping: dict[str, list[list[str]]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        days, ranges = part.split(" ", 1)
        first, _, last = days.partition("-")
        span = WEEKDAYS[WEEKDAYS.index(first): WEEKDAYS.index(last or first) + 1]
        for day in span:
            mapping.setdefault(day, []).extend([r.split("-") for r in ranges.split(",")])
    return WeeklyHours.from_mapping(mapping)


def person(person_id: str, tz: str, spec: str = "mon-fri 09:00-17:00", busy=(), **kwargs) -> PersonAvailability:
    return PersonAvailability(person_id, tz, hours(spec), tuple(Interval(s.astimezone(UTC), e.astimezone(UTC)) for s, e in busy), **kwargs)


def wall(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def local_exists(naive: datetime, tz: ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def inside_working_hours(p: PersonAvailability, start: datetime, end: datetime) -> bool:
    """The whole session lies in one working range of one local day (after hard preferences)."""
    tz = ZoneInfo(p.tz)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = local_start.date()
    for off_first, off_last in p.time_off:
        if off_first <= day <= off_last or off_first <= local_end.date() <= off_last:
            return False
    start_min = local_start.hour * 60 + local_start.minute
    if local_end.date() == day:
        end_min = local_end.hour * 60 + local_end.minute
    elif local_end.date() == day + timedelta(days=1) and local_end.time() == time(0):
        end_min = 24 * 60
    else:
        return False
    ranges = p.effective_hours().days[day.weekday()]
    return any(r.start_min <= start_min and end_min <= r.end_min for r in ranges)


def free_of_busy(p: PersonAvailability, start: datetime, end: datetime, buffer_min: int = 0) -> bool:
    pad = timedelta(minutes=buffer_min)
    return all(not (b.start - pad < end and start < b.end + pad) for b in p.busy)


def holds(a: PersonAvailability, b: PersonAvailability, start: datetime, minutes: int, buffer_min: int = 0) -> bool:
    end = start + timedelta(minutes=minutes)
    return all(inside_working_hours(p, start, end) and free_of_busy(p, start, end, buffer_min) for p in (a, b))


def series_starts(cadence: Cadence, first_day: date, day_offset_or_pattern, minute: int, count: int, tz: str):
    """UTC starts of a wall-clock series (None where the wall-clock time does not exist)."""
    zone = ZoneInfo(tz)
    out = []
    for k in range(count):
        if cadence is Cadence.MONTHLY:
            weekday, ordinal, skip = day_offset_or_pattern
            month_index = first_day.year * 12 + first_day.month - 1 + k + skip
            day = nth_weekday(month_index // 12, month_index % 12 + 1, weekday, ordinal)
        else:
            day = first_day + timedelta(days=day_offset_or_pattern + cadence.period_days * k)
        naive = datetime.combine(day, time(minute // 60, minute % 60))
        out.append(naive.replace(tzinfo=zone).astimezone(UTC) if local_exists(naive, zone) else None)
    return out


def brute_force_best_count(a: PersonAvailability, b: PersonAvailability, cadence: Cadence, first_day: date,
                           count: int, minutes: int, tz: str, step_min: int = 15, buffer_min: int = 0) -> int:
    """Most occurrences free for both over every fixed wall-clock rule on a ``step_min`` grid."""
    if cadence is Cadence.MONTHLY:
        families = []
        for weekday in range(7):
            for ordinal in (1, 2, 3, 4, -1):
                skip = 0 if nth_weekday(first_day.year, first_day.month, weekday, ordinal) >= first_day else 1
                families.append((weekday, ordinal, skip))
    else:
        families = list(range(cadence.period_days))
    anchor_hours = (a if a.tz == tz else None)
    best = 0
    for family in families:
        weekday = family[0] if cadence is Cadence.MONTHLY else (first_day.weekday() + family) % 7
        for minute in range(0, 24 * 60, step_min):
            if anchor_hours is not None and not _wall_clock_fits(anchor_hours, weekday, minute, minutes):
                continue  # the anchor person never works then, whatever DST does to the other one
            starts = series_starts(cadence, first_day, family, minute, count, tz)
            best = max(best, sum(1 for s in starts if s is not None and holds(a, b, s, minutes, buffer_min)))
    return best


def _wall_clock_fits(p: PersonAvailability, weekday: int, minute: int, minutes: int) -> bool:
    ranges = p.effective_hours().days[weekday]
    return any(r.start_min <= minute and minute + minutes <= r.end_min for r in ranges)
