"""The life cycles of a pair and of a series, as enums with their allowed transitions.

Every change of ``Pair.status`` goes through :func:`move_pair` and every change of
``Series.status`` through :func:`move_series`; a transition not listed here raises
:class:`IllegalTransition` (a programming error, never a user's). The stored value is the
enum's string, so stored rows and reports read the same words.
"""
from __future__ import annotations

from enum import StrEnum

from scheduler.errors import TandemError


class IllegalTransition(TandemError):
    """A state change the life cycle does not allow (a programming error: retrying cannot help)."""

    retryable = False


class PairState(StrEnum):
    INVITED = "invited"                  # waiting for one or both people to set up
    READY = "ready"                      # both set up: to be planned
    PLANNING = "planning"                # a series is planned and being booked
    BOOKED = "booked"                    # sessions are on the calendars
    PAUSED = "paused"                    # upcoming sessions skipped until resumed
    NEEDS_ATTENTION = "needs_attention"  # a booked pair lost its time or its series
    UNSCHEDULABLE = "unschedulable"      # no common time was found
    ENDED = "ended"


P = PairState
PAIR_TRANSITIONS: dict[PairState, frozenset[PairState]] = {
    P.INVITED: frozenset({P.INVITED, P.READY, P.PAUSED, P.ENDED}),
    P.READY: frozenset({P.READY, P.INVITED, P.PLANNING, P.UNSCHEDULABLE, P.PAUSED, P.ENDED}),
    P.PLANNING: frozenset({P.BOOKED, P.READY, P.PAUSED, P.NEEDS_ATTENTION, P.ENDED}),
    P.BOOKED: frozenset({P.BOOKED, P.READY, P.PAUSED, P.NEEDS_ATTENTION, P.ENDED}),
    P.NEEDS_ATTENTION: frozenset({P.NEEDS_ATTENTION, P.BOOKED, P.READY, P.PAUSED, P.ENDED}),
    P.UNSCHEDULABLE: frozenset({P.UNSCHEDULABLE, P.READY, P.INVITED, P.PAUSED, P.ENDED}),
    P.PAUSED: frozenset({P.PAUSED, P.READY, P.BOOKED, P.ENDED}),  # BOOKED: resumed with its sessions
    P.ENDED: frozenset(),
}

# States in which a pair may be paused, and in which it has (or is getting) sessions.
PAUSABLE = frozenset({P.BOOKED, P.NEEDS_ATTENTION, P.PLANNING})
WITH_SESSIONS = frozenset({P.PLANNING, P.BOOKED, P.NEEDS_ATTENTION})


class SeriesState(StrEnum):
    PLANNED = "planned"      # stored, not yet written to a calendar
    BOOKING = "booking"      # being written to the organizer's calendar
    BOOKED = "booked"
    CANCELLED = "cancelled"
    FAILED = "failed"


S = SeriesState
SERIES_TRANSITIONS: dict[SeriesState, frozenset[SeriesState]] = {
    S.PLANNED: frozenset({S.BOOKING, S.BOOKED, S.CANCELLED, S.FAILED}),
    S.BOOKING: frozenset({S.BOOKING, S.BOOKED, S.CANCELLED, S.FAILED}),
    S.BOOKED: frozenset({S.BOOKED, S.CANCELLED}),
    S.FAILED: frozenset({S.BOOKING, S.CANCELLED}),
    S.CANCELLED: frozenset({S.CANCELLED}),
}
ACTIVE_SERIES = frozenset({S.PLANNED, S.BOOKING, S.BOOKED})

# Occurrence statuses of sessions that will be held (they take both people's time).
ACTIVE_OCCURRENCE = ("scheduled", "moved")


def pair_transition(current: str, new: PairState) -> PairState:
    """``new`` when the pair may go there from ``current``; else :class:`IllegalTransition`."""
    state = PairState(current)
    if new not in PAIR_TRANSITIONS[state]:
        raise IllegalTransition(f"a pair cannot go from '{state}' to '{new}'")
    return new


def series_transition(current: str, new: SeriesState) -> SeriesState:
    state = SeriesState(current)
    if new not in SERIES_TRANSITIONS[state]:
        raise IllegalTransition(f"a series cannot go from '{state}' to '{new}'")
    return new


def move_pair(pair, new: PairState, reason: str | None = None) -> None:
    """Set ``pair.status`` (checked) and its reason (None clears it)."""
    pair.status = pair_transition(pair.status, new).value
    pair.status_reason = reason


def move_series(series, new: SeriesState) -> None:
    series.status = series_transition(series.status, new).value


PAUSE_DETAIL = "paused"  # the detail of the cancellation signal a pause writes on each session it takes off


def taken_off_by_pause(status: str, signals: list | None) -> bool:
    """True for a session a pause took off (cancelled with the pause's signal), as opposed to one
    the pair skipped or a calendar cancelled: resuming brings it back, history does not list it.

    >>> taken_off_by_pause("cancelled", [{"kind": "cancelled", "detail": "paused"}])
    True
    >>> taken_off_by_pause("skipped", [{"kind": "skipped", "by": "mentee"}])
    False
    """
    return status == "cancelled" and any(
        s.get("kind") == "cancelled" and s.get("detail") == PAUSE_DETAIL for s in signals or [])
