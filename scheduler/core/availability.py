"""What a person offers: zone, weekly working hours, busy time, time off and preferences."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from scheduler.core.intervals import Interval
from scheduler.errors import ImpossiblePreferences, InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class LocalRange:
    """A wall-clock range within one day, in minutes after midnight (``end`` may be 1440)."""

    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_min < self.end_min <= 24 * 60:
            raise InvalidInput(f"time range {self} must start before it ends, within one day (00:00-24:00)")

    def __str__(self) -> str:
        return f"{format_minutes(self.start_min)}-{format_minutes(self.end_min)}"


def parse_clock(text: str) -> int:
    """Minutes after midnight of ``"HH:MM"`` (``"24:00"`` allowed as an end).

    >>> parse_clock("13:30"), parse_clock("24:00")
    (810, 1440)
    """
    try:
        hours, minutes = text.split(":")
        value = int(hours) * 60 + int(minutes)
        if len(minutes) != 2 or not 0 <= int(minutes) < 60 or not 0 <= value <= 24 * 60:
            raise ValueError(text)
    except (ValueError, AttributeError) as exc:
        raise InvalidInput(f"{text!r} is not a wall-clock time like '09:30'") from exc
    return value


def format_minutes(minutes: int) -> str:
    """``"HH:MM"`` for minutes after midnight.

    >>> format_minutes(570)
    '09:30'
    """
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class WeeklyHours:
    """Working ranges per weekday (index 0 = Monday); an empty tuple is a day off."""

    days: tuple[tuple[LocalRange, ...], ...]

    @classmethod
    def from_mapping(cls, mapping: dict[str, list[list[str]]]) -> "WeeklyHours":
        """Build from ``{"mon": [["09:00", "17:00"]], ...}`` as in SCENARIO.json."""
        if not isinstance(mapping, dict):
            raise InvalidInput("working_hours must map weekdays ('mon'..'sun') to lists of ['HH:MM', 'HH:MM']")
        unknown = sorted(set(mapping) - set(WEEKDAYS))
        if unknown:
            raise InvalidInput(f"working_hours has unknown weekday(s) {', '.join(unknown)}; use mon..sun")
        days = []
        for name in WEEKDAYS:
            ranges = []
            for pair in mapping.get(name, []):
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise InvalidInput(f"working_hours.{name} entries must be ['HH:MM', 'HH:MM'], got {pair!r}")
                ranges.append(LocalRange(parse_clock(pair[0]), parse_clock(pair[1])))
            days.append(tuple(sorted(ranges, key=lambda r: r.start_min)))
        return cls(tuple(days))

    def is_empty(self) -> bool:
        return not any(self.days)

    def describe(self) -> str:
        """Compact text such as ``Mon-Fri 09:00-17:00`` (consecutive equal days grouped).

        >>> WeeklyHours.from_mapping({"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]],
        ...                           "thu": [["08:00", "12:00"], ["13:00", "15:00"]]}).describe()
        'Mon-Tue 09:00-17:00; Thu 08:00-12:00, 13:00-15:00'
        """
        groups: list[tuple[int, int, tuple[LocalRange, ...]]] = []
        for index, ranges in enumerate(self.days):
            if not ranges:
                continue
            if groups and groups[-1][1] == index - 1 and groups[-1][2] == ranges:
                groups[-1] = (groups[-1][0], index, ranges)
            else:
                groups.append((index, index, ranges))
        if not groups:
            return "no working hours"
        parts = []
        for first, last, ranges in groups:
            label = WEEKDAY_LABELS[first] if first == last else f"{WEEKDAY_LABELS[first]}-{WEEKDAY_LABELS[last]}"
            parts.append(f"{label} {', '.join(str(r) for r in ranges)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Preferences:
    """Optional wishes. ``earliest``/``latest``/``avoid_days`` are hard limits on working hours;
    ``preferred`` windows (every working day) only rank otherwise equal slots."""

    preferred: tuple[LocalRange, ...] = ()
    earliest_min: int | None = None
    latest_min: int | None = None
    avoid_days: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.earliest_min is not None and self.latest_min is not None and self.earliest_min >= self.latest_min:
            raise ImpossiblePreferences(
                f"earliest time {format_minutes(self.earliest_min)} is not before latest time "
                f"{format_minutes(self.latest_min)}; move one of them so a session fits between"
            )
        if len(self.avoid_days) >= 7:
            raise ImpossiblePreferences("every weekday is marked to avoid; keep at least one day")

    def limit(self, hours: WeeklyHours) -> WeeklyHours:
        """Working hours narrowed by the hard limits."""
        if self.earliest_min is None and self.latest_min is None and not self.avoid_days:
            return hours
        lo = self.earliest_min if self.earliest_min is not None else 0
        hi = self.latest_min if self.latest_min is not None else 24 * 60
        days = []
        for index, ranges in enumerate(hours.days):
            if index in self.avoid_days:
                days.append(())
                continue
            kept = tuple(
                LocalRange(max(r.start_min, lo), min(r.end_min, hi))
                for r in ranges if max(r.start_min, lo) < min(r.end_min, hi)
            )
            days.append(kept)
        return WeeklyHours(tuple(days))


@dataclass(frozen=True)
class PersonAvailability:
    """Everything the planner knows about one person. ``busy`` holds UTC intervals only (never
    titles); ``time_off`` holds local dates (inclusive ranges) that are busy all day."""

    person_id: str
    tz: str
    working_hours: WeeklyHours
    busy: tuple[Interval, ...] = ()
    time_off: tuple[tuple[date, date], ...] = ()
    preferences: Preferences = field(default_factory=Preferences)

    def effective_hours(self) -> WeeklyHours:
        """Working hours after the hard preference limits; refuses limits that leave nothing."""
        limited = self.preferences.limit(self.working_hours)
        if limited.is_empty() and not self.working_hours.is_empty():
            raise ImpossiblePreferences(
                f"{self.person_id}: preferences (earliest/latest/avoid days) leave none of the working hours "
                f"({self.working_hours.describe()}); relax the preferences or widen working hours"
            )
        return limited

    def describe(self) -> str:
        """``Asia/Tokyo, Mon-Fri 09:00-17:00`` for coordinator-facing reasons."""
        return f"{self.tz}, {self.working_hours.describe()}"

