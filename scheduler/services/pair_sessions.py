"""Use cases behind a pair's own page: the mutual free times one session could move to, skipping
or moving one session, its agenda, and the pair's goals. (Skip, move, pause and resume
themselves are ``scheduler.services.lifecycle``; here they are checked against the pair first.)"""
from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.core.cadence import Cadence
from scheduler.core.entities import Goal, Occurrence
from scheduler.core.intervals import interval
from scheduler.core.live_repair import BusyIndex, candidate_starts, fits_person, period_bounds, subtract
from scheduler.core.pair_state import ACTIVE_OCCURRENCE
from scheduler.errors import InvalidInput, NotFound
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services import lifecycle
from scheduler.services.availability import (availability, read_calendar_busy, snapshot,
                                             tandem_sessions)

MIN_NOTICE = timedelta(hours=2)  # a session is never moved to less than this from now
GOAL_STATUSES = ("open", "done", "dropped")


def upcoming_occurrence(uow: UnitOfWork, occurrence_id: str, pair_id: str, now: datetime) -> Occurrence:
    """The occurrence, if it belongs to ``pair_id`` and is still to come; else a clear error."""
    occ = uow.occurrences.get(occurrence_id)
    if occ is None or occ.series.pair_id != pair_id:
        raise NotFound("That session does not exist (any more); reload the pair page.")
    if occ.status not in ACTIVE_OCCURRENCE + ("conflict",) or occ.start <= now:
        raise InvalidInput("Only an upcoming session can be moved; this one is past, skipped or cancelled.")
    return occ


def _check_upcoming(deps: Dependencies, pair_id: str, occurrence_id: str) -> None:
    with deps.uow() as uow:
        upcoming_occurrence(uow, occurrence_id, pair_id, deps.clock.now())


def move_options(deps: Dependencies, pair_id: str, occurrence_id: str, limit: int = 8) -> list[datetime]:
    """Up to ``limit`` starts (UTC, in time order) in the session's period where both people are
    free and within their hours, nearest to the current time first before sorting. Reads both
    calendars' free/busy (raises ``ProviderError`` subclasses when a calendar cannot be read)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        occ = upcoming_occurrence(uow, occurrence_id, pair_id, now)
        series, pair = occ.series, occ.series.pair
        cadence = Cadence(pair.cadence or pair.program.cadence)
        mentor, mentee = snapshot(uow, pair.mentor), snapshot(uow, pair.mentee)
        own = [interval(o.start, o.end) for o in series.occurrences if o.status in ACTIVE_OCCURRENCE]
        others = [interval(o.start, o.end) for o in series.occurrences
                  if o.status in ACTIVE_OCCURRENCE and o.id != occ.id]
        taken = {p.person_id: tandem_sessions(uow, p.person_id, exclude_series_id=series.id)
                 for p in (mentor, mentee)}
        start, duration, tz = occ.start, occ.end - occ.start, series.tz
    first, last = period_bounds(cadence, start, tz)
    window_start = max(now, start - timedelta(days=(start.date() - first).days + 2))
    window_end = start + timedelta(days=(last - start.date()).days + 2)
    busy = read_calendar_busy(deps, [mentor, mentee], window_start, window_end)
    people = [availability(p, tuple(subtract(busy[p.person_id], own)) + tuple(taken[p.person_id]) + tuple(others))
              for p in (mentor, mentee)]
    indexes = [BusyIndex(p.busy) for p in people]
    found, seen = [], set()
    for candidate in candidate_starts(start, cadence, tz):
        if candidate is None or candidate in seen or candidate < now + MIN_NOTICE:
            continue
        seen.add(candidate)
        end = candidate + duration
        if all(fits_person(p, candidate, end, i).ok for p, i in zip(people, indexes)):
            found.append(candidate)
            if len(found) >= limit:
                break
    return sorted(found)


def check_move_choice(deps: Dependencies, pair_id: str, occurrence_id: str, chosen: datetime) -> None:
    """Refuse a chosen time that is not (or no longer) a mutual free time."""
    if chosen not in move_options(deps, pair_id, occurrence_id, limit=200):
        raise InvalidInput("That time is no longer free for both of you; pick one of the times shown.")


def skip_session(deps: Dependencies, pair_id: str, occurrence_id: str, by_person_id: str) -> None:
    """Skip one upcoming session of the pair (refused when it is not the pair's, or not upcoming)."""
    _check_upcoming(deps, pair_id, occurrence_id)
    lifecycle.skip_occurrence(deps, occurrence_id, by_person_id)


def undo_skip(deps: Dependencies, pair_id: str, occurrence_id: str) -> None:
    """Undo the skip of one of the pair's sessions within the undo window."""
    with deps.uow() as uow:
        occ = uow.occurrences.get(occurrence_id)
        if occ is None or occ.series.pair_id != pair_id:
            raise NotFound("That session does not exist (any more); reload the pair page.")
    lifecycle.undo_skip(deps, occurrence_id)


def move_session(deps: Dependencies, pair_id: str, occurrence_id: str, chosen: datetime, by_person_id: str) -> None:
    """Move one upcoming session of the pair to ``chosen``, which must be a mutual free time now."""
    check_move_choice(deps, pair_id, occurrence_id, chosen)
    lifecycle.move_occurrence_to(deps, occurrence_id, chosen, by_person_id)


def _goal_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write the goal in a few words, for example “Lead a design review”.")
    if len(text) > 500:
        raise InvalidInput("Keep a goal under 500 characters; split a long one into two.")
    return text


def _goal_of(uow: UnitOfWork, pair_id: str, goal_id: str) -> Goal:
    goal = uow.goals.get(goal_id)
    if goal is None or goal.pair_id != pair_id:
        raise NotFound("That goal does not exist (any more); reload the pair page.")
    return goal


def add_goal(deps: Dependencies, pair_id: str, text: str) -> str:
    """A new open goal for the pair; returns its id."""
    text = _goal_text(text)
    with deps.uow() as uow:
        if uow.pairs.get(pair_id) is None:
            raise NotFound("This pair no longer exists.")
        goal = uow.goals.add(Goal(pair_id=pair_id, text=text, status="open", created_at=deps.clock.now()))
        uow.commit()
        return goal.id


def set_goal_status(deps: Dependencies, pair_id: str, goal_id: str, status: str) -> None:
    """Mark a goal done, dropped or open again (it stays in the pair's history)."""
    if status not in GOAL_STATUSES:
        raise InvalidInput(f"A goal is one of {', '.join(GOAL_STATUSES)}.")
    with deps.uow() as uow:
        goal = _goal_of(uow, pair_id, goal_id)
        goal.status = status
        goal.reviewed_at = deps.clock.now()
        uow.commit()


def edit_goal(deps: Dependencies, pair_id: str, goal_id: str, text: str) -> None:
    """Reword a goal (as the pair's understanding of it sharpens); its status stays."""
    text = _goal_text(text)
    with deps.uow() as uow:
        goal = _goal_of(uow, pair_id, goal_id)
        goal.text = text
        uow.commit()


def review_goal(deps: Dependencies, pair_id: str, goal_id: str) -> None:
    """Note that the pair reviewed an open goal together today (the page shows when, last)."""
    with deps.uow() as uow:
        goal = _goal_of(uow, pair_id, goal_id)
        if goal.status != "open":
            raise InvalidInput("Only an open goal is reviewed; reopen it first if you are working on it again.")
        goal.reviewed_at = deps.clock.now()
        uow.commit()


def set_agenda(deps: Dependencies, pair_id: str, occurrence_id: str, text: str) -> None:
    """Replace the agenda of one upcoming session (the reminder emails carry it)."""
    text = (text or "").strip()
    if len(text) > 4000:
        raise InvalidInput("Keep the agenda under 4,000 characters; link to a document for longer notes.")
    with deps.uow() as uow:
        occ = upcoming_occurrence(uow, occurrence_id, pair_id, deps.clock.now())
        occ.agenda = text or None
        uow.commit()
