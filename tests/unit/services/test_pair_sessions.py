"""A pair's own page: goals, agendas, move options and the checks before skip and move."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core.entities import Occurrence, Series
from scheduler.errors import InvalidInput, NotFound
from scheduler.services import pair_sessions
from tests.unit.services.booked import T0


def _booked(deps, seed, *starts, **kw):
    """The seeded pair booked with one session at each start (UTC); returns (seeded, occurrence ids)."""
    s = seed(status="booked", **kw)
    with deps.uow() as uow:
        series = uow.series.add(Series(pair_id=s.pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-03-03T10:00:00",
                                       tz="Europe/Berlin", duration_min=45, status="booked"))
        ids = [uow.occurrences.add(Occurrence(series_id=series.id, original_start=start, start=start,
                                              end=start + timedelta(minutes=45))).id for start in starts]
        uow.commit()
    return s, ids


def test_goals_are_added_reviewed_and_refused_when_empty(deps, seed, clock):
    s = seed()
    with pytest.raises(InvalidInput):
        pair_sessions.add_goal(deps, s.pair_id, "   ")
    with pytest.raises(NotFound):
        pair_sessions.add_goal(deps, "no-such-pair", "Lead a design review")

    goal_id = pair_sessions.add_goal(deps, s.pair_id, "  Lead a design review ")
    clock.advance(days=1)
    pair_sessions.set_goal_status(deps, s.pair_id, goal_id, "done")

    with deps.uow() as uow:
        (goal,) = uow.pairs.get(s.pair_id).goals
        assert (goal.id, goal.text, goal.status, goal.reviewed_at) == (goal_id, "Lead a design review", "done",
                                                                      T0 + timedelta(days=1))
    with pytest.raises(InvalidInput):
        pair_sessions.set_goal_status(deps, s.pair_id, goal_id, "finished")
    with pytest.raises(NotFound):
        pair_sessions.set_goal_status(deps, "another-pair", goal_id, "open")


def test_the_agenda_of_an_upcoming_session_is_saved_and_a_past_one_is_refused(deps, seed):
    s, (past, upcoming) = _booked(deps, seed, T0 - timedelta(days=1), T0 + timedelta(days=1))

    pair_sessions.set_agenda(deps, s.pair_id, upcoming, "  Review my promotion packet\n")
    with pytest.raises(InvalidInput):
        pair_sessions.set_agenda(deps, s.pair_id, past, "Too late")
    with pytest.raises(InvalidInput):
        pair_sessions.set_agenda(deps, s.pair_id, upcoming, "x" * 4001)

    with deps.uow() as uow:
        assert uow.occurrences.get(upcoming).agenda == "Review my promotion packet"
        assert uow.occurrences.get(past).agenda is None


def test_skip_and_move_refuse_a_session_of_another_pair_before_anything_happens(deps, seed):
    s, (upcoming,) = _booked(deps, seed, T0 + timedelta(days=2))
    with pytest.raises(NotFound):
        pair_sessions.skip_session(deps, "another-pair", upcoming, s.mentor_id)
    with pytest.raises(NotFound):
        pair_sessions.move_session(deps, "another-pair", upcoming, T0 + timedelta(days=3), s.mentor_id)
    with deps.uow() as uow:
        assert uow.occurrences.get(upcoming).status == "scheduled"


def test_move_options_are_mutual_free_times_in_the_sessions_period(deps, seed, calendars):
    # Tuesday 3 March 2026, 14:00 UTC: 15:00 in Berlin, 09:00 in New York (both work 09:00-17:00).
    start = T0.replace(day=3, hour=14)
    s, (occ,) = _booked(deps, seed, start, connected=True)
    blocked = start + timedelta(days=1)  # Wednesday, same time: the mentee is busy
    calendars.add_event("mentee@example.org", blocked, blocked + timedelta(hours=1), "Busy",
                        calendar_id="mentee@example.org")

    options = pair_sessions.move_options(deps, s.pair_id, occ, limit=200)

    assert options and options == sorted(options)
    assert blocked + timedelta(days=1) in options  # Thursday at the same time both are free
    # Both work 14:00-16:00 UTC; on Wednesday the mentee's hour of 14:00-15:00 is taken.
    assert [o for o in options if o.date() == blocked.date()] == [blocked + timedelta(minutes=m) for m in (60, 75)]
    assert all(o >= T0 + pair_sessions.MIN_NOTICE for o in options)
    with pytest.raises(InvalidInput):
        pair_sessions.check_move_choice(deps, s.pair_id, occ, blocked)
    pair_sessions.check_move_choice(deps, s.pair_id, occ, options[0])  # a shown time is accepted


def test_a_goal_is_reworded_reviewed_and_reopened(deps, seed, clock):
    s = seed()
    goal_id = pair_sessions.add_goal(deps, s.pair_id, "Lead a review")
    pair_sessions.edit_goal(deps, s.pair_id, goal_id, "  Lead the Q3 design review ")
    clock.advance(days=7)
    pair_sessions.review_goal(deps, s.pair_id, goal_id)
    with deps.uow() as uow:
        goal = uow.goals.get(goal_id)
        assert (goal.text, goal.status, goal.reviewed_at) == ("Lead the Q3 design review", "open", clock.now())
    pair_sessions.set_goal_status(deps, s.pair_id, goal_id, "done")
    with pytest.raises(InvalidInput, match="Only an open goal"):
        pair_sessions.review_goal(deps, s.pair_id, goal_id)
    pair_sessions.set_goal_status(deps, s.pair_id, goal_id, "open")
    with pytest.raises(InvalidInput, match="in a few words"):
        pair_sessions.edit_goal(deps, s.pair_id, goal_id, " ")
    with pytest.raises(InvalidInput, match="under 500"):
        pair_sessions.edit_goal(deps, s.pair_id, goal_id, "x" * 501)
    with pytest.raises(NotFound):
        pair_sessions.edit_goal(deps, "another-pair", goal_id, "Mine now")
    with deps.uow() as uow:
        assert (uow.goals.get(goal_id).text, uow.goals.get(goal_id).status) == ("Lead the Q3 design review", "open")
