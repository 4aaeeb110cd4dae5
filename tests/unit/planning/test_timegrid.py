"""The slot grid and zone segments agree with zoneinfo, including DST and odd offsets."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from scheduler.core.timegrid import SLOTS_PER_DAY, SlotGrid, zone
from scheduler.errors import UnknownTimeZone

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kathmandu", "Pacific/Chatham",
         "America/St_Johns", "Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Phoenix", "UTC"]
GRID = SlotGrid(date(2027, 3, 1), 70)


@settings(max_examples=150, deadline=None)
@given(tz=st.sampled_from(ZONES), slot=st.integers(GRID.day_start_slot(0), GRID.day_start_slot(GRID.days)))
def test_local_slot_maps_to_the_same_instant_as_zoneinfo(tz, slot):
    naive = GRID.local_naive(slot)
    zoneinfo_instant = naive.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)
    assert GRID.instant(GRID.segments(tz).utc_slot(slot)) == zoneinfo_instant


@settings(max_examples=150, deadline=None)
@given(tz=st.sampled_from(ZONES), slot=st.integers(SLOTS_PER_DAY, GRID.size - SLOTS_PER_DAY))
def test_utc_slot_shows_zoneinfo_wall_clock(tz, slot):
    wall_clock = GRID.instant(slot).astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    assert GRID.local_naive(GRID.segments(tz).local_slot(slot)) == wall_clock


@settings(max_examples=60, deadline=None)
@given(tz=st.sampled_from(ZONES), bits=st.integers(0, (1 << GRID.size) - 1))
def test_utc_local_round_trip_keeps_every_instant_that_has_a_wall_clock(tz, bits):
    segments = GRID.segments(tz)
    inner = bits & ~((1 << SLOTS_PER_DAY) - 1) & ((1 << (GRID.size - SLOTS_PER_DAY)) - 1)
    back = segments.local_to_utc(segments.utc_to_local(inner))
    # Local slots name the first pass of a repeated (fall-back) hour; the round trip may only
    # differ on the second pass, right after each fall-back change.
    second_passes = 0
    for (_, end, before), (_, _, after) in zip(segments.spans, segments.spans[1:]):
        if after < before:
            second_passes |= ((1 << (before - after)) - 1) << end
    assert (back ^ inner) & ~second_passes == 0

def test_sydney_dst_end_april_splits_the_grid_into_two_offsets():
    grid = SlotGrid(date(2027, 3, 29), 14)
    offsets = [offset for _, _, offset in grid.segments("Australia/Sydney").spans]
    assert offsets == [44, 40]  # +11:00 then +10:00 after 4 April 2027 03:00 local


def test_kathmandu_0545_is_exact_on_the_grid():
    segments = GRID.segments("Asia/Kathmandu")
    assert [offset for _, _, offset in segments.spans] == [23]
    nine = GRID.day_start_slot(0) + 36
    assert GRID.instant(segments.utc_slot(nine)) == datetime(2027, 3, 1, 3, 15, tzinfo=timezone.utc)


def test_spring_forward_gap_has_no_utc_slot():
    grid = SlotGrid(date(2027, 3, 8), 14)
    segments = grid.segments("America/New_York")
    gap_day = (date(2027, 3, 14) - grid.first_day).days
    two_thirty = grid.day_start_slot(gap_day) + 10
    local = segments.utc_to_local(grid.all_slots)
    assert not (local >> two_thirty) & 1
    assert (local >> (two_thirty + 4)) & 1


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "Europe/Berlin ", "../etc/passwd"])
def test_unknown_zone_is_actionable(name):
    with pytest.raises(UnknownTimeZone, match="IANA name"):
        zone(name)


def test_slot_floor_and_ceil():
    instant = GRID.origin + timedelta(minutes=20)
    assert (GRID.slot_floor(instant), GRID.slot_ceil(instant)) == (1, 2)
    assert GRID.slot_ceil(GRID.origin + timedelta(minutes=30)) == 2


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(-20_000_000, GRID.size * 900_000_000 + 20_000_000), st.integers(1, 36_000_000_000)),
                max_size=30), st.integers(0, 3))
def test_busy_slots_marks_exactly_the_touched_slots(spans, pad):
    from scheduler.core.free_time import busy_slots
    from scheduler.core.intervals import Interval
    micro = timedelta(microseconds=1)
    intervals = [Interval(GRID.origin + start * micro, GRID.origin + (start + length) * micro) for start, length in spans]
    slot_us = 900_000_000
    expected = 0
    for start, length in spans:
        first = start // slot_us - pad
        last = -(-(start + length) // slot_us) + pad
        if max(first, 0) < min(last, GRID.size):
            expected |= ((1 << min(last, GRID.size)) - 1) & ~((1 << max(first, 0)) - 1)
    assert busy_slots(intervals, GRID, pad) == expected
