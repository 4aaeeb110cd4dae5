"""Recurring slot search: the wall-clock rule with the most mutual free occurrences.

Input is the pair's *mutual start bitset* in UTC slots (bit ``i`` set: both people are inside
working hours and free for the whole session starting at slot ``i``). It is re-indexed into the
anchor zone's wall-clock slots, so a weekly rule "Tuesday 10:00" is the local bit pattern
``j, j + 672, j + 1344, ...`` whatever DST does; every occurrence is still judged on the UTC
bits, i.e. for both people in their own local time.

For all candidate rules at once, the free occurrences are counted with a bit-sliced counter
(one big-integer add per occurrence). Among the rules with the highest count:

1. the smallest combined desirability penalty of the first occurrence for both people
   (preferred windows first, then distance from the edges of the working day, see
   :mod:`scheduler.core.free_time`);
2. optionally, slots no other pending mentee of the same mentor could use (fairness);
3. the earliest first occurrence (weekly/biweekly) or the lowest (weekday, ordinal, time)
   (monthly): deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass
from scheduler.core.bitsets import BitSlicedCounter, lowest_bit, nearest_bit, span_mask
from scheduler.core.cadence import Cadence, DayPattern, day_patterns
from scheduler.core.plan_model import SeriesRule
from scheduler.core.timegrid import SLOTS_PER_DAY, SlotGrid, ZoneSegments

_DAY_BYTES = SLOTS_PER_DAY // 8


@dataclass(frozen=True)
class SlotChoice:
    """The chosen rule, its occurrences as anchor-zone local slots, and how many are free."""

    rule: SeriesRule
    local_slots: tuple[int, ...]
    free_count: int


class CandidateSpace:
    """Indexes every candidate rule of one cadence by a bit position.

    Weekly/biweekly: position ``j`` = the rule whose first occurrence is local slot
    ``day_start(0) + j``. Monthly: position ``p * 96 + t`` = day pattern ``p`` at time slot ``t``.
    """

    def __init__(self, grid: SlotGrid, cadence: Cadence, count: int):
        self.grid = grid
        self.cadence = cadence
        self.count = count
        self.base = grid.day_start_slot(0)
        self.patterns: tuple[DayPattern, ...] = day_patterns(cadence, grid.first_day, count)
        if cadence is Cadence.MONTHLY:
            self.size = len(self.patterns) * SLOTS_PER_DAY
        else:
            self.period_slots = cadence.period_days * SLOTS_PER_DAY
            self.size = self.period_slots
        self.all = (1 << self.size) - 1
        self._first_byte = self.base // 8
        self._day_bytes = [[self._first_byte + p.days[k] * _DAY_BYTES for p in self.patterns] for k in range(count)]
        last_day = max(p.days[-1] for p in self.patterns) if self.patterns else 0
        self._byte_length = self._first_byte + (last_day + 1) * _DAY_BYTES + self.size // 8
        last_first_day = max(p.days[0] for p in self.patterns) if self.patterns else 0
        # UTC slots beyond this never matter for ranking first occurrences (+14 h offsets, a
        # day of context for "distance from the edge of the working day").
        self.first_occurrences_utc_end = grid.day_start_slot(last_first_day + 1) + 2 * SLOTS_PER_DAY
        self._rules: dict[tuple[int, str], SeriesRule] = {}

    def layer(self, local_bits: int, k: int) -> int:
        """Bit ``c`` set iff occurrence ``k`` of candidate ``c`` falls on a set local bit."""
        if self.cadence is not Cadence.MONTHLY:  # one period of the bitset: a shift and a mask
            return (local_bits >> (self.base + k * self.period_slots)) & self.all
        return self.layers(local_bits, (k,))[0]

    def layers(self, local_bits: int, occurrences=None) -> list[int]:
        """:meth:`layer` for several occurrences (all by default).

        Works on the bitset's bytes: every period and day starts on a byte boundary (slots per
        day and the grid's lead are multiples of 8), so a layer is a byte slice, not a shift of
        the whole 12,000-bit integer.
        """
        ks = range(self.count) if occurrences is None else occurrences
        data = local_bits.to_bytes(self._byte_length, "little") if local_bits.bit_length() <= self._byte_length * 8 \
            else (local_bits & ((1 << (self._byte_length * 8)) - 1)).to_bytes(self._byte_length, "little")
        if self.cadence is not Cadence.MONTHLY:
            width = self.period_slots // 8
            return [int.from_bytes(data[start:start + width], "little")
                    for start in (self._first_byte + k * width for k in ks)]
        return [int.from_bytes(b"".join([data[start:start + _DAY_BYTES] for start in self._day_bytes[k]]), "little")
                for k in ks]

    def occurrence_slots(self, candidate: int) -> tuple[int, ...]:
        """Local slots of every occurrence of ``candidate`` (``local_slot`` for each ``k``)."""
        if self.cadence is not Cadence.MONTHLY:
            first, period = self.base + candidate, self.period_slots
            return tuple(range(first, first + self.count * period, period))
        return tuple(self.local_slot(candidate, k) for k in range(self.count))

    def local_slot(self, candidate: int, k: int) -> int:
        if self.cadence is not Cadence.MONTHLY:
            return self.base + candidate + k * self.period_slots
        pattern = self.patterns[candidate // SLOTS_PER_DAY]
        return self.base + pattern.days[k] * SLOTS_PER_DAY + candidate % SLOTS_PER_DAY

    def rule(self, candidate: int, tz: str) -> SeriesRule:
        """The rule of ``candidate`` in zone ``tz`` (made once: many pairs take the same rule)."""
        rule = self._rules.get((candidate, tz))
        if rule is None:
            rule = self._rules[(candidate, tz)] = self._make_rule(candidate, tz)
        return rule

    def _make_rule(self, candidate: int, tz: str) -> SeriesRule:
        first = self.local_slot(candidate, 0)
        dtstart = self.grid.local_naive(first)
        if self.cadence is Cadence.MONTHLY:
            pattern = self.patterns[candidate // SLOTS_PER_DAY]
            return SeriesRule(self.cadence, self.count, tz, dtstart, pattern.weekday, pattern.ordinal)
        return SeriesRule(self.cadence, self.count, tz, dtstart, dtstart.weekday(), None)


def count_free_occurrences(space: CandidateSpace, mutual_local: int) -> BitSlicedCounter:
    """Per candidate, the number of occurrences whose start bit is set in ``mutual_local``."""
    counter = BitSlicedCounter()
    for layer in space.layers(mutual_local):
        counter.add(layer)
    return counter


def best_candidates(space: CandidateSpace, mutual_local: int) -> tuple[int, int]:
    """The candidates with the most free occurrences, and that number (``(space.all, 0)`` when
    none has any).

    Most pairs have rules whose every occurrence is free: the AND of the layers finds them
    without counting (a dozen ANDs instead of a dozen bit-sliced additions). Only when no rule
    is free every time are the layers counted.
    """
    layers = space.layers(mutual_local)
    every_time = space.all
    for layer in layers:
        every_time &= layer
        if not every_time:
            break
    else:
        return every_time, len(layers)
    counter = BitSlicedCounter()
    for layer in layers:
        counter.add(layer)
    best = counter.positions_with_max(space.all)
    return best, (counter.count_at(lowest_bit(best)) if best else 0)


def find_recurring_slot(
    space: CandidateSpace,
    anchor: ZoneSegments,
    mutual_utc: int,
    tiers_a: tuple[int, ...] = (),
    tiers_b: tuple[int, ...] = (),
    contested_utc: int = 0,
    mutual_local: int | None = None,
) -> SlotChoice | None:
    """Choose the rule with the most mutual free occurrences (``None`` if no rule has any).

    ``tiers_a``/``tiers_b``: each person's disjoint UTC start masks by desirability, best first.
    ``contested_utc``: starts other pending pairs of the same mentor could use.
    ``mutual_local``: ``mutual_utc`` already re-indexed to the anchor zone, if the caller has it.
    """
    if mutual_local is None:
        mutual_local = anchor.utc_to_local(mutual_utc)
    best, free_count = best_candidates(space, mutual_local)
    if free_count == 0:
        return None
    best = _prefer_desirable(space, anchor, best, tiers_a, tiers_b)
    if contested_utc and best & (best - 1):
        nearby = contested_utc & ((1 << space.first_occurrences_utc_end) - 1)
        uncontested = best & ~space.layer(anchor.utc_to_local(nearby), 0)
        if uncontested:
            best = uncontested
    candidate = lowest_bit(best)
    return SlotChoice(
        rule=space.rule(candidate, anchor.tz_name),
        local_slots=space.occurrence_slots(candidate),
        free_count=free_count,
    )


def _prefer_desirable(space: CandidateSpace, anchor: ZoneSegments, best: int, tiers_a, tiers_b) -> int:
    """Narrow ``best`` to the candidates with the smallest summed penalty of both people.

    Tiers are re-indexed into candidate space lazily: the best total is usually found after
    looking at the first one or two tiers of each person.
    """
    if not tiers_a or not tiers_b or not best & (best - 1):
        return best
    cache_a: dict[int, int] = {}
    cache_b: dict[int, int] = {}

    def in_space(tiers, cache, index):
        value = cache.get(index)
        if value is None:
            tier = tiers[index]
            value = cache[index] = space.layer(anchor.utc_to_local(tier), 0) & best if tier else 0
        return value

    for total in range(len(tiers_a) + len(tiers_b) - 1):
        picked = 0
        for a in range(max(0, total - len(tiers_b) + 1), min(total, len(tiers_a) - 1) + 1):
            if tiers_a[a] and tiers_b[total - a]:
                picked |= in_space(tiers_a, cache_a, a) & in_space(tiers_b, cache_b, total - a)
        if picked:
            return picked
    return best


def move_occurrence(mutual_local: int, nominal: int, period_start: int, period_end: int) -> int | None:
    """Nearest mutual free local slot for one occurrence within ``[period_start, period_end)``.

    Same wall-clock time on another day of the period first (closest day, earlier on a tie),
    then the free start nearest in time (earlier on a tie). ``None`` when the period has none.
    Slots are the anchor zone's local slots; ``mutual_local`` must already exclude anything the
    occurrence may not overlap (other sessions, capped weeks).
    """
    within = mutual_local & span_mask(period_start, period_end)
    if not within:
        return None
    for days in range(1, (period_end - period_start) // SLOTS_PER_DAY + 1):
        for direction in (-1, 1):
            slot = nominal + direction * days * SLOTS_PER_DAY
            if period_start <= slot < period_end and (within >> slot) & 1:
                return slot
    return nearest_bit(within, nominal)
