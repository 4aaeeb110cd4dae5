"""The 15-minute slot grid the planner reasons on, in UTC and in any zone's wall-clock time.

Two index spaces share one origin, ``LEAD_DAYS`` before the horizon's first day:

* **UTC slots**: slot ``i`` is the instant ``origin + 15 min * i`` (origin is midnight UTC).
* **local slots of a zone**: slot ``j`` is the wall-clock time ``origin_naive + 15 min * j`` in
  that zone. Local slot ``(LEAD_DAYS + d) * 96 + m // 15`` is minute ``m`` of horizon day ``d``.

A zone maps local slot ``j`` to UTC slot ``j - offset`` where ``offset`` is its UTC offset in
slots; the offset is constant between DST transitions, so whole bitsets convert with one shift
per *segment* (see :class:`ZoneSegments`). Every current UTC offset is a multiple of 15 minutes
(including +05:45 and +12:45), so the grid is exact in every zone.

Wall-clock times that do not exist (the hour skipped when clocks spring forward) have no UTC
slot. Times that happen twice (clocks fall back) take the first instant, like ``fold=0``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from scheduler.core.bitsets import move_bits, span_mask
from scheduler.errors import UnknownTimeZone

SLOT_MINUTES = 15
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES
SLOTS_PER_WEEK = 7 * SLOTS_PER_DAY
LEAD_DAYS = 2  # room before day 0 for zones ahead of UTC (up to +14:00) and for buffers
TAIL_DAYS = 2  # room after the last day for zones behind UTC (down to -12:00)
_SLOT = timedelta(minutes=SLOT_MINUTES)


def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``, or :class:`UnknownTimeZone` saying what to do. The one
    check of zone names: ``scheduler.core.preferences.validate_tz`` trims a person's input and
    calls this."""
    try:
        return _zone_cached(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise UnknownTimeZone(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin' or 'America/New_York'"
        ) from exc


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


@lru_cache(maxsize=None)
def _zone_cached(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name != name.strip() or name not in _known_zones():
        raise ValueError(name)
    return ZoneInfo(name)


@dataclass(frozen=True)
class SlotGrid:
    """Slots covering ``days`` horizon days from ``first_day`` (plus lead and tail room)."""

    first_day: date
    days: int
    origin: datetime = field(init=False, compare=False)
    size: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        origin_day = self.first_day - timedelta(days=LEAD_DAYS)
        object.__setattr__(self, "origin", datetime(origin_day.year, origin_day.month, origin_day.day, tzinfo=timezone.utc))
        object.__setattr__(self, "size", (LEAD_DAYS + self.days + TAIL_DAYS) * SLOTS_PER_DAY)

    @property
    def origin_naive(self) -> datetime:
        return self.origin.replace(tzinfo=None)

    @property
    def all_slots(self) -> int:
        return (1 << self.size) - 1

    def day_start_slot(self, day: int) -> int:
        """Local slot of midnight on horizon day ``day`` (same number in every zone)."""
        return (LEAD_DAYS + day) * SLOTS_PER_DAY

    def slot_floor(self, instant: datetime) -> int:
        """UTC slot containing ``instant`` (may fall outside ``[0, size)``)."""
        return int((instant - self.origin) // _SLOT)

    def slot_ceil(self, instant: datetime) -> int:
        """First UTC slot starting at or after ``instant``."""
        return -int((self.origin - instant) // _SLOT)

    def instant(self, slot: int) -> datetime:
        """UTC instant where UTC slot ``slot`` begins."""
        return self.origin + slot * _SLOT

    def local_naive(self, local_slot: int) -> datetime:
        """Wall-clock time of a local slot (naive; meaningful with a zone beside it)."""
        return self.origin_naive + local_slot * _SLOT

    def local_slot_of(self, wall_clock: datetime) -> int:
        """Local slot of a naive wall-clock time (floored to the grid)."""
        return int((wall_clock - self.origin_naive) // _SLOT)

    def segments(self, tz_name: str) -> "ZoneSegments":
        return zone_segments(self, tz_name)


@dataclass(frozen=True)
class ZoneSegments:
    """Stretches of constant UTC offset of one zone over a grid.

    ``spans`` holds ``(utc_start, utc_end, offset_slots)``; ``local_spans`` holds the same
    stretches as non-overlapping local ranges ``(local_start, local_end, offset_slots)``
    (a repeated hour belongs to the first stretch).
    """

    tz_name: str
    spans: tuple[tuple[int, int, int], ...]
    local_spans: tuple[tuple[int, int, int], ...]

    def utc_to_local(self, bits: int) -> int:
        """Re-index a UTC bitset by this zone's wall-clock slots."""
        out = 0
        for local_start, local_end, offset in self.local_spans:
            out |= move_bits(bits, local_start - offset, local_end - offset, offset)
        return out

    def local_to_utc(self, bits: int) -> int:
        """Re-index a wall-clock bitset by UTC slots (a repeated local hour covers both instants)."""
        out = 0
        for utc_start, utc_end, offset in self.spans:
            out |= move_bits(bits, utc_start + offset, utc_end + offset, -offset)
        return out

    def utc_slot(self, local_slot: int) -> int:
        """UTC slot of a wall-clock slot; a skipped time uses the offset before the jump."""
        if len(self.local_spans) == 1:
            return local_slot - self.local_spans[0][2]
        previous_offset = self.local_spans[0][2]
        for local_start, local_end, offset in self.local_spans:
            if local_slot < local_start:
                return local_slot - previous_offset
            if local_slot < local_end:
                return local_slot - offset
            previous_offset = offset
        return local_slot - previous_offset

    def local_slot(self, utc_slot: int) -> int:
        """Wall-clock slot showing at UTC slot ``utc_slot``."""
        if len(self.spans) == 1:
            return utc_slot + self.spans[0][2]
        for utc_start, utc_end, offset in self.spans:
            if utc_slot < utc_end:
                return utc_slot + offset
        return utc_slot + self.spans[-1][2]

    def local_range_mask(self, local_start: int, local_end: int) -> int:
        """UTC slots whose wall-clock time lies in ``[local_start, local_end)``."""
        return self.local_to_utc(span_mask(local_start, local_end))


@lru_cache(maxsize=4096)
def zone_segments(grid: SlotGrid, tz_name: str) -> ZoneSegments:
    """Find the offset changes of ``tz_name`` over ``grid``: probe once a day, then binary-search
    the slot where the offset changes (zones change at most once a day)."""
    tz = zone(tz_name)

    def offset_at(slot: int) -> int:
        offset = grid.instant(slot).astimezone(tz).utcoffset()
        return int(offset // _SLOT)

    spans: list[tuple[int, int, int]] = []
    start, current = 0, offset_at(0)
    probe = 0
    while probe < grid.size - 1:
        step_end = min(probe + SLOTS_PER_DAY, grid.size - 1)
        value = offset_at(step_end)
        if value != current:
            low, high = probe, step_end  # offset(low) == current, offset(high) != current
            while high - low > 1:
                middle = (low + high) // 2
                if offset_at(middle) == current:
                    low = middle
                else:
                    high = middle
            spans.append((start, high, current))
            start, current = high, offset_at(high)
            probe = high
        else:
            probe = step_end
    spans.append((start, grid.size, current))

    local_spans: list[tuple[int, int, int]] = []
    covered_until = None
    for utc_start, utc_end, offset in spans:
        local_start, local_end = utc_start + offset, utc_end + offset
        if covered_until is not None and local_start < covered_until:
            local_start = covered_until
        local_spans.append((local_start, local_end, offset))
        covered_until = local_end
    return ZoneSegments(tz_name, tuple(spans), tuple(local_spans))
