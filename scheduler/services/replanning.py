"""Re-plan the pairs that wait for time, whenever something happens that can open time.

A pair waits when it is ``unschedulable`` (no common time was found) or ``ready`` (to be planned).
Anything that can open time re-plans the waiting pairs it touches: a person's hours or
preferences saved, a calendar connected or reconnected, a slot of the mentor freed (one of their
pairs paused or ended), or a person pressing "Try again" on the pair page. A reconnected calendar
also queues a re-check of every booked series of that person (a conflict added while its access
was revoked is found and repaired).

Everything goes through the outbox, debounced: the ``plan_pair`` row of a re-plan has the key
``plan_pair:<pair>:replan:<5-minute window>``, so ten saves in a row make one planning. An
``unschedulable`` pair moves to ``ready`` with its row; if this window's row was used already (it
ran and found no time again), the pair gets a fresh row, so a waiting pair is never left
``ready`` with nothing queued. Helpers take the caller's ``uow`` and never commit; the use cases
(``try_again``) own their transaction.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from scheduler.core.entities import Pair
from scheduler.core.pair_state import PairState, move_pair
from scheduler.errors import InvalidInput, NotFound
from scheduler.ports import Dependencies, UnitOfWork

log = logging.getLogger(__name__)
DEBOUNCE = timedelta(minutes=5)
WAITING = (PairState.UNSCHEDULABLE, PairState.READY)


def debounce_window(now: datetime) -> str:
    """The window ``now`` falls in (5 minutes, UTC), as written in idempotency keys."""
    seconds = int(DEBOUNCE.total_seconds())
    start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)
    return f"{start:%Y%m%dT%H%M}"


def replan_pair(uow: UnitOfWork, pair: Pair, now: datetime, why: str) -> bool:
    """Queue planning for one waiting pair (see the module). True when a row was added."""
    if pair.status not in WAITING:
        return False
    from scheduler.services.onboarding import is_set_up  # onboarding itself re-plans through here
    if not (is_set_up(uow, pair.mentor) and is_set_up(uow, pair.mentee)):
        return False  # a calendar to reconnect, hours not set: planning waits for that change
    was_unschedulable = pair.status == PairState.UNSCHEDULABLE
    if was_unschedulable:
        move_pair(pair, PairState.READY)  # unschedulable -> ready; the old reason no longer holds
    added = uow.outbox.add_once("plan_pair", pair.id, f"plan_pair:{pair.id}:replan:{debounce_window(now)}", now)
    if not added and was_unschedulable:
        # This window's row was used already (it ran and found no time again): a fresh one.
        prefix = f"plan_pair:{pair.id}:replan:{debounce_window(now)}:"
        added = uow.outbox.add_once("plan_pair", pair.id, f"{prefix}{uow.outbox.count_with_key_prefix(prefix) + 1}",
                                    now)
    if added:
        log.info("pair %s: planning again (%s)", pair.id, why)
    return added


def replan_waiting(uow: UnitOfWork, person_ids, now: datetime, why: str, *, just_queued=()) -> list[str]:
    """Re-plan every waiting pair of these people (but ``just_queued``, the pairs the caller
    queued in this unit of work already); returns the ids of the pairs queued."""
    queued, seen = [], {pair.id if isinstance(pair, Pair) else pair for pair in just_queued}
    for person_id in dict.fromkeys(person_ids):
        for pair in uow.pairs.of_person(person_id, states=list(WAITING)):
            if pair.id not in seen:
                seen.add(pair.id)
                if replan_pair(uow, pair, now, why):
                    queued.append(pair.id)
    uow.flush()
    return queued


def recheck_booked(uow: UnitOfWork, person_id: str, connection_id: str, now: datetime) -> int:
    """Queue a re-check of every booked series of this person (after their calendar was
    reconnected): one row per series per reconnect window. Returns how many were queued."""
    window = debounce_window(now)
    return sum(uow.outbox.add_once("recheck_series", series_id,
                                   f"recheck_series:{series_id}:reconnect:{connection_id}:{window}", now)
               for series_id in uow.series.booked_ids(person_id))


def try_again(deps: Dependencies, pair_id: str) -> None:
    """"Try again" on the pair page: plan an ``unschedulable`` pair again now (a ``ready`` pair
    is being planned already: nothing to do). Raises ``NotFound``/``InvalidInput`` otherwise."""
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        if pair is None:
            raise NotFound("This pair no longer exists.")
        if pair.status == PairState.READY:
            return
        if pair.status != PairState.UNSCHEDULABLE:
            raise InvalidInput("Tandem is not looking for a time for this pair: there is nothing to try again.")
        if not replan_pair(uow, pair, now, "try again"):
            raise InvalidInput("Tandem can plan again once you have both set your hours and no calendar needs "
                               "reconnecting: check My hours and Calendars.")
        uow.commit()
