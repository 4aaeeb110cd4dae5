"""Pair and series life cycles: only the listed transitions happen; anything else is a bug."""
from __future__ import annotations

import pytest

from scheduler.core.entities import Pair, Series
from scheduler.core.pair_state import (PAIR_TRANSITIONS, SERIES_TRANSITIONS, IllegalTransition, PairState,
                                       SeriesState, move_pair, move_series)


def test_every_state_has_its_transitions_listed():
    assert set(PAIR_TRANSITIONS) == set(PairState)
    assert set(SERIES_TRANSITIONS) == set(SeriesState)


def test_a_pair_moves_along_its_life_and_keeps_the_reason_given():
    pair = Pair()
    assert pair.status == "invited"
    move_pair(pair, PairState.READY)
    move_pair(pair, PairState.PLANNING)
    move_pair(pair, PairState.BOOKED)
    move_pair(pair, PairState.NEEDS_ATTENTION, "the series was cancelled in a calendar")
    assert (pair.status, pair.status_reason) == ("needs_attention", "the series was cancelled in a calendar")
    assert type(pair.status) is str  # stored as the plain word
    move_pair(pair, PairState.ENDED)
    assert pair.status_reason is None


@pytest.mark.parametrize("start, target", [
    ("invited", PairState.BOOKED),      # booked without ever being planned
    ("invited", PairState.PLANNING),    # planned before both people set up
    ("paused", PairState.PLANNING),     # a pause ends only by resuming (its sessions back, or planned again)
    ("ended", PairState.READY),         # an ended pair stays ended
    ("unschedulable", PairState.BOOKED),
])
def test_a_transition_not_listed_raises(start, target):
    pair = Pair(status=start)
    with pytest.raises(IllegalTransition, match=f"from '{start}' to '{target.value}'"):
        move_pair(pair, target)
    assert pair.status == start


def test_resuming_puts_a_paused_pair_back_to_booked_or_ready():
    for target in (PairState.BOOKED, PairState.READY):
        pair = Pair(status="paused")
        move_pair(pair, target)
        assert pair.status == target.value


def test_series_states():
    series = Series()
    move_series(series, SeriesState.BOOKING)
    move_series(series, SeriesState.BOOKED)
    with pytest.raises(IllegalTransition):
        move_series(series, SeriesState.PLANNED)
    move_series(series, SeriesState.CANCELLED)
    with pytest.raises(IllegalTransition):
        move_series(series, SeriesState.BOOKED)
