"""Use cases behind a pair's own page: the mutual free times one session could move to, and the
pair's goals. (Skip, move, pause and resume themselves are ``scheduler.services.lifecycle``.)"""
from __future__ import annotations

from datetime import datetime, timedelta

from adapters.storage.models import Goal, Occurrence, Pair
from scheduler.core.cadence import Cadence
from scheduler.core.intervals import interval
from scheduler.core.live_repair import BusyIndex, candidate_starts, fits_person, period_bounds, subtract
from scheduler.errors import InvalidInput, NotFound
from scheduler.services.availability import (ACTIVE_OCCURRENCE, availability, read_calendar_busy, snapshot,
                                             tandem_sessions)

MIN_NOTICE = timedelta(hours=2)  # a session is never moved to less than this from now
GOAL_STATUSES = ("open", "done", "dropped")


def upcoming_occurrence(session, occurrence_id: str, pair_id: str, now: datetime) -> Occurrence:
    """The occurrence, if it belongs to ``pair_id`` and is still to come; else a clear error."""
    occ = session.get(Occurrence, occurrence_id)
    if occ is None or occ.series.pair_id != pair_id:
        raise NotFound("That session does not exist (any more); reload the pair page.")
    if occ.status not in ACTIVE_OCCURRENCE + ("conflict",) or occ.start <= now:
        raise InvalidInput("Only an upcoming session can be moved; this one is past, skipped or cancelled.")
    return occ


def move_options(container, pair_id: str, occurrence_id: str, limit: int = 8) -> list[datetime]:
    """Up to ``limit`` starts (UTC, in time order) in the session's period where both people are
    free and within their hours, nearest to the current time first before sorting. Reads both
    calendars' free/busy (raises ``ProviderError`` subclasses when a calendar cannot be read)."""
    now = container.clock.now()
    with container.uow() as uow:
        occ = upcoming_occurrence(uow.session, occurrence_id, pair_id, now)
        series, pair = occ.series, occ.series.pair
        cadence = Cadence(pair.cadence or pair.program.cadence)
        mentor, mentee = snapshot(uow.session, pair.mentor), snapshot(uow.session, pair.mentee)
        own = [interval(o.start, o.end) for o in series.occurrences if o.status in ACTIVE_OCCURRENCE]
        others = [interval(o.start, o.end) for o in series.occurrences
                  if o.status in ACTIVE_OCCURRENCE and o.id != occ.id]
        taken = {p.person_id: tandem_sessions(uow.session, p.person_id, exclude_series_id=series.id)
                 for p in (mentor, mentee)}
        start, duration, tz = occ.start, occ.end - occ.start, series.tz
    first, last = period_bounds(cadence, start, tz)
    window_start = max(now, start - timedelta(days=(start.date() - first).days + 2))
    window_end = start + timedelta(days=(last - start.date()).days + 2)
    busy = read_calendar_busy(container, [mentor, mentee], window_start, window_end)
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


def check_move_choice(container, pair_id: str, occurrence_id: str, chosen: datetime) -> None:
    """Refuse a chosen time that is not (or no longer) a mutual free time."""
    if chosen not in move_options(container, pair_id, occurrence_id, limit=200):
        raise InvalidInput("That time is no longer free for both of you; pick one of the times shown.")


def add_goal(session, pair_id: str, text: str, now: datetime) -> Goal:
    """A new open goal for the pair."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write the goal in a few words, for example “Lead a design review”.")
    if len(text) > 500:
        raise InvalidInput("Keep a goal under 500 characters; split a long one into two.")
    if session.get(Pair, pair_id) is None:
        raise NotFound("This pair no longer exists.")
    goal = Goal(pair_id=pair_id, text=text, status="open", created_at=now)
    session.add(goal)
    session.flush()
    return goal


def set_goal_status(session, pair_id: str, goal_id: str, status: str, now: datetime) -> None:
    """Mark a goal done, dropped or open again (it stays in the pair's history)."""
    if status not in GOAL_STATUSES:
        raise InvalidInput(f"A goal is one of {', '.join(GOAL_STATUSES)}.")
    goal = session.get(Goal, goal_id)
    if goal is None or goal.pair_id != pair_id:
        raise NotFound("That goal does not exist (any more); reload the pair page.")
    goal.status = status
    goal.reviewed_at = now
    session.flush()


def set_agenda(session, pair_id: str, occurrence_id: str, text: str, now: datetime) -> None:
    """Replace the agenda of one upcoming session (the reminder emails carry it)."""
    text = (text or "").strip()
    if len(text) > 4000:
        raise InvalidInput("Keep the agenda under 4,000 characters; link to a document for longer notes.")
    occ = upcoming_occurrence(session, occurrence_id, pair_id, now)
    occ.agenda = text or None
    session.flush()
