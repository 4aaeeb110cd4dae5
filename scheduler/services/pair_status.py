"""Rules about a pair's state that several use cases share."""
from __future__ import annotations

from datetime import datetime

from scheduler.core.entities import Pair
from scheduler.core.pair_state import ACTIVE_OCCURRENCE, PairState, move_pair
from scheduler.ports import UnitOfWork
from scheduler.services.notifications import notify_coordinators

NO_SESSIONS_LEFT = "no upcoming session is left to hold: every remaining one was skipped, cancelled or clashed"


def has_upcoming_session(uow: UnitOfWork, pair: Pair, now: datetime) -> bool:
    """Whether an active series of the pair holds a session still to come."""
    return any(o.status in ACTIVE_OCCURRENCE and o.start > now
               for series in uow.series.active_of_pair(pair.id) for o in series.occurrences)


def check_sessions_left(uow: UnitOfWork, pair: Pair, now: datetime, key: str) -> bool:
    """A pair is never shown "booked" without a session to hold: when the last upcoming one goes
    (skipped, cancelled in a calendar, or none could be held), the pair needs attention and its
    coordinators are told once (``key``). True when the pair still has sessions."""
    if pair.status != PairState.BOOKED or has_upcoming_session(uow, pair, now):
        return True
    move_pair(pair, PairState.NEEDS_ATTENTION, NO_SESSIONS_LEFT)
    notify_coordinators(uow, pair, "pair_attention", now, key=f"no_sessions:{key}", payload={"reason": NO_SESSIONS_LEFT})
    return False
