"""Candidate spaces, occurrence counting and single-occurrence moves on bitsets."""
from __future__ import annotations

from datetime import date

from hypothesis import given, settings, strategies as st

from scheduler.core.bitsets import BitSlicedCounter, run_starts
from scheduler.core.cadence import Cadence, period_days
from scheduler.core.recurring_slot import CandidateSpace, count_free_occurrences, move_occurrence
from scheduler.core.timegrid import SLOTS_PER_DAY, SlotGrid

GRID = SlotGrid(date(2027, 3, 1), 130)
DAY = SLOTS_PER_DAY


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(list(Cadence)), st.integers(1, 4), st.integers(0, (1 << GRID.size) - 1))
def test_layers_match_one_bit_at_a_time(cadence, count, local_bits):
    space = CandidateSpace(GRID, cadence, count)
    layers = space.layers(local_bits)
    for candidate in range(0, space.size, 37):
        for k in range(count):
            expected = (local_bits >> space.local_slot(candidate, k)) & 1
            assert (layers[k] >> candidate) & 1 == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, (1 << 64) - 1), min_size=1, max_size=12))
def test_bit_sliced_counter_counts_per_position(values):
    counter = BitSlicedCounter()
    for value in values:
        counter.add(value)
    for position in range(64):
        assert counter.count_at(position) == sum((v >> position) & 1 for v in values)
    best = counter.positions_with_max((1 << 64) - 1)
    top = max(sum((v >> p) & 1 for v in values) for p in range(64))
    assert all(counter.count_at(p) == top for p in range(64) if (best >> p) & 1)


def test_count_free_occurrences_weekly():
    space = CandidateSpace(GRID, Cadence.WEEKLY, 3)
    tuesday_ten = space.base + 1 * DAY + 40
    local = (1 << tuesday_ten) | (1 << (tuesday_ten + 7 * DAY)) | (1 << (tuesday_ten + 21 * DAY))
    counter = count_free_occurrences(space, local)
    assert counter.count_at(tuesday_ten - space.base) == 2


def test_run_starts_needs_the_whole_session_free():
    assert run_starts(0b1111_0111, 4) == 0b0001_0000
    assert run_starts(0b1111_0111, 3) == 0b0011_0001


def test_move_prefers_same_time_on_the_nearest_other_day():
    week_start = GRID.day_start_slot(7)
    nominal = week_start + 2 * DAY + 40  # Wednesday 10:00
    free = (1 << (nominal + DAY)) | (1 << (nominal - 2 * DAY)) | (1 << (nominal + 1))
    assert move_occurrence(free, nominal, week_start, week_start + 7 * DAY) == nominal + DAY


def test_move_falls_back_to_the_nearest_time_earlier_on_a_tie():
    week_start = GRID.day_start_slot(7)
    nominal = week_start + 2 * DAY + 40
    free = (1 << (nominal - 3)) | (1 << (nominal + 3)) | (1 << (nominal + 5 * DAY + 9))
    assert move_occurrence(free, nominal, week_start, week_start + 7 * DAY) == nominal - 3


def test_move_stays_inside_the_period():
    week_start = GRID.day_start_slot(7)
    nominal = week_start + 40
    free = 1 << (nominal - DAY)  # Sunday before: another period
    assert move_occurrence(free, nominal, week_start, week_start + 7 * DAY) is None


def test_periods_never_overlap_and_clip_at_the_horizon_start():
    first_day = date(2027, 3, 3)  # a Wednesday
    assert period_days(Cadence.WEEKLY, first_day, 0) == (0, 5)
    assert period_days(Cadence.BIWEEKLY, first_day, 14) == (12, 26)
    assert period_days(Cadence.BIWEEKLY, first_day, 28) == (26, 40)
    assert period_days(Cadence.MONTHLY, first_day, 40) == (29, 59)  # April 2027


@settings(max_examples=80, deadline=None)
@given(st.integers(0, (1 << (7 * DAY)) - 1), st.integers(0, 7 * DAY - 1))
def test_move_matches_the_documented_order(free_week, offset):
    """Same time on the closest other day (earlier first), else the nearest start (earlier first)."""
    week_start = GRID.day_start_slot(7)
    nominal = week_start + offset
    free = (free_week << week_start) & ~(1 << nominal)
    period = range(week_start, week_start + 7 * DAY)
    same_time = [nominal + sign * days * DAY for days in range(1, 7) for sign in (-1, 1)]
    by_distance = sorted(period, key=lambda slot: (abs(slot - nominal), slot))
    expected = next((s for s in same_time + by_distance if s in period and (free >> s) & 1), None)
    assert move_occurrence(free, nominal, period.start, period.stop) == expected
