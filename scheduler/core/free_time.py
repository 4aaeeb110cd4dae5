"""Per-person bitsets on the slot grid: working slots, free slots, and how good each start is."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from scheduler.core.availability import LocalRange, PersonAvailability, WeeklyHours
from scheduler.core.bitsets import WORD_BITS, empty_words, or_span, run_starts, span_mask, words_to_int
from scheduler.core.timegrid import SLOT_MINUTES, SLOTS_PER_DAY, SLOTS_PER_WEEK, SlotGrid

# Margins (in slots) a session keeps from the edges of a working stretch, best tier first:
# 2 h, 1 h, 30 min. A session closer than 30 min to an edge is in the last edge tier.
EDGE_MARGINS = (8, 4, 2)
EDGE_TIERS = len(EDGE_MARGINS) + 1
OUTSIDE_PREFERRED_PENALTY = EDGE_TIERS  # any slot in a preferred window beats any slot outside


@dataclass(frozen=True)
class PersonSlots:
    """One person's UTC-slot bitsets over a grid.

    ``working``: inside working hours (after hard preference limits and time off).
    ``free``: working and not busy (busy widened by the buffer) and not before ``now``.
    ``preferred``: inside preferred windows, or ``None`` when the person named none.
    """

    person: PersonAvailability
    working: int
    free: int
    preferred: int | None

    def start_tiers(self, duration_slots: int, below_slot: int | None = None) -> tuple[int, ...]:
        """Disjoint masks of session starts by desirability (index = penalty, 0 best).

        ``below_slot`` limits the answer to earlier slots (small integers are much faster to
        work with, and the search only ranks the first occurrence).
        """
        working, preferred = self.working, self.preferred
        if below_slot is not None:
            working &= (1 << below_slot) - 1
            if preferred is not None:
                preferred &= (1 << below_slot) - 1
        return _start_tiers(working, preferred, duration_slots)


def weekly_pattern(ranges_by_day: tuple[tuple[LocalRange, ...], ...]) -> int:
    """One week of local slots (bit 0 = Monday 00:00); ranges shrink inward to the grid."""
    pattern = 0
    for day, ranges in enumerate(ranges_by_day):
        base = day * SLOTS_PER_DAY
        for r in ranges:
            first = -(-r.start_min // SLOT_MINUTES)
            last = r.end_min // SLOT_MINUTES
            pattern |= span_mask(base + first, base + last)
    return pattern


def repeat_weekly(grid: SlotGrid, pattern: int) -> int:
    """Tile a Monday-based weekly pattern over the grid's local slots."""
    shift = grid.origin.weekday() * SLOTS_PER_DAY
    week_mask = (1 << SLOTS_PER_WEEK) - 1
    rotated = ((pattern >> shift) | (pattern << (SLOTS_PER_WEEK - shift))) & week_mask
    tiled, width, needed = rotated, SLOTS_PER_WEEK, grid.size + 2 * SLOTS_PER_DAY
    while width < needed:  # doubling: a handful of shifts instead of a big multiplication
        tiled |= tiled << width
        width *= 2
    return tiled


def slots_of_hours(grid: SlotGrid, tz_name: str, hours: WeeklyHours, excluded_local: int = 0) -> int:
    """UTC slots inside weekly wall-clock ``hours`` of zone ``tz_name`` (DST handled per stretch)."""
    local = repeat_weekly(grid, weekly_pattern(hours.days)) & ~excluded_local
    return grid.segments(tz_name).local_to_utc(local)


def person_slots(person: PersonAvailability, grid: SlotGrid, buffer_slots: int = 0, first_allowed_slot: int = 0) -> PersonSlots:
    """Build :class:`PersonSlots`; busy intervals widen outward to whole slots plus the buffer."""
    working = _working_slots(grid, person.tz, person.effective_hours(), person.time_off)
    busy = busy_slots(person.busy, grid, buffer_slots)
    free = working & ~busy & ~((1 << max(first_allowed_slot, 0)) - 1)
    preferred = None
    if person.preferences.preferred:
        everyday = tuple(person.preferences.preferred for _ in range(7))
        preferred = slots_of_hours(grid, person.tz, WeeklyHours(everyday))
    return PersonSlots(person, working, free, preferred)


@lru_cache(maxsize=16384)  # 10,000 pairs have about 4,200 different (zone, hours, time off), 100,000 have 8,765
def _working_slots(grid: SlotGrid, tz_name: str, hours: WeeklyHours, time_off: tuple) -> int:
    """Working UTC slots; cached because many people share a zone and the same hours."""
    time_off_local = 0
    for first, last in time_off:
        start_day = (first - grid.first_day).days
        end_day = (last - grid.first_day).days + 1
        time_off_local |= span_mask(grid.day_start_slot(start_day), grid.day_start_slot(end_day))
    return slots_of_hours(grid, tz_name, hours, time_off_local) & grid.all_slots


def busy_slots(intervals, grid: SlotGrid, pad_slots: int = 0) -> int:
    """UTC slots touched by any interval, widened by ``pad_slots`` on both sides (busy time is
    rounded outward, so a slot marked free is free for all of its 15 minutes).

    This is the planner's hottest loop (about 80 intervals per person, a million for 10,000
    pairs), so it avoids anything but a few ``timedelta`` field reads per interval:

    * first slot = floor((start - origin) / 15 min) from the ``days``/``seconds`` fields (the
      microseconds cannot change a floor over whole seconds);
    * last slot = ceil((end - origin) / 15 min) = -floor((origin - end) / 15 min), the same way;
    * bits go into 64-bit words, converted to one integer at the end (no 12,000-bit integer
      per interval).
    """
    origin, size = grid.origin, grid.size
    slot_seconds = SLOT_MINUTES * 60
    word_mask = (1 << WORD_BITS) - 1
    words = empty_words(size)
    for iv in intervals:
        since_start = iv.start - origin
        until_end = origin - iv.end
        first = since_start.days * SLOTS_PER_DAY + since_start.seconds // slot_seconds - pad_slots
        last = pad_slots - until_end.days * SLOTS_PER_DAY - until_end.seconds // slot_seconds
        if first < 0:
            first = 0
        if last > size:
            last = size
        if first >= last:
            continue
        mask = ((1 << (last - first)) - 1) << (first & (WORD_BITS - 1))
        if mask <= word_mask:  # the span lies in one word (most meetings): or_span inlined
            words[first >> 6] |= mask
        else:
            or_span(words, first, last)
    return words_to_int(words)


def _start_tiers(working: int, preferred: int | None, duration_slots: int) -> tuple[int, ...]:
    possible = run_starts(working, duration_slots)
    tiers = []
    better = 0
    for margin in EDGE_MARGINS:
        good = (run_starts(working, margin + duration_slots + margin) << margin) & possible
        tiers.append(good & ~better)
        better |= good
    tiers.append(possible & ~better)
    if preferred is None:
        return tuple(tiers)
    inside = run_starts(preferred & working, duration_slots)
    return tuple(t & inside for t in tiers) + tuple(t & ~inside for t in tiers)
